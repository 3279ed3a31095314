"""Ingestion: files in → checked rows in the store, all or nothing per file.

Order: the files as given (a folder: its files in name order), reference files of a command
before usage files. Each file is read, recognised from its columns, checked whole, then written
with its line in the ingestion log, all or nothing (usage files holding only new keys are
written several at a time, in one transaction: see ``Session``). A rejected file leaves the
store exactly as it was; the other files of the command still load. A file whose content
(SHA-256) was already ingested is skipped: it does not restore older values.

An import may be limited to some ESMS (``allowed_esms``: the dashboard's importer's
perimeter, issue 16): a file holding any other FINESS ET is refused whole, with the list.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import queue
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dui_metrics import finess, records_store
from dui_metrics import referentiel as referentiel_mod
from dui_metrics.errors import ExportError, Problem, UsageError
from dui_metrics.formats import MEBIBYTE, fr_int, fr_size
from dui_metrics.indicators import register_definitions
from dui_metrics.ingest import record_tables, reference, usage
from dui_metrics.ingest.columns import KIND_LABELS, REFERENCE, detect_layout
from dui_metrics.ingest.readers import (
    ARCHIVE_SUFFIXES,
    SUPPORTED_SUFFIXES,
    Caps,
    RawTable,
    peek_headers,
    read,
)
from dui_metrics.ingest.workbooks import XLSX_UNPACKED_FACTOR
from dui_metrics.referentiel import Referentiel
from dui_metrics.store import Store, StoreError, fault
from dui_metrics.text import normalize_key

LOADED, SKIPPED, REJECTED = "chargé", "déjà importé", "refusé"
# TDDUI FHIR files (issue 14): a Bundle, or bundles one per line.
FHIR_SUFFIXES = frozenset({".json", ".ndjson"})
# A file of a folder that is not an input (archive, other extension, hidden): listed, unread.
IGNORED = "ignoré"

# Size limit per file, checked before reading: 1 Mo = 1 048 576 octets, as file managers count.
MAX_FILE_ENV = "DUI_METRICS_MAX_FILE_MB"
DEFAULT_MAX_FILE_MB = 500.0
# Threads that read and check files ahead of the one being written, and how many files they
# may have ready or in progress (see ingest_paths): enough that a long step of the writer (a
# reference file, a batched write) does not leave them idle; a few tens of MB per file.
WORKERS = 2
AHEAD = 6
# Usage rows of files whose keys are all new wait in memory (Arrow) and are written together
# once this many are waiting, or at the end of the command: one big insert costs a third of
# one insert and one commit per file (national set: 11.5 M rows, 3.6 s + 5.5 s of commits per
# file against about 2 s). About 60 bytes per row in memory.
BATCH_ROWS = 2_000_000


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


def _check_size(path: Path, name: str, limit_mb: float) -> None:
    size = path.stat().st_size
    if size > limit_mb * MEBIBYTE:
        limit = f"{limit_mb:g}".replace(".", ",")
        raise ExportError(
            [
                Problem(
                    name,
                    None,
                    None,
                    f"fichier trop volumineux ({fr_size(size)}) : la limite est de {limit} Mo "
                    f"par fichier (option --taille-max ou variable {MAX_FILE_ENV})",
                )
            ]
        )


def _max_unpacked(limit_mb: float) -> float:
    """The most bytes an XLSX file may unpack to, for a size limit of ``limit_mb`` Mo."""
    return limit_mb * MEBIBYTE * XLSX_UNPACKED_FACTOR


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
    digest: str = ""  # SHA-256 of the content, once read

    @property
    def ok(self) -> bool:
        return self.status != REJECTED


def expand(
    paths: Iterable[str | Path], names: Mapping[str, str] | None = None
) -> list[tuple[Path, str]]:
    """(path, name for messages) of every file to ingest, in order (see `scan`)."""
    return scan(paths, names)[0]


def scan(
    paths: Iterable[str | Path], names: Mapping[str, str] | None = None
) -> tuple[list[tuple[Path, str]], list[FileResult]]:
    """The files to ingest, as (path, name for messages), in order; and the files of the
    folders given that are not inputs, as ``IGNORED`` results saying why.

    A folder gives its input files (`SUPPORTED_SUFFIXES`) and those of its subfolders, in
    the order of their paths (names compared folder by folder). Hidden files and folders,
    archives and other extensions are listed as ignored, never silently skipped (a hidden
    folder is listed once, unread). ``names`` maps a given path (as text) to the name
    messages use (uploads name their files, not their temporary paths). A path that does
    not exist is a usage error, raised before anything is ingested.
    """
    paths = list(paths)
    names = names or {}
    files: list[tuple[Path, str]] = []
    ignored: list[FileResult] = []
    missing = [str(p) for p in paths if not Path(p).exists()]
    if missing:
        raise UsageError("chemin introuvable : " + ", ".join(missing))
    for given in paths:
        path = Path(given)
        if not path.is_dir():
            shown = names.get(str(given), str(given))
            if path.is_file():
                files.append((path, shown))
            else:  # a device, a pipe…: no size to check, maybe no end; never read
                ignored.append(FileResult(shown, IGNORED, note="pas un fichier ordinaire, ignoré"))
            continue
        for child in _walk(path):
            shown = str(Path(given) / child.relative_to(path))
            reason = _not_an_input(child)
            if reason:
                ignored.append(FileResult(shown, IGNORED, note=reason))
            else:
                files.append((child, shown))
    return files, ignored


def _walk(folder: Path) -> Iterable[Path]:
    """Files and hidden folders under ``folder``, depth first, in name order; a hidden
    folder is given itself, unread; symbolic links to folders are not followed."""
    try:
        children = sorted(folder.iterdir(), key=lambda p: p.name)
    except OSError as exc:
        raise UsageError(f"dossier illisible : {folder} ({exc.strerror or exc})") from exc
    for child in children:
        if child.is_dir() and not child.name.startswith(".") and not child.is_symlink():
            yield from _walk(child)
        else:
            yield child


def _not_an_input(path: Path) -> str:
    """Why a file found in a folder is not read ("" when it is an input file)."""
    suffix = path.suffix.lower()
    if path.name.startswith("."):
        return "dossier caché ignoré" if path.is_dir() else "fichier caché ignoré"
    if path.is_dir():
        return "lien vers un dossier ignoré"
    if not path.is_file():
        return "pas un fichier ordinaire, ignoré"
    if suffix in ARCHIVE_SUFFIXES:
        return "archive ignorée, jamais ouverte : extrayez-en les fichiers"
    if suffix == ".xlsb":
        return "classeur binaire Excel (.xlsb) ignoré : enregistrez-le au format .xlsx"
    if suffix not in SUPPORTED_SUFFIXES and suffix not in FHIR_SUFFIXES:
        kind = f"extension {suffix}" if suffix else "fichier sans extension"
        return (
            f"{kind} ignoré(e) : formats lus CSV, XLSX, ODS, XLS, Parquet et JSON / NDJSON (TDDUI)"
        )
    return ""


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


@dataclass(frozen=True)
class RecordLayout:
    """A record-level file (issue 14): a record table (``table_kind`` as in
    ``record_tables.KINDS``, its columns by position) or a TDDUI FHIR file (no table kind,
    streamed when written)."""

    kind: str  # imports.kind: dossiers:<table> or tddui
    table_kind: str = ""
    names: Mapping[str, int] = field(default_factory=dict)


def _read_and_detect(
    path: Path, name: str, ref: Referentiel, limit_mb: float, caps: Caps
) -> tuple[RawTable | None, object]:
    _check_size(path, name, limit_mb)  # before reading anything
    if path.suffix.lower() in FHIR_SUFFIXES:  # read as a stream when written
        return None, RecordLayout(records_store.TDDUI)
    try:
        raw = read(path, name, _max_unpacked(limit_mb), caps)
    except ExportError:
        raise
    except Exception as exc:  # noqa: BLE001 - any reader failure refuses this file only
        raise _unexpected(name, exc) from exc
    table_kind, names, problems = record_tables.detect_kind(name, raw.headers, raw.header_line)
    if table_kind:
        kind = records_store.import_kind(table_kind)
        if problems:
            raise ExportError(problems, kind=kind)
        return raw, RecordLayout(kind, table_kind, names)
    layout, problems = detect_layout(name, raw.headers, ref, raw.header_line)
    if problems:
        raise ExportError(problems, kind=layout.kind)
    _drop_total_rows(raw, layout)
    _pad_lost_zeros(raw, layout)
    return raw, layout


# First cells of a total row, as spreadsheets write them (`normalize_key`).
TOTAL_WORDS = frozenset(
    {"total", "totaux", "sous_total", "sous_totaux", "total_general", "ensemble", "somme"}
)
# The key columns that a total row leaves empty, besides its first cell.
_KEY_COLUMNS = ("finess_et", "periode", "indicateur", "finess_ej", "raison_sociale")


def _drop_total_rows(raw: RawTable, layout) -> None:
    """Remove the total rows of a usage or reference file (issue 15, item 2): a first cell
    « Total », « Sous-total », « Ensemble »… with every other key cell empty (its values,
    often formulas, are sums of the lines above: never an ESMS). One warning per row, with
    its line; the other lines keep theirs."""
    if not raw.num_rows or not raw.headers:
        return
    first = raw.column(0)
    # a FINESS, a month or a code starts with a digit: only cells whose first byte may start
    # a word are looked at in Python (none in the usual file: 5 M cells in 0.07 s)
    lead = pc.binary_slice(pc.cast(first, pa.binary()), 0, 1)
    worded = pc.fill_null(pc.greater_equal(lead, pa.scalar(b"A", pa.binary())), False)
    if not pc.any(worded).as_py():
        return
    keys = [pos for name, pos in layout.columns.items() if name in _KEY_COLUMNS and pos != 0]
    candidates = pc.indices_nonzero(worded).to_pylist()
    words = first.take(candidates).to_pylist()
    lines = raw.table.column("_line").take(candidates).to_pylist()
    drop = []
    for index, word, line in zip(candidates, words, lines, strict=True):
        if word is None or normalize_key(word) not in TOTAL_WORDS:
            continue
        if any((raw.column(pos)[index].as_py() or "").strip() for pos in keys):
            continue  # a key cell filled: not a total row, checked as any row
        drop.append(index)
        raw.warnings.append(
            Problem(raw.file, line, None, f"ligne de total ignorée (« {word.strip()} »)")
        )
    if drop:
        keep = pc.invert(pc.is_in(pa.array(range(raw.num_rows)), pa.array(drop)))
        raw.table = raw.table.filter(keep)


# A FINESS of 8 digits: a spreadsheet read it as a number and dropped its leading zero
# (départements 01–09: 010001238 saved as 10001238).
_EIGHT_DIGITS = "^[0-9]{8}$"
LOST_ZERO = "FINESS à 8 chiffres complétés par un 0 initial (enregistrement par un tableur)"


def _pad_lost_zeros(raw: RawTable, layout) -> None:
    """Give back the leading zero of the 8-digit FINESS ET and EJ cells of a usage or
    reference file, with one warning per file and column (issue 15, item 3). An 8-digit
    FINESS is never valid: padding is the only reading; other lengths stay errors."""
    for column in ("finess_et", "finess_ej"):
        pos = layout.columns.get(column)
        if pos is None:
            continue
        cells = raw.column(pos)
        if not pc.any(pc.equal(pc.binary_length(cells), 8)).as_py():
            continue  # the usual file: no regular expression over its cells
        lost = pc.fill_null(pc.match_substring_regex(cells, _EIGHT_DIGITS), False)
        found = pc.sum(lost).as_py() or 0
        if not found:
            continue
        padded = pc.if_else(lost, pc.binary_join_element_wise("0", cells, ""), cells)
        index = raw.table.schema.get_field_index(f"c{pos}")
        raw.table = raw.table.set_column(index, f"c{pos}", padded)
        raw.warnings.append(Problem(raw.file, None, raw.headers[pos], LOST_ZERO))


# FINESS ET listed in the refusal of a file holding ESMS outside the importer's perimeter.
MAX_OUTSIDERS_LISTED = 20


# What decides who sees an ESMS (access.perimeter_of), in the order `Session.refuse_moves`
# reads the stored columns finess_ej, editeur, region, departement.
_MOVE_WORDS = ("organisme gestionnaire", "éditeur", "région", "département")


def outside_perimeter_message(outsiders: Iterable[str]) -> str:
    """The French refusal of a file holding the ESMS ``outsiders`` (FINESS ET outside the
    importer's perimeter): all of them, sorted, the first `MAX_OUTSIDERS_LISTED` listed. It
    does not tell an ESMS unknown to the store from one of another organisation."""
    codes = sorted(set(outsiders))
    listed = ", ".join(codes[:MAX_OUTSIDERS_LISTED])
    if len(codes) > MAX_OUTSIDERS_LISTED:
        listed += f" … et {fr_int(len(codes) - MAX_OUTSIDERS_LISTED)} autres"
    return (
        f"{fr_int(len(codes))} ESMS hors de votre périmètre : {listed} ; ce fichier est refusé "
        "en entier. Seuls les ESMS de votre périmètre peuvent être importés : pour un ESMS "
        "nouveau, ou qui change d'organisme gestionnaire ou d'éditeur, demandez à "
        "l'administrateur de mettre à jour le référentiel des établissements"
    )


class Session:
    """What the files of one command share: a cursor, the référentiel's tables, known keys.

    Per file, a cursor costs nothing to reuse and registering the same tables again is waste;
    the stored keys (see ``usage.StoredKeys``) spare a read of ``usage`` per file.

    A usage file whose keys are all new is not written at once: its checked rows wait in
    ``_pending`` and are written with the next ones, in one transaction (``flush``) that also
    writes their lines of the ingestion log. Each file is still all or nothing, and the files
    are written in the order processed: a file that replaces stored values, or a reference
    file, first flushes what is waiting and is then written alone, as it always was. Anything
    reading the store through the session sees pending rows as stored (``StoredKeys``).
    ``close`` flushes; leaving the session on an exception does not (the command failed: the
    caller's copy of the store is thrown away).
    """

    def __init__(
        self,
        store: Store,
        ref: Referentiel,
        on_count: Callable[[int, int | None], None] | None = None,
        *,
        allowed_esms: frozenset[str] | None = None,
        imported_by: str | None = None,
    ) -> None:
        """``on_count(esms, written)``: told before the counts from records start (written
        None) and once they are written (see `count_records`). ``allowed_esms``: the only
        FINESS ET the files may hold (None: any; see `refuse_outsiders`). ``imported_by``:
        who imports, for the log's ``imported_by`` (None: the command line, local mode)."""
        self.ref = ref
        self.on_count = on_count
        self.allowed_esms = allowed_esms
        self.imported_by = imported_by
        self.cur = store.cursor()
        # Rows of ``usage`` have no order (every query orders what it reads): letting DuckDB
        # write a batch in any order costs less (2 M rows: 0.7 → 0.5 s). The setting holds for
        # the whole database: commands and the upload page ingest into a private copy
        # (``writer.writable_copy``), opened for that alone.
        self.cur.execute("set preserve_insertion_order = false")
        register_definitions(self.cur, ref)
        self.stored_keys = usage.StoredKeys(self.cur, before_read=self.flush)
        self._establishments: np.ndarray | None = None
        self._imports: dict[str, tuple[str, dt.datetime]] | None = None
        # (values of the file's imports row, its checked rows) waiting to be written
        self._pending: list[tuple[list, pa.Table]] = []
        self._pending_rows = 0
        # Record files (issue 14): the imports of this command's extract, (import_id, kind),
        # the ESMS they wrote, and the ESMS of usage files (records win over their values).
        self.record_imports: list[tuple[int, str]] = []
        self.record_esms: set[str] = set()
        self.usage_esms: set[str] = set()

    def refuse_outsiders(self, codes: Iterable[str], file: str, kind: str) -> None:
        """Raise `ExportError` (the file is refused whole) when ``codes``, the FINESS ET of
        the file ``file``, hold any ESMS outside ``allowed_esms``."""
        if self.allowed_esms is None:
            return
        outsiders = set(codes) - self.allowed_esms
        if outsiders:
            raise ExportError(
                [Problem(file, None, None, outside_perimeter_message(outsiders))], kind=kind
            )

    def refuse_moves(self, rows: list[dict], file: str, kind: str) -> None:
        """Raise `ExportError` (the file is refused whole) when reference ``rows`` change what
        decides who sees an ESMS (its OG, editor, région or département) for an importer
        limited to ``allowed_esms``: such a change would hand the ESMS, and its data, to
        another user's perimeter. Only the administrator (or the command line) makes it."""
        if self.allowed_esms is None or not rows:
            return
        stored = {
            r[0]: r[1:]
            for r in self.cur.execute(
                "select finess_et, finess_ej, editeur, region, departement from establishments "
                "where list_contains($codes, finess_et)",
                {"codes": [r["finess_et"] for r in rows]},
            ).fetchall()
        }
        moved: dict[str, list[str]] = {}
        for row in rows:
            before = stored.get(row["finess_et"])
            if before is None:
                continue  # a new ESMS is an outsider: refused by `refuse_outsiders`
            after = (
                row.get("finess_ej"),
                row.get("editeur"),
                row.get("region"),
                row.get("departement"),
            )
            changed = [
                word for word, b, a in zip(_MOVE_WORDS, before, after, strict=True) if b != a
            ]
            if changed:
                moved[row["finess_et"]] = changed
        if moved:
            shown = [f"{code} ({', '.join(words)})" for code, words in sorted(moved.items())]
            n = len(moved)
            message = (
                f"{n} ESMS changerai{'en' if n > 1 else ''}t d'organisme gestionnaire, d'éditeur, "
                f"de région ou de département : {', '.join(shown[:MAX_OUTSIDERS_LISTED])}"
                + (
                    f" … et {fr_int(n - MAX_OUTSIDERS_LISTED)} autres"
                    if n > MAX_OUTSIDERS_LISTED
                    else ""
                )
                + " ; ce fichier est refusé en entier. Ces colonnes décident de qui voit "
                "l'ESMS : demandez à l'administrateur de mettre à jour le référentiel des "
                "établissements"
            )
            raise ExportError([Problem(file, None, None, message)], kind=kind)

    def establishment_codes(self) -> np.ndarray:
        """FINESS of the reference, sorted, as 9-byte strings (read again after a reference
        file is written)."""
        if self._establishments is None:
            rows = self.cur.execute("select finess_et from establishments order by 1").fetchall()
            self._establishments = np.array([code for (code,) in rows], dtype="S9")
        return self._establishments

    def _import_log(self) -> dict[str, tuple[str, dt.datetime]]:
        """SHA-256 → (file name, when) of the first import of each content."""
        if self._imports is None:
            self._imports = {}
            for sha, name, when in self.cur.execute(
                "select sha256, file_name, imported_at from imports order by imported_at"
            ).fetchall():
                self._imports.setdefault(sha, (name, when))
        return self._imports

    def find_import(self, digest: str) -> tuple[str, dt.datetime] | None:
        """(file name, when) of the first import of this content, if any."""
        return self._import_log().get(digest)

    def written(self, digest: str, name: str, when: dt.datetime, staged) -> None:
        """Keep the session's knowledge in step with a file just committed."""
        self._import_log().setdefault(digest, (name, when))
        if staged is None:
            self._establishments = None
        else:
            self.stored_keys.add(staged.keys)

    def defer(self, log_row: list, rows: pa.Table) -> None:
        """Keep a checked file's rows (``usage`` columns but import_id) and its imports row
        values (without rows_replaced, zero) to be written by ``flush``."""
        self._pending.append((log_row, rows))
        self._pending_rows += rows.num_rows
        if self._pending_rows >= BATCH_ROWS:
            self.flush()

    def flush(self) -> None:
        """Write the waiting files, in order, in one transaction."""
        if not self._pending:
            return
        try:
            with self.cur.transaction():
                # One imports row per file, in order: the ids are drawn at once and given in
                # increasing order, as one insert per file gave them (3 ms each).
                drawn = self.cur.execute(
                    "select nextval('import_id_seq') from range(?)", [len(self._pending)]
                ).fetchall()
                ids = sorted(i for (i,) in drawn)
                log = [row for row, _ in self._pending]
                self.cur.register(
                    "pending_imports",
                    pa.table(
                        {
                            "import_id": pa.array(ids, pa.int32()),
                            **{
                                name: [row[pos] for row in log]
                                for pos, name in enumerate(_IMPORT_COLUMNS)
                            },
                        }
                    ),
                )
                tables = []
                for import_id, (_, rows) in zip(ids, self._pending, strict=True):
                    ids_column = pa.repeat(pa.scalar(import_id, pa.int32()), rows.num_rows)
                    tables.append(rows.add_column(4, "import_id", ids_column))
                self.cur.register("pending_usage", pa.concat_tables(tables))
                try:
                    self.cur.execute(
                        f"insert into imports (import_id, {', '.join(_IMPORT_COLUMNS)}, "
                        f"rows_replaced) select *, 0 from pending_imports"
                    )
                    self.cur.execute("insert into usage select * from pending_usage")
                finally:  # never masks the error of the insert (a full disk)
                    with contextlib.suppress(Exception):
                        self.cur.unregister("pending_usage")
                        self.cur.unregister("pending_imports")
        except Exception as exc:
            names = ", ".join(row[0] for row, _ in self._pending)
            if found := fault(exc, self.cur.path, "écriture"):
                raise found from exc
            raise StoreError(
                f"écriture dans le magasin impossible ({type(exc).__name__} : {exc}) ; "
                f"fichiers non enregistrés : {names}"
            ) from exc
        finally:
            self._pending, self._pending_rows = [], 0

    def count_records(self) -> None:
        """Close this command's extract and count its ESMS again from their records, and
        the ESMS of its usage files that have records (the counts from records win), in one
        transaction (`records_store`)."""
        self.flush()
        esms = set(self.record_esms)
        if self.usage_esms:
            esms |= set(records_store.esms_with_records(self.cur, self.usage_esms))
        if not esms and not self.record_imports:
            return
        if self.on_count:
            self.on_count(len(esms), None)
        try:
            with self.cur.transaction():
                records_store.finish_extract(self.cur, self.record_imports)
                written = records_store.recount(self.cur, self.ref, esms)
        except Exception as exc:
            if found := fault(exc, self.cur.path, "écriture"):
                raise found from exc
            raise StoreError(
                f"comptage depuis les dossiers impossible ({type(exc).__name__} : {exc})"
            ) from exc
        finally:
            self.record_imports, self.record_esms, self.usage_esms = [], set(), set()
        if self.on_count:
            self.on_count(len(esms), written)

    def close(self) -> None:
        try:
            self.count_records()
        finally:
            self.cur.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, exc_type, *exc: object) -> None:
        if exc_type is not None:
            self._pending, self._pending_rows = [], 0
            self.record_imports, self.record_esms, self.usage_esms = [], set(), set()
        self.close()


def _reference_first(
    files: list[tuple[Path, str]], ref: Referentiel, limit_mb: float, caps: Caps
) -> list[tuple[Path, str]]:
    """Reference files first, then the record files that hold séjours (dossiers tables,
    TDDUI), then the other files, the given order kept within each rank: events, PP and DMP
    documents need their dossier's séjour stored (headers only are read, of files within
    the size limit)."""
    return sorted(files, key=lambda item: _rank(item[0], ref, limit_mb, caps))


def _rank(path: Path, ref: Referentiel, limit_mb: float, caps: Caps) -> int:
    if path.suffix.lower() in FHIR_SUFFIXES:
        return 1
    try:
        if path.stat().st_size > limit_mb * MEBIBYTE:
            return 2  # refused unread when its turn comes
        headers = peek_headers(path, _max_unpacked(limit_mb), caps)
    except Exception:  # noqa: BLE001 - an unreadable file is reported when it is read
        return 2
    if not headers:
        return 2
    table_kind, _, _ = record_tables.detect_kind(path.name, headers)
    if table_kind:
        return 1 if table_kind == record_tables.DOSSIERS else 2
    layout, problems = detect_layout(path.name, headers, ref)
    return 0 if not problems and layout.kind == REFERENCE else 2


def ingest_paths(
    store: Store,
    paths: Iterable[str | Path],
    ref: Referentiel | None = None,
    progress: Callable[[int, int, FileResult], None] | None = None,
    names: Mapping[str, str] | None = None,
    max_mb: float | None = None,
    *,
    demo: bool = False,
    on_count: Callable[[int, int | None], None] | None = None,
    allowed_esms: frozenset[str] | None = None,
    imported_by: str | None = None,
) -> list[FileResult]:
    """Ingest files and folders; one ``FileResult`` per file, in the order processed (the
    files of the folders that are not inputs first, ``IGNORED``). ``names``: optional display
    name per given path (see ``scan``). The rest: see ``ingest_scanned``."""
    return ingest_scanned(
        store,
        scan(paths, names),
        ref,
        progress,
        max_mb,
        demo=demo,
        on_count=on_count,
        allowed_esms=allowed_esms,
        imported_by=imported_by,
    )


def ingest_scanned(
    store: Store,
    scanned: tuple[list[tuple[Path, str]], list[FileResult]],
    ref: Referentiel | None = None,
    progress: Callable[[int, int, FileResult], None] | None = None,
    max_mb: float | None = None,
    *,
    demo: bool = False,
    on_count: Callable[[int, int | None], None] | None = None,
    allowed_esms: frozenset[str] | None = None,
    imported_by: str | None = None,
) -> list[FileResult]:
    """Ingest the files found by ``scan`` (``scanned``); one ``FileResult`` per file.

    ``max_mb``: size limit per file in Mo (default: see ``max_file_mb``); a larger file is
    refused before reading; the caps on rows, cells and columns are read once
    (``Caps.from_env``): an invalid one is a usage error before any file. ``demo``: the files
    are the demo exports, recorded as such in the store (``Store.add_demo_digests``).
    ``on_count(esms, written)``: progress of the counts from records at the end (`Session`).
    ``allowed_esms``: the FINESS ET the files may hold, None for any (the command line); a
    file holding another is refused whole (`outside_perimeter_message`), whatever its kind.
    ``imported_by``: who imports, recorded in the log (None: the command line, local mode).
    The next files are read and checked alone (``usage.check_alone``) by WORKERS threads, each
    on its own cursor (pyarrow and DuckDB release the GIL), while the current one is judged
    against the store and written, in order: at most AHEAD + 1 files are in memory.
    """
    ref = ref or referentiel_mod.default()
    limit_mb = max_file_mb(max_mb)
    caps = Caps.from_env()
    found, ignored = scanned
    files = _reference_first(found, ref, limit_mb, caps)
    results: list[FileResult] = list(ignored)
    cursors: queue.SimpleQueue[Store] = queue.SimpleQueue()
    opened = []
    for _ in range(WORKERS):
        cur = store.cursor()
        register_definitions(cur, ref)
        cursors.put(cur)
        opened.append(cur)

    def prepare(path: Path, name: str) -> Prepared | FileResult:
        read = _read_or_refuse(path, name, ref, limit_mb, caps)
        if isinstance(read, FileResult):
            return read
        raw, layout = read
        alone: usage.CheckedAlone | pa.Table | Exception | None = None
        if isinstance(layout, RecordLayout):
            if layout.table_kind:
                try:
                    alone = record_tables.check(raw, layout.table_kind, dict(layout.names))
                except Exception as exc:  # noqa: BLE001 - refuses this file, in ingest_table
                    alone = exc
        elif layout.kind != REFERENCE:
            cur = cursors.get()
            try:
                alone = usage.check_alone(cur, raw, layout, ref)
            except Exception as exc:  # noqa: BLE001 - refuses this file, in ingest_table
                alone = exc
            finally:
                cursors.put(cur)
        return Prepared(raw, layout, sha256_of(path), alone)

    try:
        with (
            Session(
                store, ref, on_count, allowed_esms=allowed_esms, imported_by=imported_by
            ) as session,
            ThreadPoolExecutor(max_workers=WORKERS) as pool,
        ):
            upcoming = deque(pool.submit(prepare, *item) for item in files[:AHEAD])
            try:
                for done, (path, name) in enumerate(files, start=1):
                    prepared = upcoming.popleft().result()
                    if done - 1 + AHEAD < len(files):
                        upcoming.append(pool.submit(prepare, *files[done - 1 + AHEAD]))
                    if isinstance(prepared, FileResult):
                        result = prepared
                    else:
                        result = ingest_table(
                            session, path, prepared.raw, prepared.layout, prepared, name
                        )
                    results.append(result)
                    if progress:
                        progress(done, len(files), result)
            except BaseException:
                for future in upcoming:  # an interrupted command does not read further files
                    future.cancel()
                raise
    finally:
        for cur in opened:
            cur.close()
    if demo:
        store.add_demo_digests({r.digest for r in results if r.status in (LOADED, SKIPPED)})
    return results


@dataclass
class Prepared:
    """A file read and checked alone in a worker thread (see ``ingest_paths``)."""

    raw: RawTable | None  # None for a TDDUI file (streamed when written)
    layout: object
    digest: str
    # None for a reference or TDDUI file; a checked table for a record table
    alone: usage.CheckedAlone | pa.Table | Exception | None


def _read_or_refuse(
    path: Path, name: str, ref: Referentiel, limit_mb: float, caps: Caps
) -> tuple[RawTable | None, object] | FileResult:
    try:
        return _read_and_detect(path, name, ref, limit_mb, caps)
    except ExportError as exc:
        return FileResult(name, REJECTED, kind=exc.kind, error=exc)


def ingest_file(
    store: Store,
    path: str | Path,
    ref: Referentiel | None = None,
    name: str | None = None,
    max_mb: float | None = None,
) -> FileResult:
    """Ingest one file."""
    path = Path(path)
    with Session(store, ref or referentiel_mod.default()) as session:
        return _ingest_one(session, path, name or str(path), max_file_mb(max_mb), Caps.from_env())


def _ingest_one(session: Session, path: Path, name: str, limit_mb: float, caps: Caps) -> FileResult:
    read = _read_or_refuse(path, name, session.ref, limit_mb, caps)
    if isinstance(read, FileResult):
        return read
    raw, layout = read
    return ingest_table(session, path, raw, layout, file=name)


def ingest_table(
    session: Session,
    path: Path,
    raw: RawTable | None,
    layout,
    prepared: Prepared | None = None,
    file: str = "",
) -> FileResult:
    """Check then write one read file, all or nothing. ``prepared``: the file's digest and
    checks that do not depend on the store, done ahead (``ingest_paths``). ``file``: the
    name for messages of a file not read yet (TDDUI)."""
    if isinstance(layout, RecordLayout):
        return _ingest_records(session, path, raw, layout, prepared, file)
    result = FileResult(raw.file, kind=layout.kind, warnings=[*raw.warnings, *layout.warnings])
    cur, ref = session.cur, session.ref
    digest = result.digest = prepared.digest if prepared else sha256_of(path)
    if _already_imported(session, result):
        return result
    staged = None
    try:
        if layout.kind == REFERENCE:
            rows, warnings = reference.check(raw, layout)
            # Against the store's reference: a row moving an ESMS into the perimeter (a new
            # ESMS, another OG's) is refused as any outsider.
            session.refuse_outsiders((r["finess_et"] for r in rows), raw.file, layout.kind)
            session.refuse_moves(rows, raw.file, layout.kind)
            result.warnings += warnings
        else:
            if prepared is not None:
                if isinstance(prepared.alone, Exception):
                    raise prepared.alone
                staged = usage.accept(prepared.alone, session.stored_keys)
            if staged is None:  # replaces stored values, or not prepared: on this cursor
                staged = usage.stage(cur, raw, layout, ref, session.stored_keys)
            session.refuse_outsiders(
                staged.esms.column("finess_et").to_pylist(), raw.file, layout.kind
            )
            result.warnings += _usage_warnings(session, staged, raw.file)
            session.usage_esms.update(staged.esms.column("finess_et").to_pylist())
        now = dt.datetime.now()
        # The counts are final unless the file replaces values (updated below).
        log_row = [
            raw.file,
            str(path.resolve()),
            digest,
            layout.kind,
            now,
            0 if staged is None else staged.rows,
            ref.version,
            session.imported_by,
        ]
        if staged is not None and not staged.replaces:  # written later, with the next files
            session.defer(log_row, usage.pending_rows(staged.incoming))
            loaded, replaced = staged.rows, 0
        else:
            session.flush()  # what waits was processed before this file
            with cur.transaction():
                import_id = cur.scalar(_INSERT_IMPORT, log_row)
                if staged is None:
                    loaded, replaced = reference.write(cur, rows, import_id)
                else:
                    loaded, replaced = usage.write(cur, import_id, staged)
                    assert loaded == staged.rows
                if staged is None or replaced:
                    cur.execute(
                        "update imports set rows_loaded = ?, rows_replaced = ? where import_id = ?",
                        [loaded, replaced, import_id],
                    )
    except ExportError as exc:
        result.status, result.error = REJECTED, exc
        return result
    except StoreError:
        raise  # writing files processed before this one failed: the command fails
    except Exception as exc:  # noqa: BLE001 - the transaction rolled back; other files go on
        if found := fault(exc, cur.path, "écriture"):  # the machine's: the command stops
            raise found from exc
        result.status, result.error = REJECTED, _unexpected(raw.file, exc)
        return result
    session.written(digest, raw.file, now, staged)
    result.status, result.rows_loaded, result.rows_replaced = LOADED, loaded, replaced
    return result


def _already_imported(session: Session, result: FileResult) -> bool:
    """Whether the content of ``result.digest`` was imported before: then ``result`` says
    so (skipped, with the first import's date and file)."""
    earlier = session.find_import(result.digest)
    if earlier:
        first_name, when = earlier
        result.status = SKIPPED
        result.note = (
            f"contenu déjà importé le {when:%d/%m/%Y à %H:%M} (fichier {first_name}) ; ignoré"
        )
    return earlier is not None


def _ingest_records(
    session: Session,
    path: Path,
    raw: RawTable | None,
    layout: RecordLayout,
    prepared: Prepared | None,
    file: str,
) -> FileResult:
    """Check then write one record-level file, all or nothing (`records_store`): its rows
    replace the stored rows of its table(s) for each ESMS it holds. The counts follow at the
    end of the command (`Session.count_records`)."""
    name = raw.file if raw is not None else file or str(path)
    warnings = [*raw.warnings] if raw is not None else []
    result = FileResult(name, kind=layout.kind, warnings=warnings)
    cur = session.cur
    digest = result.digest = prepared.digest if prepared else sha256_of(path)
    if _already_imported(session, result):
        return result
    try:
        table = None
        if layout.table_kind:
            checked = prepared.alone if prepared is not None else None
            if checked is None:
                checked = record_tables.check(raw, layout.table_kind, dict(layout.names))
            if isinstance(checked, Exception):
                raise checked
            table = checked
            session.refuse_outsiders(
                pc.unique(table.column("finess_et")).to_pylist(), name, layout.kind
            )
            unknown = records_store.unknown_dossiers(cur, name, layout.table_kind, table)
            if unknown is not None:
                raise unknown
        session.flush()  # what waits was processed before this file
        now = dt.datetime.now()
        log_row = [
            name,
            str(path.resolve()),
            digest,
            layout.kind,
            now,
            0,
            session.ref.version,
            session.imported_by,
        ]
        with cur.transaction():
            import_id = cur.scalar(_INSERT_IMPORT, log_row)
            if table is not None:
                loaded, replaced, esms = records_store.write_table(
                    cur, import_id, layout.table_kind, table
                )
            else:
                from dui_metrics.ingest import fhir  # only when a TDDUI file comes

                lone = _lone_tddui_resource(path, fhir.TDDUI_PROFILE)
                chunks = iter(()) if lone else fhir.iter_chunks(path, name)
                loaded, replaced, esms = records_store.write_fhir(cur, import_id, chunks)
                # Its ESMS are known once it is read: an outsider rolls the file back.
                session.refuse_outsiders(esms, name, layout.kind)
                if lone:
                    result.warnings.append(
                        Problem(
                            name,
                            None,
                            lone,
                            "ressource TDDUI seule, hors d'un Bundle : rien à compter (un "
                            "séjour, un événement ou un projet se compte dans le Bundle qui le "
                            "relie à son usager et à son établissement) ; exportez des Bundles",
                        )
                    )
            cur.execute(
                "update imports set rows_loaded = ?, rows_replaced = ? where import_id = ?",
                [loaded, replaced, import_id],
            )
    except ExportError as exc:
        if not exc.kind:
            exc.kind = layout.kind
        result.status, result.error = REJECTED, exc
        return result
    except StoreError:
        raise
    except Exception as exc:  # noqa: BLE001 - the transaction rolled back; other files go on
        if found := fault(exc, cur.path, "écriture"):
            raise found from exc
        result.status, result.error = REJECTED, _unexpected(name, exc)
        return result
    session.written(digest, name, now, None)
    session.record_imports.append((import_id, layout.kind))
    session.record_esms.update(esms)
    result.warnings += _absent_esms(session, esms, name)
    result.status, result.rows_loaded, result.rows_replaced = LOADED, loaded, replaced
    return result


def _lone_tddui_resource(path: Path, profile: str) -> str | None:
    """« Type/id » of a .json file holding one TDDUI resource rather than a Bundle (as the
    standard's examples publish each resource), None for anything else (read as bundles)."""
    if path.suffix.lower() != ".json" or path.stat().st_size > MEBIBYTE:
        return None
    try:
        data = json.loads(path.read_bytes().decode("utf-8-sig"))
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None  # refused with its reason by the reader
    if type(data) is not dict or data.get("resourceType") in (None, "Bundle"):
        return None
    meta = data.get("meta")
    profiles = meta.get("profile") if type(meta) is dict else None
    if type(profiles) is not list or not any(
        type(p) is str and p.startswith(profile) for p in profiles
    ):
        return None
    return f"{data.get('resourceType')}/{data.get('id')}"


def _absent_esms(session: Session, esms: list[str], file: str) -> list[Problem]:
    """One warning per ESMS of a record file absent from the reference."""
    known = set(session.establishment_codes().astype(str).tolist())
    return [
        Problem(file, None, None, f"ESMS {code} absent du référentiel des établissements")
        for code in esms
        if code not in known
    ]


# The values of an imports row given by ingest_table (log_row), in this order.
_IMPORT_COLUMNS = (
    "file_name",
    "file_path",
    "sha256",
    "kind",
    "imported_at",
    "rows_loaded",
    "referentiel_version",
    "imported_by",
)
_INSERT_IMPORT = (
    f"insert into imports ({', '.join(_IMPORT_COLUMNS)}, rows_replaced) "
    f"values ({', '.join('?' for _ in _IMPORT_COLUMNS)}, 0) returning import_id"
)


def _usage_warnings(session: Session, staged: usage.StagedUsage, file: str) -> list[Problem]:
    """Luhn failures and ESMS absent from the reference, one warning per FINESS (checked for
    all the file's ESMS at once; a loop only over those warned about)."""
    codes = staged.esms.column("finess_et")
    # Sorted FINESS (9 bytes each) and a binary search: no hash set rebuilt per file.
    known = session.establishment_codes()
    wanted = finess.nine_bytes(codes)
    if len(known):
        found = known[np.minimum(np.searchsorted(known, wanted), len(known) - 1)] == wanted
    else:
        found = np.zeros(len(wanted), bool)
    flagged = staged.esms.append_column(
        "luhn_fails", pc.fill_null(pc.invert(finess.luhn_ok_array(wanted)), False)
    ).append_column("absent", pa.array(~found))
    warned = flagged.filter(pc.or_(flagged.column("luhn_fails"), flagged.column("absent")))
    flags = zip(*(column.to_pylist() for column in warned.columns), strict=True)
    warnings = []
    for code, line, luhn_fail, is_absent in flags:
        if luhn_fail:
            warnings.append(
                Problem(
                    file,
                    line,
                    None,
                    f"FINESS {code} : clé de contrôle (Luhn) incorrecte, à vérifier",
                )
            )
        if is_absent:
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
    if result.status in (SKIPPED, IGNORED):
        return f"{result.file} : {result.note}"
    return result.error.summary() if result.error else f"{result.file} : refusé"
