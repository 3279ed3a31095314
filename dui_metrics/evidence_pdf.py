"""The evidence pack's PDF (fpdf2): A4, French, real text (searchable, read back by tests and
screen readers), an outline, charts drawn as vector shapes (nothing downloaded, no browser).

1. Attestation: OG, order, month, VA window, verdict, the table ESMS × criterion, and the
   block for the director's name, date and signature.
2. One page per ESMS: each criterion's status and the value behind it, then small monthly
   charts of the ESMS numérique rates and TBB.1 counts over the last 12 months, the VA
   window shaded, the référentiel's targets dashed.
3. Definitions and rules as applied, the dui-metrics version, the generation time, the
   fingerprint of the store content used and the source files with their SHA-256.

The font is DejaVu Sans, bundled (``data/fonts``): narrow no-break spaces, ``œ``, ``’``,
``–`` render on any machine. Text from input files (names, orders, file names) is written as
plain text; fpdf2's Markdown is never switched on.
"""

from __future__ import annotations

import datetime as dt
import math
from importlib.resources import files
from pathlib import PurePath

import pandas as pd
from fpdf import FPDF
from fpdf.enums import TableBordersLayout, XPos, YPos
from fpdf.fonts import FontFace

from dui_metrics import evidence, formats, indicators, va
from dui_metrics.evidence import STATUS_WORDS, VERDICT_WORDS, Pack
from dui_metrics.finess import category_label, departement_name

FONT = "DejaVu"
MARGIN = 15.0
# Fills of the statuses (RGB); the word is always written too.
FILLS = {
    "ok": (198, 239, 206),
    "zéro": (255, 235, 156),
    "manquant": (217, 217, 217),
    "prêt": (198, 239, 206),
    "bloqué": (255, 199, 206),
}
GREY, DARK, BLUE, ORANGE = (110, 110, 110), (40, 40, 40), (0, 114, 178), (213, 94, 0)
WINDOW_SHADE = (228, 228, 228)
HEADING_FILL = (221, 235, 247)
HEADINGS = FontFace(emphasis="BOLD", fill_color=HEADING_FILL)
RATE_CHARTS = (
    "taux_dossiers_actifs",
    "taux_dossiers_actifs_avec_pp",
    "taux_dossiers_actifs_avec_evenement",
)
COUNT_CHARTS = ("ins_qualifiees", "dmp_documents_envoyes", "mss_messages_envoyes")
CHART_TITLES = {
    "taux_dossiers_actifs": "Taux de dossiers actifs",
    "taux_dossiers_actifs_avec_pp": "Taux avec projet personnalisé",
    "taux_dossiers_actifs_avec_evenement": "Taux avec événement",
    "ins_qualifiees": "INS qualifiées",
    "dmp_documents_envoyes": "Documents envoyés au DMP",
    "mss_messages_envoyes": "Messages MSSanté envoyés",
}


def typographic(text: str) -> str:
    """Our own French texts with the typographic apostrophe (« d’aptitude »)."""
    return str(text).replace("'", "’")


class _Document(FPDF):
    def __init__(self, pack: Pack) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.pack = pack
        fonts = files("dui_metrics") / "data" / "fonts"
        self.add_font(FONT, "", str(fonts / "DejaVuSans.ttf"))
        self.add_font(FONT, "B", str(fonts / "DejaVuSans-Bold.ttf"))
        self.set_margins(MARGIN, MARGIN, MARGIN)
        self.set_auto_page_break(True, margin=18)
        self.set_font(FONT, size=9)
        self.set_lang("fr-FR")
        self.set_title(f"Dossier de preuves VA – {pack.og_name} – {pack.scope_text}")
        self.set_subject(
            typographic(
                f"Vérification d'aptitude, fenêtre {pack.window.text}, mois "
                f"{formats.month_numeric(pack.au)}"
            )
        )
        self.set_author(pack.og_name)
        self.set_creator(f"dui-metrics {pack.version}")
        self.set_creation_date(pack.generated_at.astimezone(dt.UTC))

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FONT, size=7)
        self.set_text_color(*GREY)
        pack = self.pack
        left = (
            f"Dossier de preuves VA – {pack.og_name} ({pack.og}) – {pack.scope_text} – "
            f"{formats.month_numeric(pack.au)}"
        )
        self.cell(self.epw - 25, 5, left, new_x=XPos.RIGHT, new_y=YPos.TOP)
        self.cell(25, 5, f"page {self.page_no()} / {{nb}}", align="R")
        self.set_text_color(0, 0, 0)

    # --- small helpers ----------------------------------------------------------------------
    def wrap(self, text: str, width: float) -> list[str]:
        """``text`` cut into lines of at most ``width`` mm in the current font, at spaces
        (a narrow no-break space never breaks). Words are measured once: fpdf2's multi_cell
        measures a line again for each character it adds (a third of the time of a PDF of
        300 ESMS went there)."""
        space = self.get_string_width(" ")
        lines: list[str] = []
        line: list[str] = []
        used = 0.0
        for word in text.split(" "):
            size = self.get_string_width(word)
            if line and used + space + size > width:
                lines.append(" ".join(line))
                line, used = [word], size
            else:
                used = used + space + size if line else size
                line.append(word)
        lines.append(" ".join(line))
        return lines

    def put(self, x: float, y: float, text: str, width: float = 0, align: str = "L") -> None:
        """One line of text whose top is at ``y``, left-aligned at ``x``, or right-aligned or
        centred in ``width`` from ``x`` (cheaper than a cell: no box, no break)."""
        if align != "L":
            gap = width - self.get_string_width(text)
            x += gap if align == "R" else gap / 2
        self.text(x, y + self.font_size * 0.8, text)

    def grid(self, size: float, widths, align, line_height: float, all_borders: bool = False):
        """A table in ``size`` points: bold headings on a blue fill, padded cells, horizontal
        rules (or every border). Plain cells are white (a table fills them with the current
        fill colour)."""
        self.set_font(FONT, size=size)
        self.set_fill_color(255, 255, 255)
        layout = TableBordersLayout.ALL if all_borders else TableBordersLayout.HORIZONTAL_LINES
        return self.table(
            col_widths=widths,
            width=sum(widths),
            text_align=align,
            line_height=line_height,
            headings_style=HEADINGS,
            borders_layout=layout,
            padding=0.8,
        )

    def heading(self, text: str, size: float = 14) -> None:
        self.set_font(FONT, "B", size)
        self.multi_cell(0, size * 0.5, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_font(FONT, size=9)

    def para(self, text: str, size: float = 9, color=(0, 0, 0), height: float | None = None):
        self.set_font(FONT, size=size)
        self.set_text_color(*color)
        self.multi_cell(
            0, height or size * 0.48, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT
        )
        self.set_text_color(0, 0, 0)

    def pairs(self, rows: list[tuple[str, str]], label_width: float = 45) -> None:
        for label, value in rows:
            self.set_font(FONT, "B", 9)
            self.cell(label_width, 5, label, new_x=XPos.RIGHT, new_y=YPos.TOP)
            self.set_font(FONT, size=9)
            self.multi_cell(0, 5, value, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def box(self, text: str, fill: tuple[int, int, int], size: float = 11) -> None:
        self.set_fill_color(*fill)
        self.set_font(FONT, "B", size)
        self.multi_cell(
            0, size * 0.55, text, align="L", fill=True, padding=2,
            new_x=XPos.LMARGIN, new_y=YPos.NEXT,
        )  # fmt: skip
        self.set_font(FONT, size=9)


def render(pack: Pack) -> bytes:
    """The PDF of ``pack``, as bytes."""
    pdf = _Document(pack)
    _attestation(pdf, pack)
    pdf.start_section("Établissements", level=0)
    for record in pack.esms.itertuples(index=False):
        _esms_page(pdf, pack, record)
    _definitions(pdf, pack)
    return bytes(pdf.output())


# --- 1. attestation -------------------------------------------------------------------------
def _attestation(pdf: _Document, pack: Pack) -> None:
    pdf.add_page()
    pdf.start_section("Attestation", level=0)
    pdf.heading(typographic("Vérification d'aptitude – dossier de preuves"), 16)
    pdf.para(
        "Ségur numérique, dispositif SONS : usage du dossier usager informatisé (DUI), "
        "indicateurs TBB.1 (INS, DMP, MSSanté) et taux ESMS numérique.",
        8.5,
        GREY,
    )
    pdf.ln(3)
    pdf.pairs(
        [
            ("Organisme gestionnaire", pack.og_name),
            ("FINESS juridique", pack.og),
            ("Bon de commande", pack.scope_text),
            ("Mois de la VA", f"{formats.month_numeric(pack.au)} ({formats.month_short(pack.au)})"),
            ("Fenêtre de la VA", pack.window.text),
            ("Établissements", formats.fr_int(len(pack.esms))),
            ("Référentiel", pack.referentiel.version),
        ]
    )
    pdf.ln(3)
    fill = FILLS["prêt"] if pack.ready else FILLS["bloqué"]
    pdf.box(f"Verdict : {pack.verdict_text}", fill)
    pdf.ln(2)
    pdf.para(
        "ok : valeur non nulle sur la fenêtre · zéro : données reçues mais nulles (ou taux non "
        "calculable) · manquant : aucune donnée sur la fenêtre. Un établissement est prêt "
        "quand tous ses critères sont ok ; le détail de chaque valeur suit, établissement "
        "par établissement.",
        7.5,
        GREY,
    )
    pdf.ln(1)
    criteria = pack.criteria
    widths = (19, 42, *([15] * len(criteria)), 14)
    align = ("LEFT", "LEFT", *(["CENTER"] * (len(criteria) + 1)))
    with pdf.grid(7, widths, align, 3.6, all_borders=True) as table:
        table.row(
            [
                "FINESS ET",
                "Établissement",
                *(va.CRITERION_HEADERS.get(c, c) for c in criteria),
                "VA",
            ]
        )
        for finess, name in zip(pack.esms["finess_et"], pack.esms["raison_sociale"], strict=True):
            row = table.row()
            row.cell(finess)
            row.cell(name)
            for code in criteria:
                word = STATUS_WORDS[pack.status(finess, code)]
                row.cell(word, style=FontFace(fill_color=FILLS[word]))
            word = VERDICT_WORDS.get(pack.status(finess, va.VERDICT), "bloqué")
            row.cell(word, style=FontFace(emphasis="BOLD", fill_color=FILLS[word]))
    pdf.set_font(FONT, size=9)
    pdf.ln(4)
    _signature_block(pdf)


def _signature_block(pdf: _Document) -> None:
    """Name, date and signature of the OG's director, kept on one page."""
    if pdf.will_page_break(62):  # the block stays whole, on the page of the table if it fits
        pdf.add_page()
    pdf.set_font(FONT, "B", 10)
    pdf.cell(0, 6, "Signature", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, size=8.5)
    pdf.multi_cell(
        0, 4.2,
        typographic(
            "Le ou la signataire atteste avoir pris connaissance des indicateurs ci-dessus, "
            "calculés par dui-metrics à partir des fichiers listés en fin de document, pour "
            "la vérification d'aptitude du bon de commande indiqué."
        ),
        align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT,
    )  # fmt: skip
    pdf.ln(2)
    top = pdf.get_y()
    pdf.set_draw_color(*GREY)
    for i, label in enumerate(("Nom et fonction du directeur ou de la directrice", "Date")):
        y = top + i * 12
        pdf.set_xy(MARGIN, y)
        pdf.cell(95, 5, label, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.line(MARGIN, y + 10, MARGIN + 95, y + 10)
    pdf.set_xy(MARGIN + 105, top)
    pdf.cell(75, 5, "Signature et cachet", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.rect(MARGIN + 105, top + 6, 75, 20)
    pdf.set_draw_color(0, 0, 0)
    pdf.set_y(top + 28)


# --- 2. one page per ESMS ---------------------------------------------------------------------
def _esms_page(pdf: _Document, pack: Pack, record) -> None:
    pdf.add_page()
    finess, name = record.finess_et, record.raison_sociale
    pdf.start_section(f"{finess} – {name}", level=1)
    pdf.heading(name, 13)
    details = [f"FINESS ET {finess}"]
    for value, label, named in (
        (record.commande, "bon de commande", None),
        (record.categorie, "catégorie", category_label),
        (record.departement, "département", departement_name),
        (record.logiciel, "logiciel", None),
        (record.editeur, "éditeur", None),
    ):
        if isinstance(value, str) and value:
            name_of = named(value) if named else None
            details.append(f"{label} {value}" + (f" ({name_of})" if name_of else ""))
    pdf.para(" · ".join(details), 8, GREY)
    pdf.ln(2)
    verdict = pack.verdicts.get(finess, va.BLOCKED)
    word = VERDICT_WORDS[verdict]
    text = f"VA sur {pack.window.text} : {word}"
    if verdict != va.OK:
        blocking = [
            va.CRITERION_HEADERS.get(c, c) for c in pack.criteria if pack.status(finess, c) != va.OK
        ]
        text += " – critères à remplir : " + ", ".join(blocking)
    pdf.box(text, FILLS[word], 10)
    pdf.ln(2)

    _criteria_rows(pdf, pack, finess)
    pdf.ln(3)

    months = indicators.month_range(pack.chart_start, pack.au)
    series = {
        code: {month: parts[0] for month, parts in values.items()}
        for code, values in pack.monthly_values.get(finess, {}).items()
    }
    first, last = formats.month_numeric(months[0]), formats.month_numeric(months[-1])
    for title, codes, is_rate in (
        (f"Taux ESMS numérique, {first}–{last}", RATE_CHARTS, True),
        (f"Comptages TBB.1, {first}–{last}", COUNT_CHARTS, False),
    ):
        pdf.set_font(FONT, "B", 9)
        pdf.cell(0, 5, title, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        top = pdf.get_y()
        width = (pdf.epw - 8) / 3
        for i, code in enumerate(codes):
            _chart(
                pdf,
                MARGIN + i * (width + 4),
                top,
                width,
                42,
                code,
                months,
                series.get(code, {}),
                is_rate,
                pack,
            )
        pdf.set_y(top + 44)
    pdf.set_font(FONT, size=7)
    pdf.set_text_color(*GREY)
    pdf.put(MARGIN, pdf.get_y(), LEGEND)
    pdf.set_text_color(0, 0, 0)


CRITERIA_COLUMNS = ((62.0, "Critère"), (20.0, "Statut"), (98.0, "Valeur retenue ou écart"))


def _criteria_rows(pdf: _Document, pack: Pack, finess: str) -> None:
    """Criterion, status (word on its fill colour) and detail of one ESMS, a row each, drawn
    line by line (`_Document.wrap`, `put`): fpdf2's table laid every cell out twice, 40 % of
    the time of a PDF of 300 ESMS."""
    pad, line = 1.0, 3.7
    x0, y = MARGIN, pdf.get_y()
    (w1, h1), (w2, h2), (w3, h3) = CRITERIA_COLUMNS
    pdf.set_font(FONT, "B", 8)
    pdf.set_fill_color(*HEADING_FILL)
    pdf.rect(x0, y, w1 + w2 + w3, line + 2 * pad, style="F")
    pdf.put(x0 + pad, y + pad, h1)
    pdf.put(x0 + w1, y + pad, h2, w2, "C")
    pdf.put(x0 + w1 + w2 + pad, y + pad, h3)
    y += line + 2 * pad
    pdf.set_font(FONT, size=8)
    pdf.set_draw_color(*GREY)
    pdf.set_line_width(0.1)
    for crit in pack.referentiel.criteria:
        word = STATUS_WORDS[pack.status(finess, crit.code)]
        labels = pdf.wrap(crit.label, w1 - 2 * pad)
        details = pdf.wrap(
            typographic(pack.detail(finess, crit.code) or "aucune donnée reçue"), w3 - 2 * pad
        )
        height = max(len(labels), len(details)) * line + 2 * pad
        pdf.set_fill_color(*FILLS[word])
        pdf.rect(x0 + w1, y, w2, height, style="F")
        for i, text in enumerate(labels):
            pdf.put(x0 + pad, y + pad + i * line, text)
        pdf.put(x0 + w1, y + (height - line) / 2, word, w2, "C")
        for i, text in enumerate(details):
            pdf.put(x0 + w1 + w2 + pad, y + pad + i * line, text)
        y += height
        pdf.line(x0, y, x0 + w1 + w2 + w3, y)
    pdf.set_draw_color(0, 0, 0)
    pdf.set_y(y)


LEGEND = typographic(
    "Zone grisée : fenêtre de la VA · × : mois sans donnée · trait sur l'axe : mois reçu à "
    "zéro · pointillé orange : cible d'usage du référentiel"
)


def _nice_max(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 × 10^k at or above ``value`` (at least 1)."""
    if value <= 1:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if step * power >= value:
            return step * power
    return 10 * power


def _chart(pdf, x, y, w, h, code, months, values, is_rate, pack) -> None:
    """One small monthly chart: bars (counts) or a line (rates) over ``months``; a missing
    month gets a ×, a zero month a dark stroke on the axis."""
    target = pack.referentiel.targets.get(code) if is_rate else None
    present = [values.get(m) for m in months]
    latest = next(
        ((m, v) for m, v in zip(reversed(months), reversed(present), strict=True) if m in values),
        None,
    )
    # Title and the latest value, as text (what a screen reader and a search find).
    pdf.set_font(FONT, "B", 7)
    pdf.put(x, y, CHART_TITLES.get(code, code))
    pdf.set_font(FONT, size=6.5)
    if latest is None:
        caption = "aucune donnée sur ces 12 mois"
    else:
        month, value = latest
        shown = (
            "non calculable"
            if value is None
            else (formats.fr_percent(value) if is_rate else formats.fr_int(value))
        )
        caption = f"{formats.month_numeric(month)} : {shown}"
        if target is not None:
            caption += f" (cible {formats.fr_percent(target, 0)})"
    pdf.set_text_color(*GREY)
    pdf.put(x, y + 3.5, caption)
    pdf.set_text_color(0, 0, 0)

    left, top = x + 9, y + 8
    width, height = w - 10, h - 14
    bottom = top + height
    slot = width / len(months)
    top_value = 1.0 if is_rate else _nice_max(max((v or 0) for v in present))

    def y_of(value: float) -> float:
        return bottom - height * min(value, top_value) / top_value

    # VA window
    starts = [i for i, m in enumerate(months) if pack.window.start <= m <= pack.window.end]
    if starts:
        pdf.set_fill_color(*WINDOW_SHADE)
        pdf.rect(left + starts[0] * slot, top, slot * len(starts), height, style="F")
    # grid and its labels
    pdf.set_font(FONT, size=5.5)
    pdf.set_draw_color(200, 200, 200)
    pdf.set_line_width(0.1)
    for fraction in (0, 0.5, 1):
        gy = bottom - height * fraction
        pdf.line(left, gy, left + width, gy)
        value = top_value * fraction
        label = formats.fr_percent(value, 0) if is_rate else formats.fr_int(value)
        if not is_rate and value != int(value):
            label = formats.fr_number(value, 1)
        pdf.put(x, gy - 1.1, label, 8.5, "R")
    # month labels: every other month, ending with the VA month
    for i, month in enumerate(months):
        if (len(months) - 1 - i) % 2 == 0:
            pdf.put(left + i * slot - 2, bottom + 0.8, month.strftime("%m/%y"), slot + 4, "C")
    # target
    if target is not None:
        pdf.set_draw_color(*ORANGE)
        pdf.set_line_width(0.35)
        pdf.set_dash_pattern(dash=1, gap=0.8)
        pdf.line(left, y_of(target), left + width, y_of(target))
        pdf.set_dash_pattern()
    # values
    pdf.set_line_width(0.4)
    pdf.set_draw_color(*BLUE)
    pdf.set_fill_color(*BLUE)
    points: list[tuple[float, float]] = []
    for i, (month, value) in enumerate(zip(months, present, strict=True)):
        centre = left + (i + 0.5) * slot
        if month not in values or value is None:
            _cross(pdf, centre, bottom - 1.2)
            if len(points) > 1:
                pdf.polyline(points)
            points = []
            continue
        if is_rate:
            points.append((centre, y_of(value)))
            pdf.circle(centre, y_of(value), 0.5, style="F")
        elif value > 0:
            pdf.rect(centre - slot * 0.3, y_of(value), slot * 0.6, bottom - y_of(value), style="F")
        if value == 0:
            pdf.set_draw_color(*DARK)
            pdf.set_line_width(0.6)
            pdf.line(centre - slot * 0.3, bottom, centre + slot * 0.3, bottom)
            pdf.set_line_width(0.4)
            pdf.set_draw_color(*BLUE)
    if len(points) > 1:
        pdf.polyline(points)
    # axis
    pdf.set_draw_color(*GREY)
    pdf.set_line_width(0.2)
    pdf.line(left, bottom, left + width, bottom)
    pdf.set_draw_color(0, 0, 0)
    pdf.set_line_width(0.2)


def _cross(pdf, cx: float, cy: float, r: float = 0.8) -> None:
    pdf.set_draw_color(*GREY)
    pdf.set_line_width(0.25)
    pdf.line(cx - r, cy - r, cx + r, cy + r)
    pdf.line(cx - r, cy + r, cx + r, cy - r)
    pdf.set_draw_color(*BLUE)
    pdf.set_line_width(0.4)


# --- 3. definitions and sources -------------------------------------------------------------
def _definitions(pdf: _Document, pack: Pack) -> None:
    pdf.add_page()
    pdf.start_section("Définitions, règles et sources", level=0)
    pdf.heading(typographic("Définitions et règles appliquées"), 13)
    pdf.para(f"Référentiel {pack.referentiel.version}.", 8.5, GREY)
    pdf.ln(1)
    for title, text in evidence.rules(pack):
        pdf.set_font(FONT, "B", 8)
        pdf.multi_cell(0, 4, typographic(title), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.para(typographic(text), 8, height=3.9)
        pdf.ln(0.8)
    pdf.ln(2)
    with pdf.grid(7.5, (60, 64, 56), "LEFT", 3.6) as table:
        table.row(["Indicateur", "Libellé", "Nature et calcul"])
        for ind in pack.referentiel.indicators:
            how = {"stock": "stock (dernier mois)", "flux": "flux (somme des mois)"}.get(
                ind.kind, f"taux = {ind.numerator} / {ind.denominator}"
            )
            table.row([ind.code, ind.label, how])
    pdf.ln(4)

    pdf.heading("Reproduire ces chiffres", 11)
    pdf.pairs(
        [
            ("Version de dui-metrics", pack.version),
            ("Généré le", pack.generated_at.strftime("%d/%m/%Y à %H:%M:%S")),
            ("Empreinte (SHA-256)", pack.fingerprint),
        ],
        label_width=42,
    )
    pdf.para(typographic(evidence.FINGERPRINT_RULE), 7.5, GREY, 3.6)
    pdf.ln(1)
    pdf.para(
        typographic(
            "Importer dans un magasin vide les fichiers ci-dessous (mêmes SHA-256), puis : "
        )
        + pack.command,
        8,
        height=4,
    )
    pdf.ln(3)
    pdf.heading("Fichiers sources", 11)
    with pdf.grid(6, (50, 89, 25, 16), ("LEFT", "LEFT", "LEFT", "RIGHT"), 3.2) as table:
        table.row(["Fichier", "SHA-256", "Importé le", "Lignes"])
        for r in pack.sources.itertuples(index=False):
            table.row(
                [
                    PurePath(str(r.file_name)).name or str(r.file_name),
                    r.sha256,
                    pd.Timestamp(r.imported_at).strftime("%d/%m/%Y %H:%M"),
                    formats.fr_int(r.rows_loaded),
                ]
            )
    pdf.set_font(FONT, size=9)
