"""The evidence pack's workbook (openpyxl): a summary sheet, one sheet per VA criterion, the
source files and the definitions.

Numbers are numbers (rates as fractions shown ``0,0 %``), months are dates shown ``MM/AAAA``,
headers are French and frozen, column widths are set, and each status is written as a word
and also shown as a fill colour. Every text cell passes through `text.neutralise_formula`:
names and file names come from input files.
"""

from __future__ import annotations

import datetime as dt
import io
import math

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from dui_metrics import evidence, va
from dui_metrics.evidence import STATUS_WORDS, VERDICT_WORDS, Pack
from dui_metrics.text import neutralise_formula

SUMMARY_SHEET, SOURCES_SHEET, DEFINITIONS_SHEET = "Synthèse", "Sources", "Définitions"
MONTH_FORMAT, DATE_FORMAT, TIME_FORMAT = "mm/yyyy", "dd/mm/yyyy", "dd/mm/yyyy hh:mm"
COUNT_FORMAT, RATE_FORMAT = "#,##0", "0.0%"
# Fills of the statuses (the word is always written too): green for ok and ready, red for
# what blocks the VA (a zero exactly like a missing value).
FILLS = {
    "ok": "C6EFCE",
    "zéro": "FFC7CE",
    "manquant": "FFC7CE",
    "non calculable": "FFC7CE",
    "prêt": "C6EFCE",
    "bloqué": "FFC7CE",
}
HEADER_FILL = PatternFill("solid", start_color="DDEBF7")
BOLD = Font(bold=True)
WRAP = Alignment(wrap_text=True, vertical="top")


def _cell_value(value):
    """A cell's value: text neutralised, missing values empty, pandas timestamps as dates."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return neutralise_formula(value)


def _sheet(wb: Workbook, title: str, headers: list[str], rows, formats_: dict, widths: list[int]):
    """A sheet with a bold, filled, frozen header row; ``formats_`` maps a column index (0-based)
    to a number format; ``widths`` are the column widths in characters."""
    ws = wb.create_sheet(title)
    ws.append(headers)
    for cell in ws[1]:
        cell.font, cell.fill = BOLD, HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    for row in rows:
        ws.append([_cell_value(v) for v in row])
    for index, number_format in formats_.items():
        for (cell,) in ws.iter_rows(min_row=2, min_col=index + 1, max_col=index + 1):
            cell.number_format = number_format
    for index, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(index)].width = width
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = ws.dimensions
    # The header row tall enough for its wrapped headings (15 points a line, plus the
    # filter button), and printed pages landscape, one page wide, headings repeated.
    lines = max(math.ceil(len(h) / max(w - 3, 1)) for h, w in zip(headers, widths, strict=True))
    ws.row_dimensions[1].height = 15 * lines + 3
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.print_title_rows = "1:1"
    return ws


def _fill_statuses(ws, columns: list[int]) -> None:
    """Fill the cells of these columns (1-based) after the status word they hold."""
    fills = {word: PatternFill("solid", start_color=color) for word, color in FILLS.items()}
    for column in columns:
        for (cell,) in ws.iter_rows(min_row=2, min_col=column, max_col=column):
            fill = fills.get(cell.value)
            if fill is not None:
                cell.fill = fill


def render(pack: Pack) -> bytes:
    """The workbook of ``pack``, as the bytes of an .xlsx file."""
    wb = Workbook()
    wb.remove(wb.active)
    criteria = pack.referentiel.criteria
    headers = [va.CRITERION_HEADERS.get(c.code, c.code) for c in criteria]

    # --- summary: one row per ESMS ------------------------------------------------------------
    rows = []
    for r in pack.esms.itertuples(index=False):
        rows.append(
            [
                r.finess_et,
                r.raison_sociale,
                r.commande,
                *(STATUS_WORDS[pack.status(r.finess_et, c.code)] for c in criteria),
                VERDICT_WORDS.get(pack.status(r.finess_et, va.VERDICT), "bloqué"),
                pack.gaps(r.finess_et),
            ]
        )
    ws = _sheet(
        wb,
        SUMMARY_SHEET,
        ["FINESS ET", "Établissement", "Bon de commande", *headers, "VA", "Écarts à combler"],
        rows,
        {},
        [12, 36, 16, *(max(10, len(h) + 2) for h in headers), 10, 80],
    )
    _fill_statuses(ws, list(range(4, 4 + len(criteria) + 1)))
    gap_width = ws.column_dimensions[get_column_letter(ws.max_column)].width
    for (cell,) in ws.iter_rows(min_row=2, min_col=ws.max_column, max_col=ws.max_column):
        cell.alignment = WRAP
        # rows tall enough for the wrapped gaps (not every spreadsheet fits them itself)
        lines = math.ceil(len(str(cell.value or "")) / (gap_width - 4))
        if lines > 1:
            ws.row_dimensions[cell.row].height = 15 * lines

    # --- one sheet per criterion ----------------------------------------------------------------
    for crit, header in zip(criteria, headers, strict=True):
        if crit.indicator is None:
            table = evidence.deployment_rows(pack)
            ws = _sheet(
                wb,
                header,
                [
                    "FINESS ET",
                    "Établissement",
                    "Date de déploiement",
                    "Premier mois de données",
                    "Statut",
                    "Détail",
                    "Source",
                ],
                (
                    [
                        r.finess_et,
                        r.raison_sociale,
                        r.date_deploiement,
                        r.premier_mois,
                        STATUS_WORDS.get(r.statut, r.statut),
                        r.detail,
                        r.source,
                    ]
                    for r in table.itertuples(index=False)
                ),
                {2: DATE_FORMAT, 3: MONTH_FORMAT},
                [12, 36, 14, 14, 10, 50, 50],
            )
            _fill_statuses(ws, [5])
            continue
        indicator = pack.referentiel.indicator(crit.indicator)
        is_rate = indicator.kind == "taux"
        table = evidence.criterion_months(pack, crit.code)
        ws = _sheet(
            wb,
            header,
            [
                "FINESS ET",
                "Établissement",
                "Mois",
                "État du mois",
                indicator.label,
                "Numérateur" + (f" ({indicator.numerator})" if is_rate else ""),
                "Dénominateur" + (f" ({indicator.denominator})" if is_rate else ""),
                "Source",
                "Statut du critère",
                "Valeur retenue pour la VA",
            ],
            (
                [
                    r.finess_et,
                    r.raison_sociale,
                    r.periode,
                    r.etat,
                    r.valeur,
                    r.numerateur,
                    r.denominateur,
                    r.source,
                    STATUS_WORDS[pack.status(r.finess_et, crit.code)],
                    pack.detail(r.finess_et, crit.code),
                ]
                for r in table.itertuples(index=False)
            ),
            {
                2: MONTH_FORMAT,
                4: RATE_FORMAT if is_rate else COUNT_FORMAT,
                5: COUNT_FORMAT,
                6: COUNT_FORMAT,
            },
            [12, 36, 10, 14, 16, 14, 14, 50, 12, 44],
        )
        _fill_statuses(ws, [4, 9])

    # --- the files behind the numbers -----------------------------------------------------------
    _sheet(
        wb,
        SOURCES_SHEET,
        [
            "Fichier",
            "SHA-256",
            "Type",
            "Importé le",
            "Lignes chargées",
            "Lignes utilisées dans ce dossier",
        ],
        (
            [
                evidence.file_label(r.file_name),
                r.sha256,
                r.kind,
                pd.Timestamp(r.imported_at).to_pydatetime(),
                int(r.rows_loaded),
                int(r.lignes_utilisees),
            ]
            for r in pack.sources.itertuples(index=False)
        ),
        {3: TIME_FORMAT, 4: COUNT_FORMAT, 5: COUNT_FORMAT},
        [40, 68, 16, 17, 14, 16],
    )

    # --- definitions and context ----------------------------------------------------------------
    ws = _sheet(wb, DEFINITIONS_SHEET, ["Élément", "Valeur"], definition_rows(pack), {}, [30, 110])
    for row in ws.iter_rows(min_row=2):
        row[1].alignment = WRAP
        if isinstance(row[1].value, dt.date):
            row[1].number_format = MONTH_FORMAT
            row[1].alignment = Alignment(horizontal="left")

    buffer = io.BytesIO()
    wb.properties.title = f"Dossier de preuves VA – {pack.og_name} – {pack.scope_text}"
    wb.properties.creator = f"dui-metrics {pack.version}"
    wb.save(buffer)
    return buffer.getvalue()


def definition_rows(pack: Pack) -> list[tuple[str, object]]:
    """The context and rules of the pack, as (élément, valeur) rows."""
    ref = pack.referentiel
    rows: list[tuple[str, object]] = [
        ("Organisme gestionnaire", pack.og_name),
        ("FINESS juridique", pack.og),
        ("Bon de commande", pack.scope_text),
        ("Établissements", len(pack.esms)),
        ("Mois de la VA", pack.au),
        ("Fenêtre de la VA", pack.window.text),
        ("Verdict", pack.verdict_text),
        ("Référentiel", ref.version),
    ]
    rows += pack_rules(pack)
    for indicator in ref.indicators:
        text = f"{indicator.label} ({indicator.kind})"
        if indicator.kind == "taux":
            text += f" = {indicator.numerator} / {indicator.denominator}"
        rows.append((indicator.code, text))
    rows += [
        ("Version de dui-metrics", pack.version),
        ("Généré le", pack.generated_at.strftime("%d/%m/%Y %H:%M:%S")),
        ("Empreinte du magasin (SHA-256)", pack.fingerprint),
        ("Calcul de l'empreinte", evidence.FINGERPRINT_RULE),
        (
            "Reproduire",
            "importer les fichiers de la feuille Sources (mêmes SHA-256) dans un magasin vide, "
            f"puis : {pack.command}",
        ),
    ]
    return rows


def pack_rules(pack: Pack) -> list[tuple[str, str]]:
    return [(f"Règle : {title}", text) for title, text in evidence.rules(pack)]
