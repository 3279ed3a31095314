"""Ingestion: files in → checked rows in the store, all or nothing per file.

Order: the files as given (a folder: its files in name order), reference files of a command
before usage files. Each file is read, recognised from its columns, checked whole, then written
in one transaction with its line in the ingestion log. A rejected file leaves the store exactly
as it was; the other files of the command still load. A file whose content (SHA-256) was already
ingested is skipped: it does not restore older values.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dui_metrics import finess
from dui_metrics import referentiel as referentiel_mod
from dui_metrics.errors import ExportError, Problem, UsageError
from dui_metrics.ingest import reference, usage
from dui_metrics.ingest.columns import KIND_LABELS, REFERENCE, detect_layout
from dui_metrics.ingest.readers import SUPPORTED_SUFFIXES, RawTable, read
from dui_metrics.referentiel import Referentiel
from dui_metrics.store import Store

LOADED, SKIPPED, REJECTED = "chargé", "déjà importé", "refusé"

# Size limit per file, checked before reading: 1 Mo = 1 048 576 octets, as file managers count.
MAX_FILE_ENV = "DUI_METRICS_MAX_FILE_MB"
DEFAULT_MAX_FILE_MB = 500.0
MEGABYTE = 1024 * 1024


def max_file_mb(given: float | None = None) -> float:
    """The size limit in Mo: ``given`` (``--taille-max``), else $DUI_METRICS_MAX_FILE_MB, else 500.

    A value that is not a positive number is a usage error.
    """
    if given is None:
        text = os.environ.get(MAX_FILE_ENV, "").strip()
        if not text:
            return DEFAULT_MAX_FILE_MB
        try:
            given = float(text.replace(",", "."))
        except ValueError:
            given = float("nan")
        if not given > 0 or given == float("inf"):
            raise UsageError(f"{MAX_FILE_ENV} invalide « {text} » : nombre de Mo positif attendu")
    return given


def _size_text(size: float) -> str:
    if size < MEGABYTE:
        return f"{int(size):,} octet{'s' if size > 1 else ''}".replace(",", " ")
    return f"{size / MEGABYTE:.1f} Mo".replace(".", ",")


def _check_size(path: Path, name: str, limit_mb: float) -> None:
    size = path.stat().st_size
    if size > limit_mb * MEGABYTE:
        limit = f"{limit_mb:g}".replace(".", ",")
        raise ExportError(
            [
                Problem(
                    name,
                    None,
                    None,
                    f"fichier trop volumineux ({_size_text(size)}) : la limite est de {limit} Mo "
                    f"par fichier (option --taille-max ou variable {MAX_FILE_ENV})",
                )
            ]
        )


@dataclass
class FileResult:
    """What happened to one file."""

    file: str
    status: str = ""
    kind: str = ""
    rows_loaded: int = 0
    rows_replaced: int = 0
    error: ExportError | None = None
    warnings: list[Problem] = field(default_factory=list)
    note: str = ""  # e.g. when an already-imported file was first imported

    @property
    def ok(self) -> bool:
        return self.status != REJECTED


def expand(
    paths: Iterable[str | Path], names: Mapping[str, str] | None = None
) -> list[tuple[Path, str]]:
    """(path, name for messages) of every file to ingest, in order.

    A folder gives its supported files in name order. ``names`` maps a given path (as text)
    to the name messages use (uploads name their files, not their temporary paths). A path
    that does not exist is a usage error, raised before anything is ingested.
    """
    names = names or {}
    files: list[tuple[Path, str]] = []
    missing = [str(p) for p in paths if not Path(p).exists()]
    if missing:
        raise UsageError("chemin introuvable : " + ", ".join(missing))
    for given in paths:
        path = Path(given)
        if path.is_dir():
            children = sorted(
                p
                for p in path.iterdir()
                if p.is_file()
                and not p.name.startswith(".")
                and p.suffix.lower() in SUPPORTED_SUFFIXES
            )
            files += [(p, str(Path(given) / p.name)) for p in children]
        else:
            files.append((path, names.get(str(given), str(given))))
    return files


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _unexpected(name: str, exc: Exception) -> ExportError:
    """An error no check foresaw: the file is refused with a message, never a traceback."""
    return ExportError(
        [Problem(name, None, None, f"fichier illisible ({type(exc).__name__} : {exc})")]
    )


def _read_and_detect(
    path: Path, name: str, ref: Referentiel, limit_mb: float = DEFAULT_MAX_FILE_MB
) -> tuple[RawTable, object]:
    _check_size(path, name, limit_mb)  # before reading anything
    try:
        raw = read(path, name)
    except ExportError:
        raise
    except Exception as exc:  # noqa: BLE001 - any reader failure refuses this file only
        raise _unexpected(name, exc) from exc
    layout, problems = detect_layout(name, raw.headers, ref)
    if problems:
        raise ExportError(problems)
    return raw, layout


def ingest_paths(
    store: Store,
    paths: Iterable[str | Path],
    ref: Referentiel | None = None,
    progress: Callable[[int, int, FileResult], None] | None = None,
    names: Mapping[str, str] | None = None,
    max_mb: float | None = None,
) -> list[FileResult]:
    """Ingest files and folders; one ``FileResult`` per file, in the order processed.

    ``names``: optional display name per given path (see ``expand``). ``max_mb``: size limit
    per file in Mo (default: see ``max_file_mb``); a larger file is refused before reading.
    """
    ref = ref or referentiel_mod.default()
    limit_mb = max_file_mb(max_mb)
    files = expand(list(paths), names)
    # Reference files first: read every file's kind, keeping the given order within each kind.
    loaded: list[tuple[Path, str, RawTable | None, object, ExportError | None]] = []
    for path, name in files:
        try:
            raw, layout = _read_and_detect(path, name, ref, limit_mb)
            loaded.append((path, name, raw, layout, None))
        except ExportError as exc:
            loaded.append((path, name, None, None, exc))
    loaded.sort(key=lambda item: 0 if item[3] is not None and item[3].kind == REFERENCE else 1)
    results = []
    for done, (path, name, raw, layout, error) in enumerate(loaded, start=1):
        if error is not None:
            result = FileResult(name, REJECTED, error=error)
        else:
            result = ingest_table(store, path, raw, layout, ref)
        results.append(result)
        if progress:
            progress(done, len(loaded), result)
    return results


def ingest_file(
    store: Store,
    path: str | Path,
    ref: Referentiel | None = None,
    name: str | None = None,
    max_mb: float | None = None,
) -> FileResult:
    """Ingest one file."""
    ref = ref or referentiel_mod.default()
    path = Path(path)
    name = name or str(path)
    try:
        raw, layout = _read_and_detect(path, name, ref, max_file_mb(max_mb))
    except ExportError as exc:
        return FileResult(name, REJECTED, error=exc)
    return ingest_table(store, path, raw, layout, ref)


def ingest_table(store: Store, path: Path, raw: RawTable, layout, ref: Referentiel) -> FileResult:
    """Check then write one read file, all or nothing."""
    result = FileResult(raw.file, kind=layout.kind, warnings=[*raw.warnings, *layout.warnings])
    digest = sha256_of(path)
    earlier = store.find_import(digest)
    if earlier:
        first_name, when = earlier
        result.status = SKIPPED
        result.note = (
            f"contenu déjà importé le {when:%d/%m/%Y à %H:%M} (fichier {first_name}) ; ignoré"
        )
        return result
    cur = store.cursor()
    try:
        if layout.kind == REFERENCE:
            rows, warnings = reference.check(raw, layout)
            result.warnings += warnings
        else:
            staged = usage.stage(cur, raw, layout, ref)
            result.warnings += _usage_warnings(cur, raw.file)
        with cur.transaction():
            import_id = cur.scalar(
                "insert into imports (file_name, file_path, sha256, kind, imported_at, rows_loaded, "
                "rows_replaced, referentiel_version) values (?, ?, ?, ?, ?, 0, 0, ?) returning import_id",
                [
                    raw.file,
                    str(path.resolve()),
                    digest,
                    layout.kind,
                    dt.datetime.now(),
                    ref.version,
                ],
            )
            if layout.kind == REFERENCE:
                loaded, replaced = reference.write(cur, rows, import_id)
            else:
                loaded, replaced = usage.write(cur, import_id)
                assert loaded == staged.rows
            cur.execute(
                "update imports set rows_loaded = ?, rows_replaced = ? where import_id = ?",
                [loaded, replaced, import_id],
            )
    except ExportError as exc:
        result.status, result.error = REJECTED, exc
        return result
    except Exception as exc:  # noqa: BLE001 - the transaction rolled back; other files go on
        result.status, result.error = REJECTED, _unexpected(raw.file, exc)
        return result
    finally:
        cur.close()
    result.status, result.rows_loaded, result.rows_replaced = LOADED, loaded, replaced
    return result


def _usage_warnings(cur: Store, file: str) -> list[Problem]:
    """Luhn failures and ESMS absent from the reference, one warning per FINESS."""
    warnings = []
    rows = cur.execute(
        "select finess_et, min(_line), finess_et in (select finess_et from establishments) "
        "from incoming group by finess_et order by finess_et"
    ).fetchall()
    for code, line, known in rows:
        if finess.luhn_ok(code) is False:
            warnings.append(
                Problem(
                    file,
                    line,
                    None,
                    f"FINESS {code} : clé de contrôle (Luhn) incorrecte, à vérifier",
                )
            )
        if not known:
            warnings.append(
                Problem(file, line, None, f"ESMS {code} absent du référentiel des établissements")
            )
    return warnings


def describe(result: FileResult) -> str:
    """One French line saying what happened to a file."""
    kind = KIND_LABELS.get(result.kind, "")
    if result.status == LOADED:
        text = f"{result.file} : {result.rows_loaded} ligne{'s' if result.rows_loaded > 1 else ''} chargée{'s' if result.rows_loaded > 1 else ''}"
        if result.rows_replaced:
            text += f" dont {result.rows_replaced} remplaçant des valeurs existantes"
        return text + (f" ({kind})" if kind else "")
    if result.status == SKIPPED:
        return f"{result.file} : {result.note}"
    return result.error.summary() if result.error else f"{result.file} : refusé"
