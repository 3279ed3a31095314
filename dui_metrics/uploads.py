"""Exports uploaded through the dashboard: saved safely, checked (dry run), then ingested.

The Données page hands this module the uploaded files as (name, bytes). They are saved in a
temporary folder outside the repository under their own base names (made safe: no folder, no
control character, at most 255 bytes; a warning says when a name was changed), then go
through ``ingest_paths`` exactly as from the command line: for the check, on a private copy of
the store's current version taken without the writers' lock and thrown away
(``writable_copy(commit=False)``: the same checks, cross-file ones included; a check never
waits for an import nor makes one wait), and on a copy that replaces the store for the
import. Writers queue behind the writers' lock, so two people importing at once are served
one after the other.

Who may import what (issue 16): the importer's perimeter (`access.Perimeter`) limits the files
to its ESMS. ``og`` and ``editeur`` users import only files whose every FINESS ET is in their
perimeter (a file holding another is refused whole, with the list: ``ingest``'s
``allowed_esms``); ``ars`` users read only (`ReadOnlyRole`); ``admin`` and local mode
(`access.EVERYTHING`) import anything. The import log records who imported each file
(`importer_of`: an e-mail or an OIDC ``sub``, nothing else of the identity).

Also here, Streamlit-free so that they can be tested: the French tables of that page (validation
report, problems, import log, quality flags).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import pandas as pd

from dui_metrics import quality
from dui_metrics.access import Perimeter, takes_perimeter
from dui_metrics.errors import Problem, UsageError
from dui_metrics.formats import fr_int
from dui_metrics.ingest import (
    FHIR_SUFFIXES,
    LOADED,
    REJECTED,
    SKIPPED,
    SUPPORTED_SUFFIXES,
    FileResult,
    ingest_paths,
)
from dui_metrics.ingest.columns import KIND_LABELS
from dui_metrics.referentiel import Referentiel
from dui_metrics.store import Store
from dui_metrics.writer import writable_copy

# The extensions the command line reads (`ingest.SUPPORTED_SUFFIXES`, TDDUI files), no other.
ACCEPTED_TYPES = tuple(sorted(s.lstrip(".") for s in SUPPORTED_SUFFIXES | FHIR_SUFFIXES))
SHORT_SHA = 12  # characters of the SHA-256 shown on screen (the downloads keep all 64)
# Warnings listed on screen per file (the downloads keep them all; the count says the total).
MAX_WARNINGS_SHOWN = 50
# A file name is at most 255 bytes on the usual file systems; a saved name keeps room for the
# « (2) » of a second file of the same name.
MAX_NAME_BYTES = 255
SAVED_NAME_BYTES = 240

Progress = Callable[[int, int, FileResult], None]


# --- saving ---------------------------------------------------------------------------------
def safe_name(name: str) -> str:
    """The base name of an uploaded file, without any folder part or control character, short
    enough to be a file name.

    ``../../etc/x.csv`` and ``C:\\exports\\x.csv`` both give ``x.csv``; line breaks and tabs
    become a space (one per run), any other control or invisible formatting character (NUL, a
    right-to-left override) goes, and so do spaces around the name; a name left empty or made
    only of dots gives ``fichier``; a name over ``SAVED_NAME_BYTES`` bytes in UTF-8 is cut (at a character) and
    ends with « … » before its extension.
    """
    base = re.split(r"[\\/]", name)[-1]
    kept: list[str] = []
    for ch in base:
        if ch.isprintable():
            kept.append(ch)
        elif ch.isspace() and (not kept or kept[-1] != "\0"):
            kept.append("\0")  # a run of line breaks or tabs: one space
    base = "".join(kept).replace("\0", " ").strip()
    if not base.strip("."):
        return "fichier"
    return _shorten(base, SAVED_NAME_BYTES)


def _shorten(name: str, most: int) -> str:
    """``name`` if it fits in ``most`` bytes of UTF-8, else its stem cut (at a character) and
    « … », then its extension."""
    if len(name.encode("utf-8")) <= most:
        return name
    stem, suffix = _split(name)
    if len(suffix.encode("utf-8")) > 16:  # not an extension
        stem, suffix = name, ""
    room = most - len(suffix.encode("utf-8")) - len("…".encode())
    cut = stem.encode("utf-8")[:room].decode("utf-8", errors="ignore").rstrip()
    return f"{cut}…{suffix}"


def name_warning(given: str, saved: str) -> Problem | None:
    """The warning for a file whose name as uploaded (``given``) was changed to be saved
    (``saved``, see ``safe_name``), naming what was changed; None when it was kept."""
    if given == saved:
        return None
    reasons = []
    if re.search(r"[\\/]", given):
        reasons.append("chemin de dossier retiré")
    if any(not ch.isprintable() for ch in given):
        reasons.append("retour à la ligne, tabulation ou caractère invisible retiré")
    size = len(given.encode("utf-8"))
    if size > SAVED_NAME_BYTES:
        reasons.append(
            f"nom de {fr_int(size)} octets, raccourci à {SAVED_NAME_BYTES} au plus (un nom de "
            f"fichier ne peut dépasser {MAX_NAME_BYTES} octets)"
        )
    if not reasons:
        if saved != "fichier":
            return None  # spaces around the name only
        reasons.append("nom vide ou réduit à des points")
    return Problem(
        saved,
        None,
        None,
        f"nom de fichier modifié ({' ; '.join(reasons)}) : enregistré et affiché sous « {saved} »",
    )


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


# --- who imports -----------------------------------------------------------------------------
# Roles that may import (each within its perimeter); any other role reads only.
IMPORTING_ROLES = ("og", "editeur", "admin")
READ_ONLY_MESSAGE = (
    "Votre rôle ({role}) permet la consultation seulement : les imports sont faits par les "
    "organismes gestionnaires, les éditeurs et l'administrateur du tableau de bord."
)


class ReadOnlyRole(UsageError):
    """An import (or its check) asked by a user whose role reads only (``ars``)."""


def may_import(perimeter: Perimeter | None) -> bool:
    """Whether a user of ``perimeter`` may import (within it); None: local mode, yes."""
    return perimeter is None or perimeter.role in IMPORTING_ROLES


def read_only_message(perimeter: Perimeter) -> str:
    """Why a user of ``perimeter`` has no upload: « Votre rôle (ARS) permet la consultation
    seulement : … »."""
    return READ_ONLY_MESSAGE.format(role=perimeter.role.upper())


def importer_of(user: Mapping[str, object]) -> str | None:
    """Who imports, as recorded in the import log: the e-mail of the logged-in identity
    ``user`` (``st.user.to_dict()``), else its ``sub``; None when nobody is logged in (local
    mode). Nothing else of the identity is kept (no name, no token)."""
    if user.get("is_logged_in") is not True:
        return None
    for claim in ("email", "sub"):
        value = user.get(claim)
        if value is not None and str(value).strip():
            return str(value).strip()
    return None


def _allowed_esms(perimeter: Perimeter | None) -> frozenset[str] | None:
    """The FINESS ET an importer of ``perimeter`` may write (None: any); `ReadOnlyRole` for a
    role that reads only."""
    if perimeter is None:
        return None
    if not may_import(perimeter):
        raise ReadOnlyRole(read_only_message(perimeter))
    return perimeter.finess


# --- checking and ingesting -----------------------------------------------------------------
class _NothingLoaded(Exception):
    """Every file of an import was refused or skipped: its copy of the store is not saved, so
    the store file is byte for byte the one before (and readers keep their snapshot)."""


def _run(
    store_path: str | Path,
    paths: Sequence[Path],
    ref: Referentiel | None,
    names: Sequence[str] | None,
    progress: Progress | None,
    *,
    commit: bool,
    given: Sequence[str] | None = None,
    perimeter: Perimeter | None = None,
    importer: str | None = None,
) -> list[FileResult]:
    allowed = _allowed_esms(perimeter)  # before anything is copied or read
    names = list(names) if names is not None else [Path(p).name for p in paths]
    if len(names) != len(paths) or (given is not None and len(given) != len(paths)):
        raise ValueError("one name per path expected")
    shown = {str(p): n for p, n in zip(paths, names, strict=True)}
    try:
        with writable_copy(store_path, commit=commit) as store:
            results = ingest_paths(
                store,
                list(paths),
                ref,
                progress=progress,
                names=shown,
                allowed_esms=allowed,
                imported_by=importer,
            )
            if commit and not any(r.status == LOADED for r in results):
                raise _NothingLoaded  # the copy is thrown away: the store file stays as it was
    except _NothingLoaded:
        pass
    renamed = {}
    for original, name in zip(given or [], names, strict=False):
        warning = name_warning(original, name)
        if warning is not None:
            renamed[name] = warning
    for result in results:
        if result.file in renamed:
            result.warnings.insert(0, renamed[result.file])
    return results


def check_uploads(
    store_path: str | Path,
    paths: Sequence[Path],
    ref: Referentiel | None = None,
    names: Sequence[str] | None = None,
    progress: Progress | None = None,
    given: Sequence[str] | None = None,
    *,
    perimeter: Perimeter | None = None,
    importer: str | None = None,
) -> list[FileResult]:
    """What importing ``paths`` would do, without writing anything.

    The same ``ingest_paths`` run as the import, on a private copy of the store thrown away
    at the end (``writable_copy(commit=False)``: without the writers' lock): statuses, rows loaded and
    replaced, rejections and warnings are those the import would give if nobody writes in
    between. Files are named ``names`` (default: their base names) in every message.
    ``given``: the names as uploaded, one per path; a file saved under another name (see
    ``safe_name``) gets a warning saying so. ``perimeter`` and ``importer``: as for
    ``ingest_uploads``.
    """
    return _run(
        store_path,
        paths,
        ref,
        names,
        progress,
        commit=False,
        given=given,
        perimeter=perimeter,
        importer=importer,
    )


def ingest_uploads(
    store_path: str | Path,
    paths: Sequence[Path],
    ref: Referentiel | None = None,
    progress: Progress | None = None,
    names: Sequence[str] | None = None,
    given: Sequence[str] | None = None,
    *,
    perimeter: Perimeter | None = None,
    importer: str | None = None,
) -> list[FileResult]:
    """Ingest ``paths`` into the store (all or nothing per file); readers see the new version
    once every file is done. ``given``: as for ``check_uploads``.

    ``perimeter``: the importer's (the page passes the session's; None, as
    `access.EVERYTHING`: any ESMS). A file holding a FINESS ET outside it is refused whole
    with the list, the other files still load; a role that reads only (``ars``) raises
    `ReadOnlyRole` before anything is read. ``importer``: who imports (`importer_of`),
    recorded in the log; None for local mode."""
    return _run(
        store_path,
        paths,
        ref,
        names,
        progress,
        commit=True,
        given=given,
        perimeter=perimeter,
        importer=importer,
    )


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


def problems_frame(results: Sequence[FileResult], max_warnings: int | None = None) -> pd.DataFrame:
    """Every error and warning: gravité (« erreur » or « avertissement »), file, line (the
    header is line 1), column, message. Errors first; files in order, lines in order.
    ``max_warnings``: the most warnings kept per file, the first ones (see ``unlisted_warnings``
    for the others)."""
    rows = []
    for r in results:
        if r.error is not None:
            rows += [("erreur", p) for p in r.error.problems]
    for r in results:
        ordered = sorted(r.warnings, key=lambda p: (p.line or 0, p.column or "", p.message))
        rows += [("avertissement", p) for p in ordered[:max_warnings]]
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


def unlisted_warnings(results: Sequence[FileResult], shown: int) -> dict[str, int]:
    """Per file with more than ``shown`` warnings, how many are not listed on screen."""
    return {r.file: len(r.warnings) - shown for r in results if len(r.warnings) > shown}


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
    "imported_by": "Importé par",
    "rows_loaded": "Lignes chargées",
    "rows_replaced": "Lignes remplacées",
    "referentiel_version": "Version du référentiel",
    "sha256": "SHA-256",
}


# « Importé par » of an import made by the command line, in local mode or before it was recorded.
NOBODY = "—"


@takes_perimeter
def history(store: Store, ref: Referentiel | None = None) -> pd.DataFrame:
    """The import log in French, newest first, with the full SHA-256 and who imported each
    file (« Importé par »: an e-mail, or « — » for the command line, local mode and imports
    older than the record) (``ref`` is unused: the signature ``ui.cached`` expects)."""
    log = pd.DataFrame(store.imports(), columns=["import_id", *HISTORY_COLUMNS])
    # Not in `Store.imports` (the command line's « imports » output keeps its columns).
    who = dict(store.execute("select import_id, imported_by from imports").fetchall())
    log["imported_by"] = log["import_id"].map(lambda i: who.get(i) or NOBODY)
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


@takes_perimeter
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
            # a lookup per flag (a float column of NaN when there are none: no fillna)
            "Établissement": flags["finess_et"].map(lambda f: names.get(f) or ""),
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
