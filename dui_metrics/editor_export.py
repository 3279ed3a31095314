"""The Éditeur's tables and its proof file, from the VA checks of an editor's client ESMS.

Owns what the Éditeur page shows and hands out beyond the shared VA helpers: the orders with
their ESMS counted by outcome (`order_outcomes`), the clients × criteria matrix
(`client_matrix`), and the file that proves each criterion (`proof_table`): per client ESMS
and criterion, the status as a word, the value, the VA window and the detail, beside the
order, the OG and the deployment date. Every number comes from `va.readiness_table` (no
second computation); these functions take that table and the establishments frame the
caller already holds (`indicators.esms_dimensions`), both of the caller's perimeter, so they
never read the store. No emoji in files: statuses and verdicts are `va` words.

Files: CSV as the dashboard's other downloads (``;``, UTF-8 with BOM, CRLF, decimal comma,
text cells neutralised against formulas) with dates ``JJ/MM/AAAA``; XLSX through
`spreadsheet.write_table` (FINESS as text, rates as fractions shown ``0,0 %``, counts as
numbers, dates as dates).
"""

from __future__ import annotations

import datetime as dt
import io
import math
from collections.abc import Iterator, Sequence

import pandas as pd
import pyarrow as pa

from dui_metrics import spreadsheet, va
from dui_metrics.spreadsheet import COUNT_OR_RATE, DATE, FINESS, TEXT, Column
from dui_metrics.text import normalize_key

# Outcomes from the most to the least urgent: how tables sort ESMS and how an order's outcome
# is read from its ESMS' (missing data first: nothing can be judged before the export).
URGENCY = (va.BLOCKED_MISSING, va.BLOCKED_ZERO, va.READY)
# Keys of `va.summary`, one per outcome: also the count columns of `order_outcomes`.
COUNT_KEYS = {va.READY: "pretes", va.BLOCKED_ZERO: "bloquees_zero",
              va.BLOCKED_MISSING: "bloquees_donnees"}  # fmt: skip


_NO_ORDER = "\x00sans bon de commande"  # the ESMS without one, grouped (never an order's name)


def order_outcomes(checks: pa.Table, esms: pd.DataFrame) -> pd.DataFrame:
    """Per order (``commande``; NULL for the ESMS without one, last) of the ESMS of ``checks``
    (a `va.readiness_table`): ``issue``, the order's outcome (ready when all its ESMS are,
    else blocked *faute de données* when one of them is, else *par un zéro*); ``og_nom``, its
    OGs' names (``finess_ej`` when unnamed; several joined by `` ; ``); ``nb_esms``; and its
    ESMS counted per outcome under the keys of `va.summary` (they add up to ``nb_esms``)."""
    outcomes = va.outcomes(checks)
    columns = ["commande", "issue", "og_nom", "nb_esms", *COUNT_KEYS.values()]
    if outcomes.empty:
        return pd.DataFrame(columns=columns)
    info = esms.set_index("finess_et").reindex(outcomes.index)
    frame = pd.DataFrame(
        {
            "commande": info["commande"].to_numpy(dtype=object),
            "og": info["og_nom"].fillna(info["finess_ej"]).to_numpy(dtype=object),
            "issue": outcomes.to_numpy(dtype=object),
        }
    )
    # Column-wise (one group per order: an editor of the national store has thousands, and
    # a Python loop over them took 0.7 s a run). The ESMS without an order form one group.
    key = frame["commande"].fillna(_NO_ORDER)
    counts = pd.crosstab(key, frame["issue"]).reindex(columns=list(COUNT_KEYS), fill_value=0)
    names = (
        frame.assign(key=key)
        .dropna(subset=["og"])
        .drop_duplicates(["key", "og"])
        .sort_values("og")
        .groupby("key", sort=False)["og"]
        .agg(" ; ".join)
    )
    # the most urgent outcome present (`URGENCY`), ready when all are
    worst = pd.Series(va.READY, index=counts.index)
    for outcome in reversed(URGENCY[:-1]):
        worst[counts[outcome].to_numpy() > 0] = outcome
    rows = pd.DataFrame(
        {
            "commande": [None if k == _NO_ORDER else k for k in counts.index],
            "issue": worst.to_numpy(dtype=object),
            "og_nom": names.reindex(counts.index).to_numpy(dtype=object),
            "nb_esms": counts.sum(axis=1).to_numpy(),
            **{key: counts[o].to_numpy() for o, key in COUNT_KEYS.items()},
        }
    )
    rows["og_nom"] = rows["og_nom"].where(rows["og_nom"].notna(), None)
    return rows[columns].sort_values("commande", na_position="last", ignore_index=True)


def client_matrix(checks: pa.Table, esms: pd.DataFrame) -> pd.DataFrame:
    """ESMS × criterion of ``checks`` (a `va.readiness_table`): ``issue`` (the ESMS's
    outcome), ``commande``, ``raison_sociale``, ``finess_et``, then one column per criterion
    in the référentiel's order holding its status code (``ok``, ``zero``, ``manquant``).
    The most urgent outcomes first (`URGENCY`), then by order and name."""
    frame = va.readiness_frame(checks)
    criteria = frame[frame["critere"] != va.VERDICT]
    if criteria.empty:
        return pd.DataFrame(columns=["issue", "commande", "raison_sociale", "finess_et"])
    order = list(dict.fromkeys(criteria["critere"]))
    wide = criteria.pivot(index="finess_et", columns="critere", values="statut")[order]
    outcomes = va.outcomes(checks)
    info = esms.set_index("finess_et")
    table = pd.DataFrame(
        {
            "issue": outcomes.reindex(wide.index),
            "commande": info["commande"].reindex(wide.index),
            "raison_sociale": info["raison_sociale"].reindex(wide.index),
        }
    ).join(wide)
    table = table.reset_index()[["issue", "commande", "raison_sociale", "finess_et", *order]]
    table["_rang"] = table["issue"].map({o: i for i, o in enumerate(URGENCY)})
    return (
        table.sort_values(["_rang", "commande", "raison_sociale", "finess_et"], na_position="last")
        .drop(columns="_rang")
        .reset_index(drop=True)
    )


# --- the proof file -------------------------------------------------------------------------
PROOF_COLUMNS = (
    Column("Bon de commande", TEXT, 18),
    Column("Organisme gestionnaire", TEXT, 32),
    Column("FINESS EJ", FINESS),
    Column("FINESS ET", FINESS),
    Column("Établissement", TEXT, 36),
    # A date; shown MM/AAAA: spreadsheet has no day format yet (the cell holds the day).
    Column("Date de déploiement", DATE, 20),
    Column("VA", TEXT, 26),
    Column("Critère", TEXT, 20),
    Column("Statut", TEXT, 10),
    Column("Valeur", COUNT_OR_RATE),
    Column("Fenêtre", TEXT, 17),
    Column("Détail", TEXT, 60),
)
PROOF_HEADERS = [c.header for c in PROOF_COLUMNS]


def proof_table(checks: pa.Table, esms: pd.DataFrame, window: va.Window) -> pd.DataFrame:
    """One row per ESMS of ``checks`` (a `va.readiness_table` over ``window``) and criterion
    (the verdict aside), under `PROOF_HEADERS`: the order, the OG (name and FINESS EJ), the
    ESMS (FINESS ET, name), its deployment date (a ``date``, None when unknown), its outcome
    in words (`va.OUTCOME_WORDS`), the criterion (`va.CRITERION_HEADERS`), its status in
    words (`va.STATUS_WORDS`), its value (an ``int`` for a count, a ``float`` fraction for a
    rate, None without one: deployment, missing data, a rate not computable), the window
    (``02/2025–04/2025``) and the check's detail. Sorted by order (none last), name, FINESS
    ET, then criterion in the référentiel's order."""
    keep = [c != va.VERDICT for c in checks.column("critere").to_pylist()]
    own = checks.filter(pa.array(keep, type=pa.bool_()))
    finess = own.column("finess_et").to_pylist()
    counts, rates = own.column("nombre").to_pylist(), own.column("taux").to_pylist()
    values = [rate if count is None else int(count) for count, rate in zip(counts, rates, strict=True)]  # fmt: skip
    info = esms.set_index("finess_et").reindex(finess)
    deployed = [None if pd.isna(d) else pd.Timestamp(d).date() for d in info["date_deploiement"]]
    outcomes = va.outcomes(checks).reindex(finess)
    table = pd.DataFrame(
        {
            "Bon de commande": info["commande"].to_numpy(dtype=object),
            "Organisme gestionnaire": info["og_nom"].to_numpy(dtype=object),
            "FINESS EJ": info["finess_ej"].to_numpy(dtype=object),
            "FINESS ET": pd.array(finess, dtype=object),
            "Établissement": info["raison_sociale"].to_numpy(dtype=object),
            "Date de déploiement": pd.array(deployed, dtype=object),
            "VA": outcomes.map(va.OUTCOME_WORDS).to_numpy(dtype=object),
            "Critère": [va.CRITERION_HEADERS.get(c, c) for c in own.column("critere").to_pylist()],
            "Statut": [va.STATUS_WORDS.get(s, s) for s in own.column("statut").to_pylist()],
            "Valeur": pd.array(values, dtype=object),
            "Fenêtre": window.text,
            "Détail": own.column("detail").to_pylist(),
        },
        columns=PROOF_HEADERS,
    )
    # The checks come sorted by FINESS ET, criteria in order: a stable sort keeps the latter.
    return table.sort_values(
        ["Bon de commande", "Établissement", "FINESS ET"], na_position="last", kind="stable"
    ).reset_index(drop=True)


def _rows(table: pd.DataFrame) -> Iterator[list]:
    """``table``'s rows as Python values, None for a missing one (NaN, NaT, pandas' NA)."""
    for row in table.itertuples(index=False, name=None):
        yield [None if _missing(v) else v for v in row]


def _missing(value: object) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def _csv_cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool | int):
        return str(int(value))
    if isinstance(value, float):
        return repr(value).replace(".", ",")  # a fraction: 0.75 → 0,75
    if isinstance(value, dt.date):
        return value.strftime("%d/%m/%Y")
    return str(value)


def to_csv(table: pd.DataFrame) -> bytes:
    """``table`` (`proof_table`) as every CSV download (`spreadsheet.to_csv`: ``;``, UTF-8
    with BOM, CRLF, text neutralised); each cell written first as the proof file wants it:
    dates ``JJ/MM/AAAA``, a rate as its fraction with a decimal comma (``0,75``)."""
    cells = pd.DataFrame(
        [[_csv_cell(v) for v in row] for row in _rows(table)],
        columns=table.columns,
        dtype=object,
    )
    return spreadsheet.to_csv(cells)


def to_xlsx(table: pd.DataFrame, title: str = "Preuves") -> bytes:
    """``table`` (`proof_table`) as a one-sheet workbook (`spreadsheet.write_table` with
    `PROOF_COLUMNS`)."""
    if list(table.columns) != PROOF_HEADERS:
        raise ValueError(f"colonnes attendues : {', '.join(PROOF_HEADERS)}")
    buffer = io.BytesIO()
    spreadsheet.write_table(buffer, PROOF_COLUMNS, _rows(table), title=title)
    return buffer.getvalue()


def _slug(text: str | None, fallback: str) -> str:
    """``text`` fit for a file name: ASCII letters and digits, words joined by ``-``."""
    return normalize_key(text or "").replace("_", "-")[:60] or fallback


def file_stem(editeur: str, commande: str | None, au: dt.date, kind: str = "preuves") -> str:
    """``preuves_editeur_medisoc_bc-2025-0007_2026-10``: the file's ``kind``, the editor, the
    order (else ``toutes-commandes``) and the VA month, without accents, spaces or slashes."""
    order = _slug(commande, "commande") if commande else "toutes-commandes"
    return f"{_slug(kind, 'fichier')}_editeur_{_slug(editeur, 'editeur')}_{order}_{au:%Y-%m}"


def clients(esms: pd.DataFrame, editeur: str, commande: str | None = None) -> pd.DataFrame:
    """The ESMS of ``esms`` served by ``editeur`` (and of the order ``commande`` when given)."""
    chosen = esms["editeur"].eq(editeur)
    if commande is not None:
        chosen &= esms["commande"].eq(commande)
    return esms[chosen.fillna(False).to_numpy(dtype=bool)]


def orders_of(esms: pd.DataFrame, editeur: str) -> Sequence[str]:
    """The orders of ``editeur``'s client ESMS, sorted."""
    return sorted(clients(esms, editeur)["commande"].dropna().unique())
