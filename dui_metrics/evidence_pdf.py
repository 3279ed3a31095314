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

import pandas as pd
from fpdf import FPDF
from fpdf.enums import XPos, YPos

from dui_metrics import evidence, formats, indicators, va
from dui_metrics.evidence import STATUS_WORDS, VERDICT_WORDS, Pack
from dui_metrics.finess import category_label, departement_name

FONT = "DejaVu"
MARGIN = 15.0
# Fills of the statuses (RGB); the word is always written too.
FILLS = {
    "ok": (198, 239, 206),
    # a zero blocks exactly like a missing value: both red
    "zéro": (255, 199, 206),
    "manquant": (255, 199, 206),
    "prêt": (198, 239, 206),
    "bloqué": (255, 199, 206),
    va.OUTCOME_WORDS[va.BLOCKED_ZERO]: (255, 199, 206),
    va.OUTCOME_WORDS[va.BLOCKED_MISSING]: (255, 199, 206),
}
GREY, DARK, BLUE, ORANGE = (110, 110, 110), (40, 40, 40), (0, 114, 178), (213, 94, 0)
WINDOW_SHADE = (228, 228, 228)
HEADING_FILL = (221, 235, 247)
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

    def block(
        self,
        text: str,
        size: float = 9,
        color=(0, 0, 0),
        height: float | None = None,
        bold: bool = False,
        fill: tuple[int, int, int] | None = None,
        x: float = MARGIN,
        width: float | None = None,
    ) -> None:
        """A paragraph: ``text`` wrapped to ``width`` (default: to the right margin) in
        lines of ``height`` mm, on a ``fill`` box with 2 mm of padding when given, a new
        page first when it would not fit; the cursor goes below it."""
        self.set_font(FONT, "B" if bold else "", size)
        height = height or size * 0.48
        pad = 2.0 if fill else 0.0
        width = (width or (self.w - self.r_margin - x)) - 2 * pad
        lines = self.wrap(text, width)
        total = len(lines) * height + 2 * pad
        y = self.get_y()
        if y + total > self.page_break_trigger:
            self.add_page()
            y = self.get_y()
        if fill:
            self.set_fill_color(*fill)
            self.rect(x, y, width + 2 * pad, total, style="F")
        self.set_text_color(*color)
        for i, line in enumerate(lines):
            self.put(x + pad, y + pad + i * height + (height - size * 0.353) / 2, line)
        self.set_text_color(0, 0, 0)
        self.set_font(FONT, size=9)
        self.set_xy(self.l_margin, y + total)

    def heading(self, text: str, size: float = 14) -> None:
        self.block(text, size, height=size * 0.5, bold=True)

    def para(self, text: str, size: float = 9, color=(0, 0, 0), height: float | None = None):
        self.block(text, size, color, height)

    def pairs(self, rows: list[tuple[str, str]], label_width: float = 45) -> None:
        for label, value in rows:
            y = self.get_y()
            self.set_font(FONT, "B", 9)
            self.put(MARGIN, y + 0.8, label)
            self.block(value, 9, height=5, x=MARGIN + label_width)

    def box(self, text: str, fill: tuple[int, int, int], size: float = 11) -> None:
        self.block(text, size, height=size * 0.55, bold=True, fill=fill)

    def table_rows(
        self,
        columns: list[tuple[float, str, str]],
        rows,
        size: float,
        line: float,
        fills=None,
        bold: tuple[int, ...] = (),
        boxed: bool = False,
        heading_size: float | None = None,
    ) -> None:
        """A table: ``columns`` are (width mm, heading, alignment L, C or R); ``rows`` are
        lists of texts, wrapped in their column; ``fills(column, text)`` gives a cell's fill
        colour or None; ``bold`` the columns in bold. Headings on a blue band, repeated on
        each new page, in ``heading_size`` points (default ``size``); horizontal rules, or every
        border (``boxed``). Drawn line by line
        (`wrap`, `put`): fpdf2's table laid every cell out twice, 40 % of the time of a PDF
        of 300 ESMS."""
        pad = 0.8
        x0, full = MARGIN, sum(c[0] for c in columns)
        self.set_draw_color(*GREY)
        self.set_line_width(0.1)

        def draw(cells, y, header):
            texts = []
            font = (heading_size or size) if header else size
            for i, ((width, _, _), text) in enumerate(zip(columns, cells, strict=True)):
                self.set_font(FONT, "B" if header or i in bold else "", font)
                texts.append(self.wrap(str(text), width - 2 * pad))
            height = max(len(t) for t in texts) * line + 2 * pad
            if y + height > self.page_break_trigger and not header:
                self.add_page()
                y = draw([c[1] for c in columns], self.get_y(), True)
            if header:
                self.set_fill_color(*HEADING_FILL)
                self.rect(x0, y, full, height, style="F")
            x = x0
            for i, ((width, _, align), lines) in enumerate(zip(columns, texts, strict=True)):
                fill = None if header or fills is None else fills(i, cells[i])
                if fill:
                    self.set_fill_color(*fill)
                    self.rect(x, y, width, height, style="F")
                if boxed:
                    self.rect(x, y, width, height)
                self.set_font(FONT, "B" if header or i in bold else "", font)
                top = y + (height - len(lines) * line) / 2  # vertically centred
                for k, text in enumerate(lines):
                    self.put(x + pad, top + k * line + 0.3, text, width - 2 * pad, align)
                x += width
            if not boxed:
                self.line(x0, y + height, x0 + full, y + height)
            return y + height

        y = draw([c[1] for c in columns], self.get_y(), True)
        for cells in rows:
            y = draw(cells, y, False)
        self.set_draw_color(0, 0, 0)
        self.set_font(FONT, size=9)
        self.set_xy(self.l_margin, y)


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
    columns = [(18, "FINESS ET", "L"), (36, "Établissement", "L")]
    columns += [(16, va.CRITERION_HEADERS.get(c, c), "C") for c in criteria]
    columns.append((14, "VA", "C"))
    rows = (
        [
            finess,
            name,
            *(STATUS_WORDS[pack.status(finess, code)] for code in criteria),
            VERDICT_WORDS.get(pack.status(finess, va.VERDICT), "bloqué"),
        ]
        for finess, name in zip(pack.esms["finess_et"], pack.esms["raison_sociale"], strict=True)
    )
    pdf.table_rows(
        columns,
        rows,
        7,
        3.2,
        fills=lambda i, text: FILLS.get(text) if i >= 2 else None,
        bold=(len(columns) - 1,),
        boxed=True,
        heading_size=6.3,  # « événement » fits its column
    )
    pdf.set_font(FONT, size=9)
    pdf.ln(4)
    _signature_block(pdf)


def _signature_block(pdf: _Document) -> None:
    """Name, date and signature of the OG's director, kept on one page."""
    if pdf.will_page_break(62):  # the block stays whole, on the page of the table if it fits
        pdf.add_page()
    pdf.set_font(FONT, "B", 10)
    pdf.cell(0, 6, "Signature", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.para(
        typographic(
            "Le ou la signataire atteste avoir pris connaissance des indicateurs ci-dessus, "
            "calculés par dui-metrics à partir des fichiers listés en fin de document, pour "
            "la vérification d'aptitude du bon de commande indiqué."
        ),
        8.5,
        height=4.2,
    )
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
    word = va.OUTCOME_WORDS[pack.outcome(finess)]
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


def _criteria_rows(pdf: _Document, pack: Pack, finess: str) -> None:
    """Criterion, status (word on its fill colour) and detail of one ESMS, a row each."""
    rows = (
        [
            crit.label,
            STATUS_WORDS[pack.status(finess, crit.code)],
            typographic(pack.detail(finess, crit.code) or "aucune donnée reçue"),
        ]
        for crit in pack.referentiel.criteria
    )
    columns = [(62, "Critère", "L"), (20, "Statut", "C"), (98, "Valeur retenue ou écart", "L")]
    pdf.table_rows(columns, rows, 8, 3.7, fills=lambda i, text: FILLS.get(text) if i == 1 else None)


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
        pdf.block(typographic(title), 8, height=4, bold=True)
        pdf.para(typographic(text), 8, height=3.9)
        pdf.ln(0.8)
    pdf.ln(2)
    kinds = {"stock": "stock (dernier mois)", "flux": "flux (somme des mois)"}
    pdf.table_rows(
        [(60, "Indicateur", "L"), (64, "Libellé", "L"), (56, "Nature et calcul", "L")],
        (
            [i.code, i.label, kinds.get(i.kind, f"taux = {i.numerator} / {i.denominator}")]
            for i in pack.referentiel.indicators
        ),
        7.5,
        3.6,
    )
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
    pdf.table_rows(
        [(50, "Fichier", "L"), (89, "SHA-256", "L"), (25, "Importé le", "L"), (16, "Lignes", "R")],
        (
            [
                evidence.file_label(r.file_name),
                r.sha256,
                pd.Timestamp(r.imported_at).strftime("%d/%m/%Y %H:%M"),
                formats.fr_int(r.rows_loaded),
            ]
            for r in pack.sources.itertuples(index=False)
        ),
        6,
        3.0,
    )
    pdf.set_font(FONT, size=9)
