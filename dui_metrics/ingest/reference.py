"""Établissements reference files: cells → checked rows of ``establishments``.

Reference files are small (one row per ESMS), so rows are checked one by one in Python,
which keeps the French messages simple to read and to change.
"""

from __future__ import annotations

import datetime as dt
import functools

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dui_metrics import finess
from dui_metrics.errors import ExportError, Problem
from dui_metrics.ingest.columns import REFERENCE_COLUMNS, Layout
from dui_metrics.ingest.readers import RawTable
from dui_metrics.ingest.usage import parse_month
from dui_metrics.store import Store
from dui_metrics.text import (
    EMAIL_PATTERN,
    NIR_PATTERN,
    clean_name,
    has_bidi_controls,
    has_controls,
    normalize_key,
    personal_value,
)

# Départements as the FINESS extract writes them overseas.
_FINESS_OVERSEAS = {"9A": "971", "9B": "972", "9C": "973", "9D": "974", "9F": "976"}


# Cells worth a closer look, found in a whole column at once by RE2 (a national reference has
# 40,000 rows): a NIR or an e-mail address (``text.personal_value``: the file is refused and
# the value never written in a message), a control character (``text.clean_name``; the
# same characters, in RE2's notation).
_SUSPECT_RE2 = (
    rf"(?:^|[^0-9]){NIR_PATTERN}(?:[^0-9]|$)|{EMAIL_PATTERN}"
    r"|[\x00-\x1f\x7f-\x9f\x{2028}\x{2029}\x{61c}\x{200e}\x{200f}\x{202a}-\x{202e}"
    r"\x{2066}-\x{2069}]"
)
PERSONAL_TAIL = (
    " : dui-metrics ne garde aucune donnée identifiante ; retirez-la du fichier (la valeur "
    "n'est pas reprise ici)"
)


def _screen(
    raw: RawTable,
    cols: dict[str, int],
    data: dict[str, list],
    header: dict[str, str],
    lines: list[int],
) -> tuple[list[Problem], dict[int, list[tuple[str, str]]]]:
    """Names made fit for one line of a screen (``text.clean_name``, in ``data``), with one
    warning per kind of character removed (where the first one was, how many values); and
    the cells that look like personal data: row index → (column, what it looks like)."""
    removed: dict[str, list] = {"bidi": [], "control": []}
    personal: dict[int, list[tuple[str, str]]] = {}
    for name, pos in cols.items():
        hits = pc.match_substring_regex(raw.column(pos), _SUSPECT_RE2).fill_null(False)
        if not pc.any(hits).as_py():
            continue  # the usual case: one pass of RE2 over the column
        values = data[name]
        for i in np.flatnonzero(hits.to_numpy()).tolist():
            value = values[i]
            bidi, control = has_bidi_controls(value), has_controls(value)
            if bidi:
                removed["bidi"].append((lines[i], pos, header[name]))
            if control:
                removed["control"].append((lines[i], pos, header[name]))
            if bidi or control:
                value = values[i] = clean_name(value) or None
            looks = personal_value(value) if value is not None else None
            if looks:
                personal.setdefault(i, []).append((name, looks))
    what = {
        "bidi": "caractères de contrôle de direction du texte retirés (ils peuvent inverser "
        "l'affichage d'un nom ou d'un numéro)",
        "control": "retours à la ligne ou caractères de contrôle remplacés par une espace",
    }
    warnings = []
    for kind, places in removed.items():
        if places:
            line, _, column = min(places)
            n = len(places)
            many = f"{n} valeurs concernées" if n > 1 else "1 valeur concernée"
            warnings.append(
                Problem(
                    raw.file,
                    line,
                    column,
                    f"{what[kind]} : {many} dans le fichier, la première ici",
                )
            )
    return warnings, personal


# The three parsers below are kept per distinct text: a national reference repeats a few
# hundred dates and a hundred départements over 40,000 rows (strptime alone cost 0.4 s).
@functools.lru_cache(maxsize=4096)
def parse_date(text: str) -> dt.date | None:
    """A date written JJ/MM/AAAA or AAAA-MM-JJ; a month alone means its first day."""
    text = text.strip()
    for fmt in ("%d/%m/%Y", "%Y-%m-%d"):
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            pass
    return parse_month(text)


@functools.lru_cache(maxsize=4096)
def _departement(text: str) -> str | None:
    key = text.strip().upper()
    key = key.zfill(2) if key.isdigit() else key
    key = _FINESS_OVERSEAS.get(key, key)
    return key if finess.departement_name(key) else None


@functools.lru_cache(maxsize=4096)
def _region(text: str) -> str | None:
    key = text.strip()
    if key.isdigit() and finess.region_name(key):
        return key.zfill(2)
    wanted = normalize_key(key)
    for code, name in finess.regions().items():
        if normalize_key(name) == wanted:
            return code
    return None


def check(raw: RawTable, layout: Layout) -> tuple[list[dict], list[Problem]]:
    """Typed rows of a reference file, or ``ExportError`` with every problem found.

    Returns (rows, warnings).
    """
    cols = layout.columns
    header = {name: raw.headers[pos] for name, pos in cols.items()}
    data = {name: raw.column(pos).to_pylist() for name, pos in cols.items()}
    lines = raw.table.column("_line").to_pylist()
    problems: list[Problem] = []
    warnings, flagged = _screen(raw, cols, data, header, lines)
    rows: dict[str, dict] = {}
    first_line: dict[str, int] = {}

    def cell(name: str, i: int) -> str | None:
        return data[name][i] if name in data else None

    for i, line in enumerate(lines):

        def bad(name: str, message: str, line: int = line) -> None:
            problems.append(Problem(raw.file, line, header[name], message))

        row: dict = {name: cell(name, i) for name in REFERENCE_COLUMNS}
        personal = flagged.get(i, ())
        for name, looks in personal:
            bad(name, looks + PERSONAL_TAIL)
        if personal:
            continue  # the row is checked no further: another message could show the value
        for name in ("finess_et", "finess_ej"):
            value = row[name]
            if value is None:
                bad(name, f"{name} manquant")
                continue
            value = value.upper()
            row[name] = value
            if not finess.is_valid_finess(value):
                bad(name, finess.invalid_message(value))
            elif finess.luhn_ok(value) is False:
                warnings.append(
                    Problem(
                        raw.file,
                        line,
                        header[name],
                        f"FINESS {value} : clé de contrôle (Luhn) incorrecte, à vérifier",
                    )
                )
        if row["raison_sociale"] is None:
            bad("raison_sociale", "raison sociale manquante")
        if row["categorie"] is not None:
            code = row["categorie"]
            code = code.zfill(3) if code.isdigit() else code
            if not (len(code) == 3 and code.isdigit()):
                bad(
                    "categorie",
                    f"catégorie invalide « {row['categorie']} » : code FINESS à 3 chiffres attendu",
                )
            elif finess.category_label(code) is None:
                warnings.append(
                    Problem(
                        raw.file,
                        line,
                        header["categorie"],
                        f"catégorie {code} absente de la nomenclature FINESS",
                    )
                )
            row["categorie"] = code
        if row["departement"] is not None:
            code = _departement(row["departement"])
            if code is None:
                bad("departement", f"département inconnu « {row['departement']} »")
            row["departement"] = code
        elif row["finess_et"] and finess.is_valid_finess(row["finess_et"]):
            row["departement"] = finess.departement_of_finess(row["finess_et"])
        if row["region"] is not None:
            code = _region(row["region"])
            if code is None:
                bad("region", f"région inconnue « {row['region']} » (code INSEE ou nom attendu)")
            row["region"] = code
        elif row["departement"]:
            region = finess.region_of_departement(row["departement"])
            row["region"] = region[0] if region else None
        if row["date_deploiement"] is not None:
            date = parse_date(row["date_deploiement"])
            if date is None:
                bad(
                    "date_deploiement",
                    f"date illisible « {row['date_deploiement']} » : JJ/MM/AAAA ou AAAA-MM-JJ attendu",
                )
            row["date_deploiement"] = date
        row["line"] = line
        key = row["finess_et"]
        if key is None:
            continue
        if key in rows:
            earlier = {k: v for k, v in rows[key].items() if k != "line"}
            now = {k: v for k, v in row.items() if k != "line"}
            if earlier != now:
                bad(
                    "finess_et",
                    f"doublon : {key} figure déjà à la ligne {first_line[key]} avec d'autres valeurs",
                )
            continue
        rows[key] = row
        first_line[key] = line
    if problems:
        raise ExportError(problems)
    return list(rows.values()), warnings


def write(store: Store, rows: list[dict], import_id: int) -> tuple[int, int]:
    """Replace the reference rows of these ESMS (inside the caller's transaction)."""
    table = pa.Table.from_pylist(
        [{**{c: r[c] for c in REFERENCE_COLUMNS}, "line": r["line"]} for r in rows],
        schema=pa.schema(
            [
                (c, pa.date32() if c == "date_deploiement" else pa.string())
                for c in REFERENCE_COLUMNS
            ]
            + [("line", pa.int64())]
        ),
    )
    store.register("incoming_reference", table)
    replaced = store.scalar(
        "select count(*) from establishments e join incoming_reference i using (finess_et)"
    )
    store.execute(
        "delete from establishments using incoming_reference i "
        "where establishments.finess_et = i.finess_et"
    )
    columns = ", ".join(REFERENCE_COLUMNS)
    store.execute(
        f"insert into establishments ({columns}, import_id, line) "
        f"select {columns}, ?, line from incoming_reference",
        [import_id],
    )
    return len(rows), replaced
