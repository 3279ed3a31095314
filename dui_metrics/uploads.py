"""Exports uploaded through the dashboard: saved safely, checked (dry run), then ingested.

The Données page hands this module the uploaded files as (name, bytes). They are saved in a
temporary folder outside the repository under their own base names, then go through
``ingest_paths`` exactly as from the command line: inside ``writable_copy(commit=False)`` for the
check (the same checks, cross-file ones included, on a copy thrown away) and
``commit=True`` for the import. Writers queue behind the writers' lock, so two people importing
at once are served one after the other.

Also here, Streamlit-free so that they can be tested: the French tables of that page (validation
report, problems, import log, quality flags).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd

from dui_metrics import quality
from dui_metrics.formats import fr_int
from dui_metrics.ingest import LOADED, REJECTED, SKIPPED, FileResult, ingest_paths
from dui_metrics.ingest.columns import KIND_LABELS
from dui_metrics.referentiel import Referentiel
from dui_metrics.store import Store
from dui_metrics.writer import writable_copy

ACCEPTED_TYPES = ("csv", "txt", "tsv", "xlsx", "parquet")
SHORT_SHA = 12  # characters of the SHA-256 shown on screen (the downloads keep all 64)

Progress = Callable[[int, int, FileResult], None]


# --- saving ---------------------------------------------------------------------------------
def safe_name(name: str) -> str:
    """The base name of an uploaded file, without any folder part or control character.

    ``../../etc/x.csv`` and ``C:\\exports\\x.csv`` both give ``x.csv``; a name left empty or
    made only of dots gives ``fichier``.
    """
    base = re.split(r"[\\/]", name)[-1]
    base = "".join(ch for ch in base if ch.isprintable()).strip()
    return base if base.strip(".") else "fichier"


def save_uploads(files: Sequence[tuple[str, bytes]], folder: Path) -> list[Path]:
    """Write each (name, content) into ``folder`` under its safe base name, in the given order.

    Two files with the same name (case aside) do not overwrite each other: the second
    becomes ``x (2).csv``, the third ``x (3).csv``.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    taken = {p.name.lower() for p in folder.iterdir()}
    paths = []
    for name, content in files:
        base = safe_name(name)
        stem, suffix = _split(base)
        candidate, n = base, 2
        while candidate.lower() in taken:
            candidate, n = f"{stem} ({n}){suffix}", n + 1
        taken.add(candidate.lower())
        path = folder / candidate
        path.write_bytes(content)
        paths.append(path)
    return paths


def _split(name: str) -> tuple[str, str]:
    suffix = Path(name).suffix
    return (name[: -len(suffix)], suffix) if suffix and name != suffix else (name, "")


# --- checking and ingesting -----------------------------------------------------------------
def _run(
    store_path: str | Path,
    paths: Sequence[Path],
    ref: Referentiel | None,
    names: Sequence[str] | None,
    progress: Progress | None,
    *,
    commit: bool,
) -> list[FileResult]:
    names = list(names) if names is not None else [Path(p).name for p in paths]
    if len(names) != len(paths):
        raise ValueError("one name per path expected")
    shown = {str(p): n for p, n in zip(paths, names, strict=True)}
    with writable_copy(store_path, commit=commit) as store:
        return ingest_paths(store, list(paths), ref, progress=progress, names=shown)


def check_uploads(
    store_path: str | Path,
    paths: Sequence[Path],
    ref: Referentiel | None = None,
    names: Sequence[str] | None = None,
    progress: Progress | None = None,
) -> list[FileResult]:
    """What importing ``paths`` would do, without writing anything.

    The same ``ingest_paths`` run as the import, on a copy of the store thrown away at the
    end: statuses, rows loaded and replaced, rejections and warnings are those the import
    would give if nobody writes in between. Files are named ``names`` (default: their base
    names) in every message.
    """
    return _run(store_path, paths, ref, names, progress, commit=False)


def ingest_uploads(
    store_path: str | Path,
    paths: Sequence[Path],
    ref: Referentiel | None = None,
    progress: Progress | None = None,
    names: Sequence[str] | None = None,
) -> list[FileResult]:
    """Ingest ``paths`` into the store (all or nothing per file); readers see the new version
    once every file is done."""
    return _run(store_path, paths, ref, names, progress, commit=True)


# --- French tables and sentences ------------------------------------------------------------
CHECK_STATUS = {
    LOADED: "✅ prêt à importer",
    SKIPPED: "↩️ déjà importé, sera ignoré",
    REJECTED: "⛔ refusé",
}
IMPORT_STATUS = {LOADED: "✅ chargé", SKIPPED: "↩️ déjà importé, ignoré", REJECTED: "⛔ refusé"}


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{fr_int(n)} {word if n <= 1 else (plural or word + 's')}"


def report_frame(results: Sequence[FileResult], *, dry_run: bool) -> pd.DataFrame:
    """One row per file: name, kind, outcome, rows (that would be) loaded and replaced."""
    loaded = "Lignes à charger" if dry_run else "Lignes chargées"
    replaced = "dont remplaçant une valeur" if dry_run else "dont remplacées"
    labels = CHECK_STATUS if dry_run else IMPORT_STATUS
    rows = [
        {
            "Fichier": r.file,
            "Type": KIND_LABELS.get(r.kind, "non reconnu" if r.status == REJECTED else ""),
            "Résultat": labels.get(r.status, r.status),
            loaded: r.rows_loaded,
            replaced: r.rows_replaced,
            "Avertissements": len(r.warnings),
            "Remarque": r.note or (_rejection(r) if r.status == REJECTED else ""),
        }
        for r in results
    ]
    columns = ["Fichier", "Type", "Résultat", loaded, replaced, "Avertissements", "Remarque"]
    return pd.DataFrame(rows, columns=columns)


def _rejection(result: FileResult) -> str:
    total = result.error.total if result.error else 0
    return f"{_plural(total, 'problème')} : fichier refusé en entier"


def problems_frame(results: Sequence[FileResult]) -> pd.DataFrame:
    """Every error and warning: gravité (« erreur » or « avertissement »), file, line (the
    header is line 1), column, message. Errors first; files in order, lines in order."""
    rows = []
    for r in results:
        if r.error is not None:
            rows += [("erreur", p) for p in r.error.problems]
    for r in results:
        ordered = sorted(r.warnings, key=lambda p: (p.line or 0, p.column or "", p.message))
        rows += [("avertissement", p) for p in ordered]
    frame = pd.DataFrame(
        [
            {
                "Gravité": level,
                "Fichier": p.file,
                "Ligne": p.line,
                "Colonne": p.column or "",
                "Problème": p.message,
            }
            for level, p in rows
        ],
        columns=["Gravité", "Fichier", "Ligne", "Colonne", "Problème"],
    )
    frame["Ligne"] = frame["Ligne"].astype("Int64")
    return frame


def unlisted_problems(results: Sequence[FileResult]) -> dict[str, int]:
    """Per rejected file, how many problems were found beyond those listed."""
    return {
        r.file: r.error.total - len(r.error.problems)
        for r in results
        if r.error is not None and r.error.total > len(r.error.problems)
    }


def summary(results: Sequence[FileResult], *, dry_run: bool) -> str:
    """One French sentence: files by outcome and rows (that would be) loaded."""
    loaded = [r for r in results if r.status == LOADED]
    skipped = sum(r.status == SKIPPED for r in results)
    rejected = sum(r.status == REJECTED for r in results)
    rows = sum(r.rows_loaded for r in loaded)
    replaced = sum(r.rows_replaced for r in loaded)
    if dry_run:
        head = f"{_plural(len(loaded), 'fichier')} prêt{'s' if len(loaded) > 1 else ''} à importer"
        lines = f"{_plural(rows, 'ligne')} à charger"
        if replaced:
            lines += f", dont {fr_int(replaced)} remplaçant des valeurs existantes"
    else:
        head = f"{_plural(len(loaded), 'fichier')} chargé{'s' if len(loaded) > 1 else ''}"
        lines = f"{_plural(rows, 'ligne')} chargée{'s' if rows > 1 else ''}"
        if replaced:
            lines += f", dont {fr_int(replaced)} remplaçant des valeurs existantes"
    parts = [f"{head} ({lines})"]
    if skipped:
        parts.append(f"{fr_int(skipped)} déjà importé{'s' if skipped > 1 else ''}")
    if rejected:
        parts.append(f"{fr_int(rejected)} refusé{'s' if rejected > 1 else ''}")
    return ", ".join(parts) + "."


HISTORY_COLUMNS = {
    "file_name": "Fichier",
    "kind": "Type",
    "imported_at": "Importé le",
    "rows_loaded": "Lignes chargées",
    "rows_replaced": "Lignes remplacées",
    "referentiel_version": "Version du référentiel",
    "sha256": "SHA-256",
}


def history(store: Store, ref: Referentiel | None = None) -> pd.DataFrame:
    """The import log in French, newest first, with the full SHA-256 (``ref`` is unused:
    the signature ``ui.cached`` expects)."""
    log = pd.DataFrame(store.imports(), columns=["import_id", *HISTORY_COLUMNS])
    log = log.sort_values("import_id", ascending=False)
    log["kind"] = log["kind"].map(lambda k: KIND_LABELS.get(k, k))
    log["imported_at"] = log["imported_at"].map(lambda t: t.strftime("%d/%m/%Y %H:%M"))
    # Command-line imports are named as typed ("data/demo/x.csv"): the table shows the file.
    log["file_name"] = log["file_name"].map(lambda n: re.split(r"[\\/]", n)[-1])
    return log[list(HISTORY_COLUMNS)].rename(columns=HISTORY_COLUMNS).reset_index(drop=True)


def short_sha(log: pd.DataFrame) -> pd.DataFrame:
    """The import log with the SHA-256 cut to its first characters, for the screen."""
    return log.assign(**{"SHA-256": log["SHA-256"].str[:SHORT_SHA] + "…"})


FLAG_LABELS = {
    "mois_manquants": "Mois manquants",
    "chute_a_zero": "Chute à zéro",
    "finess_luhn": "Clé FINESS (Luhn) incorrecte",
    "sans_referentiel": "Absent du référentiel",
    "sans_usage": "Aucune donnée d'usage",
}


def quality_flags(store: Store, ref: Referentiel | None = None) -> pd.DataFrame:
    """The data-quality flags in French: Contrôle, FINESS ET, Établissement, Détail (``ref``
    is unused: the signature ``ui.cached`` expects)."""
    flags = quality.flags(store, ref)
    codes = sorted(set(flags["finess_et"]))
    names = dict(store.query("esms_names", {"finess": codes}).fetchall())
    frame = pd.DataFrame(
        {
            "Contrôle": flags["controle"].map(lambda c: FLAG_LABELS.get(c, c)),
            "FINESS ET": flags["finess_et"],
            "Établissement": flags["finess_et"].map(names).fillna(""),
            "Détail": flags["detail"],
        }
    )
    # Same order as the filter: the controls in FLAG_LABELS order, then by FINESS.
    rank = {label: n for n, label in enumerate(FLAG_LABELS.values())}
    frame = frame.assign(_rank=frame["Contrôle"].map(rank).fillna(len(rank)))
    return frame.sort_values(["_rank", "Contrôle", "FINESS ET"], ignore_index=True).drop(
        columns="_rank"
    )


def flag_counts(flags: pd.DataFrame) -> dict[str, int]:
    """Number of flags per contrôle, in the order of ``FLAG_LABELS`` (then any other)."""
    counts = flags["Contrôle"].value_counts().to_dict()
    order = [label for label in FLAG_LABELS.values() if label in counts]
    order += sorted(set(counts) - set(order))
    return {label: int(counts[label]) for label in order}
