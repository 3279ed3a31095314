"""Demo exports: a small, fictional, deterministic Ségur DUI data set written as real files.

What the demo holds (all names and FINESS numbers are invented; every FINESS passes Luhn):
- 4 organismes gestionnaires (OG), 40 ESMS in 7 départements of 5 régions (01/69 Auvergne-Rhône-
  Alpes, 06/13 Provence-Alpes-Côte d'Azur, 33 Nouvelle-Aquitaine, 59 Hauts-de-France,
  35 Bretagne), FINESS categories EHPAD, IME, SESSAD, SSIAD, MAS, ESAT, EAM, service à domicile.
- 2 editors: "Logidom" (software "Logidom DUI 4") and "Médisoc" ("Médisoc ESMS"); one order
  (bon de commande) per OG and editor; "Fondation Saint-Roch" uses both editors (2 orders).
- 24 months of the 8 base counts, 2024-11 to 2026-10, starting with each ESMS's deployment
  month: active records ramp up over 6-9 months, PP more slowly, DMP starts after 1-3 months;
  summer dips in August for some ESMS, a software incident (2026-02) for one, a one-month gap
  (no rows at all in 2025-09) for one, and one ESMS whose 2026-10 export has not arrived yet.
- VA blockers for the window 2026-08..2026-10, see `DEMO_BLOCKERS` (finess_et -> reason):
  'mss' MSSanté never used (sent = 0 every month), 'donnees_recentes' no data since 08/2026,
  'pp' no projet personnalisé (0 every month), 'dmp' DMP zero in the window after earlier
  deposits, 'aucune_donnee' in the reference file only (deployed 2026-10, no export yet).
  "CCAS de Roubaix" has every ESMS ready; every ESMS not in `DEMO_BLOCKERS` is ready.

Files, in ingestion order (`DEMO_FILES`), mixing formats as real editors do:
- etablissements.xlsx: reference, French headers, FINESS as text except one FINESS ET of
  département 01 stored as a number (leading zero dropped, as spreadsheets do).
- logidom_usages_AAAA.csv (2024, 2025, 2026): long form, `;`, Windows-1252, CRLF, `MM/AAAA`,
  indicator names as the French labels of the référentiel.
- medisoc_export_2024-11_2025-06.csv: wide form, tab, UTF-8 with BOM, `AAAA-MM`, French headers;
  "Messages MSSanté reçus" is empty (missing, not zero) before 2025-03 (older software version).
- medisoc_export_2025-07_2025-12.csv: wide form, `;`, UTF-8, `JJ/MM/AAAA`, code headers.
- medisoc_export_2026.parquet: wide form, `periode` date, counts int64, `finess_et` string.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
from openpyxl.packaging.core import DocumentProperties
from openpyxl.writer.excel import ExcelWriter

from dui_metrics import referentiel
from dui_metrics.finess import luhn_check_digit, region_of_departement

SEED = 20241101
# Fixed timestamp for workbook properties and zip entries, so the bytes never depend on "now".
_FIXED_TIME = dt.datetime(2026, 11, 2, 9, 0, 0)

DEMO_MONTHS: tuple[dt.date, ...] = tuple(
    dt.date(2024 + (10 + i) // 12, (10 + i) % 12 + 1, 1) for i in range(24)
)
DEMO_VA_WINDOW: tuple[dt.date, ...] = DEMO_MONTHS[-3:]
DEMO_FILES: tuple[str, ...] = (
    "etablissements.xlsx",
    "logidom_usages_2024.csv",
    "medisoc_export_2024-11_2025-06.csv",
    "logidom_usages_2025.csv",
    "medisoc_export_2025-07_2025-12.csv",
    "logidom_usages_2026.csv",
    "medisoc_export_2026.parquet",
)
BASE_COUNTS: tuple[str, ...] = (
    "personnes_accompagnees",
    "dossiers_actifs",
    "dossiers_actifs_avec_pp",
    "dossiers_actifs_avec_evenement",
    "ins_qualifiees",
    "dmp_documents_envoyes",
    "mss_messages_envoyes",
    "mss_messages_recus",
)
BLOCKER_REASONS: tuple[str, ...] = ("mss", "donnees_recentes", "pp", "dmp", "aucune_donnee")

_EDITORS = {"Logidom": "Logidom DUI 4", "Médisoc": "Médisoc ESMS"}
# OG key -> (og_nom, département of the head office)
_OGS = {
    "TIL": ("Association Les Tilleuls", "69"),
    "ROC": ("Fondation Saint-Roch", "13"),
    "RBX": ("CCAS de Roubaix", "59"),
    "KER": ("Association Ker Avel", "35"),
}
_ORDERS = {
    ("TIL", "Logidom"): "BC-2024-0012",
    ("ROC", "Logidom"): "BC-2024-0031",
    ("ROC", "Médisoc"): "BC-2025-0007",
    ("RBX", "Médisoc"): "BC-2024-0045",
    ("KER", "Médisoc"): "BC-2025-0019",
}
# OG, editor, département, category, raison sociale, deployment date, scenario.
# Scenarios: "" nominal, a blocker reason, "trou" (no rows in 2025-09), "incident" (2026-02 drop),
# "retard" (2026-10 export not received; still ready: the window has 2026-08 and 2026-09).
_ESMS_ROWS: tuple[tuple[str, str, str, str, str, str, str], ...] = (
    ("TIL", "Logidom", "69", "500", "EHPAD Les Tilleuls de Villeurbanne", "2024-11-18", ""),
    ("TIL", "Logidom", "69", "500", "EHPAD Le Clos Fleuri", "2024-11-25", "mss"),
    ("TIL", "Logidom", "69", "183", "IME Les Coquelicots", "2025-01-13", ""),
    ("TIL", "Logidom", "69", "182", "SESSAD Les Coquelicots", "2025-01-13", ""),
    ("TIL", "Logidom", "69", "354", "SSIAD de Vaulx-en-Velin", "2025-02-03", "trou"),
    ("TIL", "Logidom", "69", "246", "ESAT Les Ateliers du Rhône", "2025-03-10", "dmp"),
    ("TIL", "Logidom", "69", "255", "MAS Le Grand Chêne", "2025-04-07", ""),
    ("TIL", "Logidom", "01", "500", "EHPAD La Roseraie de Bourg", "2025-05-19", ""),
    ("TIL", "Logidom", "01", "354", "SSIAD du Pays de Gex", "2025-06-02", "incident"),
    ("TIL", "Logidom", "69", "448", "EAM Les Monts d'Or", "2025-09-15", ""),
    ("ROC", "Logidom", "33", "500", "EHPAD Saint-Roch de Mérignac", "2024-12-02", ""),
    ("ROC", "Logidom", "33", "500", "EHPAD Les Vignes", "2025-02-17", ""),
    ("ROC", "Logidom", "33", "183", "IME Saint-Roch Bordeaux", "2025-03-24", ""),
    ("ROC", "Logidom", "33", "209", "Service autonomie à domicile de Pessac", "2025-05-05", ""),
    ("ROC", "Logidom", "33", "246", "ESAT Saint-Roch Les Jalles", "2025-10-06", "retard"),
    ("ROC", "Médisoc", "13", "500", "EHPAD Saint-Roch Marseille", "2025-01-20", ""),
    ("ROC", "Médisoc", "13", "500", "EHPAD Les Calanques", "2025-02-10", ""),
    ("ROC", "Médisoc", "13", "255", "MAS Les Oliviers", "2025-03-03", "donnees_recentes"),
    ("ROC", "Médisoc", "13", "183", "IME La Bastide", "2025-04-14", ""),
    ("ROC", "Médisoc", "13", "182", "SESSAD La Bastide", "2025-04-14", ""),
    ("ROC", "Médisoc", "06", "500", "EHPAD Le Mimosa", "2025-06-16", ""),
    ("ROC", "Médisoc", "06", "448", "EAM Les Pins", "2025-09-01", ""),
    ("ROC", "Médisoc", "13", "354", "SSIAD de l'Étang de Berre", "2025-11-17", ""),
    ("ROC", "Médisoc", "06", "246", "ESAT de la Siagne", "2026-10-05", "aucune_donnee"),
    ("RBX", "Médisoc", "59", "500", "EHPAD Les Hortensias", "2024-11-12", ""),
    ("RBX", "Médisoc", "59", "500", "EHPAD du Parc Barbieux", "2025-01-06", ""),
    ("RBX", "Médisoc", "59", "354", "SSIAD du CCAS de Roubaix", "2025-03-17", ""),
    ("RBX", "Médisoc", "59", "209", "Service autonomie à domicile de Roubaix", "2025-05-26", ""),
    ("RBX", "Médisoc", "59", "500", "EHPAD Le Beffroi", "2025-12-08", ""),
    ("RBX", "Médisoc", "59", "500", "EHPAD Les Lilas", "2026-02-09", ""),
    ("KER", "Médisoc", "35", "500", "EHPAD Ker Avel Rennes", "2024-11-04", ""),
    ("KER", "Médisoc", "35", "500", "EHPAD Les Genêts", "2025-01-27", ""),
    ("KER", "Médisoc", "35", "183", "IME Ker Avel", "2025-02-24", ""),
    ("KER", "Médisoc", "35", "182", "SESSAD Ker Avel", "2025-02-24", ""),
    ("KER", "Médisoc", "35", "354", "SSIAD de Vitré", "2025-04-22", "pp"),
    ("KER", "Médisoc", "35", "255", "MAS Les Ajoncs", "2025-05-12", ""),
    ("KER", "Médisoc", "35", "246", "ESAT Ker Avel Cesson", "2025-07-07", ""),
    ("KER", "Médisoc", "35", "448", "EAM Les Goélands", "2025-08-25", ""),
    ("KER", "Médisoc", "35", "500", "EHPAD Les Bruyères de Fougères", "2025-10-13", ""),
    ("KER", "Médisoc", "35", "209", "Service autonomie à domicile de Redon", "2025-12-01", ""),
)
# Capacity range (persons accompanied) by FINESS category.
CAPACITY = {
    "500": (60, 110),
    "183": (40, 80),
    "182": (25, 60),
    "354": (30, 60),
    "255": (30, 60),
    "246": (50, 120),
    "448": (25, 50),
    "209": (30, 70),
}
_GAP_MONTH = dt.date(2025, 9, 1)
_INCIDENT_MONTH = dt.date(2026, 2, 1)
_MEDISOC_RECUS_FROM = dt.date(2025, 3, 1)

Counts = dict[str, int | None]
Usage = dict[str, dict[dt.date, Counts]]


@dataclass(frozen=True)
class DemoEsms:
    """One ESMS of the reference file, with the scenario driving its usage."""

    finess_et: str
    finess_ej: str
    raison_sociale: str
    og_nom: str
    categorie: str
    departement: str
    region: str
    editeur: str
    logiciel: str
    commande: str
    date_deploiement: dt.date
    scenario: str


@dataclass(frozen=True)
class _Profile:
    capacite: int
    rampe: int
    rampe_pp: int
    cible_actifs: float
    cible_pp: float
    cible_ins: float
    evenement: tuple[float, float]
    dmp_debut: int
    dmp_par_dossier: float
    mss_par_dossier: float
    creux_ete: bool


def _new_finess(rng: random.Random, departement: str, taken: set[str]) -> str:
    while True:
        first8 = f"{departement}{rng.randrange(10**6):06d}"
        finess = first8 + luhn_check_digit(first8)
        if finess not in taken:
            taken.add(finess)
            return finess


def _build_esms() -> tuple[DemoEsms, ...]:
    rng = random.Random(SEED)
    taken: set[str] = set()
    ej = {key: _new_finess(rng, dep, taken) for key, (_, dep) in _OGS.items()}
    return tuple(
        DemoEsms(
            finess_et=_new_finess(rng, dep, taken),
            finess_ej=ej[og],
            raison_sociale=name,
            og_nom=_OGS[og][0],
            categorie=cat,
            departement=dep,
            region=region_of_departement(dep)[0],
            editeur=editor,
            logiciel=_EDITORS[editor],
            commande=_ORDERS[(og, editor)],
            date_deploiement=dt.date.fromisoformat(date),
            scenario=scenario,
        )
        for og, editor, dep, cat, name, date, scenario in _ESMS_ROWS
    )


DEMO_ESMS: tuple[DemoEsms, ...] = _build_esms()
DEMO_BLOCKERS: dict[str, str] = {
    e.finess_et: e.scenario for e in DEMO_ESMS if e.scenario in BLOCKER_REASONS
}
# The FINESS ET written as a number in etablissements.xlsx (leading zero dropped).
DEMO_NUMERIC_FINESS_ET: str = next(
    e.finess_et for e in DEMO_ESMS if e.raison_sociale == "EHPAD La Roseraie de Bourg"
)
# (finess_et, month) of the one-month gap: no rows at all that month.
DEMO_GAP: tuple[str, dt.date] = next(
    (e.finess_et, _GAP_MONTH) for e in DEMO_ESMS if e.scenario == "trou"
)


def write_demo_exports(folder: Path) -> list[Path]:
    """(Re)write the demo files into `folder`; return their paths in ingestion order.

    Only the files named in `DEMO_FILES` are deleted and rewritten; other files stay.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name in DEMO_FILES:
        (folder / name).unlink(missing_ok=True)
    usage, labels = _usage(), _labels()
    _write_reference(folder / "etablissements.xlsx")
    for year in (2024, 2025, 2026):
        rows = _rows(usage, "Logidom", dt.date(year, 1, 1), dt.date(year, 12, 1))
        _write_long_csv(folder / f"logidom_usages_{year}.csv", rows, labels)
    _write_wide_csv(
        folder / "medisoc_export_2024-11_2025-06.csv",
        _rows(usage, "Médisoc", dt.date(2024, 11, 1), dt.date(2025, 6, 1)),
        labels,
        sep="\t",
        period_format="%Y-%m",
        encoding="utf-8-sig",
    )
    _write_wide_csv(
        folder / "medisoc_export_2025-07_2025-12.csv",
        _rows(usage, "Médisoc", dt.date(2025, 7, 1), dt.date(2025, 12, 1)),
        None,
        sep=";",
        period_format="%d/%m/%Y",
        encoding="utf-8",
    )
    _write_parquet(
        folder / "medisoc_export_2026.parquet",
        _rows(usage, "Médisoc", dt.date(2026, 1, 1), dt.date(2026, 12, 1)),
    )
    return [folder / name for name in DEMO_FILES]


def _labels() -> dict[str, str]:
    """French labels of the base counts, from the packaged référentiel."""
    return {i.code: i.label for i in referentiel.default().counts}


# --- usage generation -------------------------------------------------------------------------


def _usage() -> Usage:
    """Monthly base counts per finess_et; a missing month has no key, a missing count is None."""
    rng = random.Random(SEED + 1)
    return {e.finess_et: _esms_usage(rng, e) for e in DEMO_ESMS}


def _esms_usage(rng: random.Random, esms: DemoEsms) -> dict[dt.date, Counts]:
    profile = _profile(rng, esms.categorie)
    start = esms.date_deploiement.replace(day=1)
    months = [m for m in DEMO_MONTHS if m >= start]
    usage = {}
    for k, month in enumerate(months):
        counts = _apply_scenario(_month_counts(rng, profile, k, month), esms.scenario, month)
        if esms.editeur == "Médisoc" and month < _MEDISOC_RECUS_FROM:
            counts["mss_messages_recus"] = None
        if _has_rows(esms.scenario, month):
            usage[month] = counts
    return usage


def _profile(rng: random.Random, categorie: str) -> _Profile:
    rampe = rng.randint(6, 9)
    low = rng.uniform(0.6, 0.75)
    return _Profile(
        capacite=rng.randint(*CAPACITY[categorie]),
        rampe=rampe,
        rampe_pp=rampe + rng.randint(3, 6),
        cible_actifs=rng.uniform(0.9, 0.97),
        cible_pp=rng.uniform(0.5, 0.9),
        cible_ins=rng.uniform(0.7, 0.98),
        evenement=(low, min(0.95, low + 0.2)),
        dmp_debut=rng.randint(1, 3),
        dmp_par_dossier=rng.uniform(0.4, 3.0),
        mss_par_dossier=rng.uniform(0.1, 0.8),
        creux_ete=rng.random() < 0.35,
    )


def _part(total: int, rate: float) -> int:
    """round(total * rate) kept within [0, total]."""
    return min(total, max(0, round(total * rate)))


def _month_counts(rng: random.Random, p: _Profile, k: int, month: dt.date) -> Counts:
    """Counts of the k-th month after deployment (k = 0 is the deployment month)."""
    progress = min(1.0, (k + 1) / p.rampe)
    personnes = max(1, p.capacite + rng.randint(-3, 3))
    actifs = _part(personnes, 0.2 + (p.cible_actifs - 0.2) * progress + rng.uniform(-0.02, 0.02))
    dmp_progress = min(1.0, (k - p.dmp_debut + 1) / 4)
    dmp = 0 if k < p.dmp_debut else max(1, round(actifs * p.dmp_par_dossier * dmp_progress))
    counts: Counts = {
        "personnes_accompagnees": personnes,
        "dossiers_actifs": actifs,
        "dossiers_actifs_avec_pp": _part(actifs, p.cible_pp * min(1.0, (k + 1) / p.rampe_pp)),
        "dossiers_actifs_avec_evenement": _part(actifs, rng.uniform(*p.evenement)),
        "ins_qualifiees": _part(actifs, 0.1 + (p.cible_ins - 0.1) * progress),
        "dmp_documents_envoyes": round(dmp * rng.uniform(0.8, 1.2)),
        "mss_messages_envoyes": 0 if k < 1 else max(1, round(actifs * p.mss_par_dossier)),
        "mss_messages_recus": max(1, round(actifs * p.mss_par_dossier * rng.uniform(1.1, 1.8))),
    }
    if p.creux_ete and month.month == 8:
        _scale(counts, 0.5, "dmp_documents_envoyes", "mss_messages_envoyes", "mss_messages_recus")
        _scale(counts, 0.75, "dossiers_actifs_avec_evenement")
    return counts


def _scale(counts: Counts, factor: float, *codes: str) -> None:
    for code in codes:
        value = counts[code]
        counts[code] = None if value is None else round(value * factor)


def _apply_scenario(counts: Counts, scenario: str, month: dt.date) -> Counts:
    if scenario == "mss":
        counts["mss_messages_envoyes"] = 0
    elif scenario == "pp":
        counts["dossiers_actifs_avec_pp"] = 0
    elif scenario == "dmp" and month >= DEMO_VA_WINDOW[0]:
        counts["dmp_documents_envoyes"] = 0
    elif scenario == "incident" and month == _INCIDENT_MONTH:
        counts["dmp_documents_envoyes"] = 0
        _scale(counts, 0.3, "dossiers_actifs_avec_evenement")
        _scale(counts, 0.2, "mss_messages_envoyes", "mss_messages_recus")
    return counts


def _has_rows(scenario: str, month: dt.date) -> bool:
    """Whether the editor exported this month (scenarios with missing months)."""
    if scenario == "aucune_donnee":
        return False
    if scenario == "donnees_recentes":
        return month < DEMO_VA_WINDOW[0]
    if scenario == "retard":
        return month < DEMO_VA_WINDOW[-1]
    return not (scenario == "trou" and month == _GAP_MONTH)


# --- writers ----------------------------------------------------------------------------------

Row = tuple[str, dt.date, Counts]


def _rows(usage: Usage, editor: str, first: dt.date, last: dt.date) -> list[Row]:
    """Rows of one editor's ESMS for months first..last, ordered by month then FINESS."""
    finess = sorted(e.finess_et for e in DEMO_ESMS if e.editeur == editor)
    rows = [
        (f, month, counts)
        for f in finess
        for month, counts in usage[f].items()
        if first <= month <= last
    ]
    return sorted(rows, key=lambda r: (r[1], r[0]))


def _write_text(path: Path, records: Iterable[list[str]], sep: str, eol: str, enc: str) -> None:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=sep, lineterminator=eol).writerows(records)
    path.write_bytes(buffer.getvalue().encode(enc))


def _write_long_csv(path: Path, rows: list[Row], labels: dict[str, str]) -> None:
    """Logidom: long form, `;`, Windows-1252, CRLF, periods MM/AAAA, French indicator names."""
    records = [["FINESS ET", "Période", "Indicateur", "Valeur"]]
    for finess, month, counts in rows:
        records += [
            [finess, f"{month:%m/%Y}", labels[code], str(counts[code])]
            for code in BASE_COUNTS
            if counts[code] is not None
        ]
    _write_text(path, records, ";", "\r\n", "cp1252")


def _write_wide_csv(
    path: Path,
    rows: list[Row],
    labels: dict[str, str] | None,
    *,
    sep: str,
    period_format: str,
    encoding: str,
) -> None:
    """Médisoc: wide form, one column per base count; a missing count is an empty cell."""
    if labels:
        header = ["FINESS ET", "Période", *(labels[c] for c in BASE_COUNTS)]
    else:
        header = ["finess_et", "periode", *BASE_COUNTS]
    records = [header] + [
        [finess, month.strftime(period_format), *_cells(counts)] for finess, month, counts in rows
    ]
    _write_text(path, records, sep, "\n", encoding)


def _cells(counts: Counts) -> list[str]:
    return ["" if counts[c] is None else str(counts[c]) for c in BASE_COUNTS]


def _write_parquet(path: Path, rows: list[Row]) -> None:
    """Médisoc latest months: `periode` as date, counts as int64, finess_et as string."""
    columns = {
        "finess_et": pa.array([r[0] for r in rows], pa.string()),
        "periode": pa.array([r[1] for r in rows], pa.date32()),
    }
    for code in BASE_COUNTS:
        columns[code] = pa.array([r[2][code] for r in rows], pa.int64())
    pq.write_table(pa.table(columns), path)


REFERENCE_HEADER = (  # the usual French headers of an établissements file
    "FINESS ET",
    "FINESS EJ",
    "Raison sociale",
    "Organisme gestionnaire",
    "Catégorie",
    "Département",
    "Région",
    "Éditeur",
    "Logiciel",
    "Bon de commande",
    "Date de déploiement",
)


def _reference_row(e: DemoEsms) -> list[object]:
    # As spreadsheets do, one FINESS with a leading zero became a number; the CCAS left the
    # optional région empty.
    finess_et: object = int(e.finess_et) if e.finess_et == DEMO_NUMERIC_FINESS_ET else e.finess_et
    region = None if e.og_nom.startswith("CCAS") else e.region
    return [
        finess_et,
        e.finess_ej,
        e.raison_sociale,
        e.og_nom,
        e.categorie,
        e.departement,
        region,
        e.editeur,
        e.logiciel,
        e.commande,
        e.date_deploiement,
    ]


def _write_reference(path: Path) -> None:
    """Reference workbook with fixed properties and zip timestamps (byte-identical reruns)."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Etablissements"
    ws.append(list(REFERENCE_HEADER))
    for esms in DEMO_ESMS:
        ws.append(_reference_row(esms))
    for cell in ws["K"][1:]:
        cell.number_format = "DD/MM/YYYY"
    widths = (12, 12, 40, 26, 10, 12, 8, 10, 14, 14, 18)
    for column, width in zip("ABCDEFGHIJK", widths, strict=True):
        ws.column_dimensions[column].width = width
    wb.properties = DocumentProperties(
        creator="dui-metrics (démo)", created=_FIXED_TIME, modified=_FIXED_TIME
    )
    # ExcelWriter rather than wb.save(): save() stamps `modified` with the current time.
    buffer = io.BytesIO()
    ExcelWriter(wb, zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED)).save()
    path.write_bytes(_fixed_zip_times(buffer.getvalue()))


def _fixed_zip_times(data: bytes) -> bytes:
    """Rewrite a zip archive with a fixed date_time on every entry."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=_FIXED_TIME.timetuple()[:6])
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = info.external_attr
            dst.writestr(entry, src.read(info.filename))
    return out.getvalue()
