"""Write the office fixtures of issue 15 with LibreOffice itself.

Each file is first described here as a flat OpenDocument spreadsheet (.fods: XML, document
language fr-FR, number and date styles, formulas with their cached values, merged cells), then
converted by LibreOffice Calc (`soffice --headless --convert-to ...`) into what a user would
save: .xlsx, .ods, .xls (Excel 97-2003) or a French CSV (';', '"', UTF-8, locale fr-FR). The
cells are deterministic; LibreOffice stamps its own metadata (dates, generator) in .xlsx/.ods/
.xls, so those bytes change from one run to the next while their cells do not.

Run from anywhere (LibreOffice 7.4 wrote the committed files, see README.md):

    .venv/bin/python tests/data/office/make_office_files.py

All names and figures are fictional.
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

HERE = Path(__file__).resolve().parent
PROFILE = "file:///tmp/lo-profile-office"  # a private profile: never the user's own
SOFFICE = shutil.which("soffice") or "/usr/bin/soffice"
TIMEOUT_S = 180

# French CSV: separator ';' (59), quote '"' (34), UTF-8 (76), from line 1, default cell
# formats, language fr-FR (1036); cells are saved as shown (default of the filter).
CSV_FILTER = "csv:Text - txt - csv (StarCalc):59,34,76,1,,1036"
TARGETS = {
    "xlsx": "xlsx:Calc MS Excel 2007 XML",
    "ods": "ods:calc8",
    "xls": "xls:MS Excel 97",
    "csv": CSV_FILTER,
}

# FINESS (fictional establishments, valid Luhn keys; E1, E3 and the EJ start with 0: Ain, 01)
E1, E2, E3 = "010001238", "690001235", "010004562"
EJ1, EJ2 = "010001006", "690001003"

TITLE = "Export usages DUI — mars 2025"
WIDE = [
    "FINESS ET",
    "Période",
    "Personnes accompagnées",
    "Dossiers actifs",
    "INS qualifiées",
    "Documents envoyés au DMP",
]
# (FINESS, month, personnes_accompagnees, dossiers_actifs, ins_qualifiees, dmp_documents_envoyes)
BASE = [
    (E1, "2025-01", 40, 30, 12, 5),
    (E1, "2025-02", 41, 32, 14, 0),
    (E1, "2025-03", 42, 35, 15, 7),
    (E2, "2025-01", 60, 45, 20, 3),
    (E2, "2025-02", 61, 47, 22, 4),
    (E2, "2025-03", 62, 50, 25, 6),
]
REFERENCE = [
    ("FINESS ET", "FINESS EJ", "Raison sociale", "Organisme gestionnaire", "Catégorie"),
    (E1, EJ1, "EHPAD Les Glycines", "Association Fictive de l'Ain", "500"),
    (E2, EJ2, "IME Les Coteaux", "Fondation Imaginaire du Rhône", "183"),
    (E3, EJ1, "SSIAD du Revermont", "Association Fictive de l'Ain", "354"),
]


# --- cells --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Cell:
    """One cell: text, a number, a date, a formula (with its cached number), or empty."""

    value: str | int | dt.date | None = None
    formula: str | None = None  # OpenFormula, e.g. "of:=SUM([.C2:.C7])"
    style: str | None = None  # a cell style of STYLES
    span: int = 1  # merged over this many columns

    def xml(self) -> str:
        attrs = f' table:style-name="{self.style}"' if self.style else ""
        if self.span > 1:
            attrs += f' table:number-columns-spanned="{self.span}" table:number-rows-spanned="1"'
        if self.formula is not None:
            attrs += f" table:formula={quoteattr(self.formula)}"
        v = self.value
        if v is None:
            body = ""
        elif isinstance(v, dt.date):
            attrs += f' office:value-type="date" office:date-value="{v.isoformat()}"'
            body = f"<text:p>{v.isoformat()}</text:p>"
        elif isinstance(v, int):
            attrs += f' office:value-type="float" office:value="{v}"'
            body = f"<text:p>{v}</text:p>"
        else:
            attrs += ' office:value-type="string"'
            body = f"<text:p>{escape(v)}</text:p>"
        cell = f"<table:table-cell{attrs}>{body}</table:table-cell>"
        return cell + "<table:covered-table-cell/>" * (self.span - 1)


def text(v: str | None) -> Cell:
    return Cell(v if v else None)


def num(v: int, style: str | None = None) -> Cell:
    return Cell(v, style=style)


Row = list[Cell]

# Number and date styles, French: MMM-AA (« mars-25 »), JJ/MM/AAAA, # ##0.
DATA_STYLES = """
<number:date-style style:name="N_MMMAA" number:language="fr" number:country="FR">
 <number:month number:textual="true"/><number:text>-</number:text><number:year/>
</number:date-style>
<number:date-style style:name="N_JJMMAAAA" number:language="fr" number:country="FR">
 <number:day number:style="long"/><number:text>/</number:text>
 <number:month number:style="long"/><number:text>/</number:text><number:year number:style="long"/>
</number:date-style>
<number:number-style style:name="N_MILLIERS" number:language="fr" number:country="FR">
 <number:number number:decimal-places="0" number:min-integer-digits="1" number:grouping="true"/>
</number:number-style>
<style:style style:name="mmm_aa" style:family="table-cell" style:data-style-name="N_MMMAA"/>
<style:style style:name="jj_mm_aaaa" style:family="table-cell"
 style:data-style-name="N_JJMMAAAA"/>
<style:style style:name="milliers" style:family="table-cell" style:data-style-name="N_MILLIERS"/>
<style:style style:name="titre" style:family="table-cell">
 <style:text-properties fo:font-weight="bold" fo:font-size="14pt"/>
</style:style>
"""

NAMESPACES = " ".join(
    f'xmlns:{p}="{u}"'
    for p, u in {
        "office": "urn:oasis:names:tc:opendocument:xmlns:office:1.0",
        "style": "urn:oasis:names:tc:opendocument:xmlns:style:1.0",
        "text": "urn:oasis:names:tc:opendocument:xmlns:text:1.0",
        "table": "urn:oasis:names:tc:opendocument:xmlns:table:1.0",
        "fo": "urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0",
        "number": "urn:oasis:names:tc:opendocument:xmlns:datastyle:1.0",
        "of": "urn:oasis:names:tc:opendocument:xmlns:of:1.2",
    }.items()
)


def fods(rows: list[Row], sheet: str = "Usages") -> str:
    """A flat ODS document, language fr-FR, one sheet of ``rows``."""
    body = "\n".join(
        "<table:table-row>" + "".join(c.xml() for c in row or [Cell()]) + "</table:table-row>"
        for row in rows
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<office:document {NAMESPACES} office:version="1.2"
 office:mimetype="application/vnd.oasis.opendocument.spreadsheet">
<office:styles>
<style:default-style style:family="table-cell">
 <style:text-properties fo:language="fr" fo:country="FR"/>
</style:default-style>
</office:styles>
<office:automatic-styles>{DATA_STYLES}</office:automatic-styles>
<office:body><office:spreadsheet>
<table:table table:name="{escape(sheet)}">
{body}
</table:table>
</office:spreadsheet></office:body>
</office:document>
"""


# --- the files ------------------------------------------------------------------------------
def header(names: list[str]) -> Row:
    return [text(n) for n in names]


def base_rows() -> list[Row]:
    return [[text(f), text(m)] + [num(v) for v in values] for f, m, *values in BASE]


def with_formulas() -> list[Row]:
    """The base rows, some value cells as formulas with their cached values (case 5):
    personnes accompagnées = dossiers actifs + the persons without an active record."""
    rows = base_rows()
    for line, row in enumerate(rows, start=2):
        f, m, pa_, da, *_ = BASE[line - 2]
        row[2] = Cell(pa_, formula=f"of:=[.D{line}]+{pa_ - da}")
    # the DMP count of E2 in 2025-03 as a sum of two sites' deposits: 2 + 4 = 6
    rows[5][5] = Cell(6, formula="of:=2+4")
    return rows


def total_row(first: int, last: int) -> Row:
    """« Total », key cells empty, each value column =SUM() of the rows above (cached)."""
    cells: Row = [text("Total"), text(None)]
    for col, letter in enumerate("CDEF", start=2):
        total = sum(r[col] for r in BASE)
        cells.append(Cell(total, formula=f"of:=SUM([.{letter}{first}:.{letter}{last}])"))
    return cells


def lost_zero_usage() -> list[Row]:
    """FINESS ET as number cells (General format): 010001238 becomes 10001238 (case 3)."""
    data = [
        (E1, "2025-02", 41, 32, 14, 0),
        (E1, "2025-03", 42, 35, 15, 7),
        (E2, "2025-03", 62, 50, 25, 6),
        (E3, "2025-02", 25, 20, 8, 1),
        (E3, "2025-03", 26, 21, 9, 2),
    ]
    return [header(WIDE)] + [
        [num(int(f)), text(m)] + [num(v) for v in values] for f, m, *values in data
    ]


def lost_zero_reference() -> list[Row]:
    head, *rows = REFERENCE
    return [header(list(head))] + [
        [num(int(et)), num(int(ej)), text(name), text(og), text(cat)]
        for et, ej, name, og, cat in rows
    ]


MONTH_TEXTS = [
    # (FINESS, month cell, indicator label, value): the first three are date cells shown
    # MMM-AA by a French LibreOffice, the others text cells as typed by hand.
    (E1, dt.date(2025, 1, 15), "Dossiers actifs", 30),
    (E1, dt.date(2025, 2, 28), "Dossiers actifs", 32),
    (E1, dt.date(2025, 3, 1), "Dossiers actifs", 35),
    (E2, "mars 2025", "Dossiers actifs", 50),
    (E2, "03-2025", "INS qualifiées", 25),
    (E2, "2025/03", "Personnes accompagnées", 62),
    (E2, "fevr.-25", "Dossiers actifs", 47),
    (E2, "FÉVRIER 2025", "INS qualifiées", 22),
]


def month_texts() -> list[Row]:
    rows = [header(["FINESS ET", "Période", "Indicateur", "Valeur"])]
    for f, month, label, value in MONTH_TEXTS:
        cell = Cell(month, style="mmm_aa") if isinstance(month, dt.date) else text(month)
        rows.append([text(f), cell, text(label), num(value)])
    return rows


def month_dates() -> list[Row]:
    """Months as date cells of the 15th, shown JJ/MM/AAAA (case 4, workbooks)."""
    rows = base_rows()
    for row, (_, month, *_) in zip(rows, BASE, strict=True):
        year, mm = map(int, month.split("-"))
        row[1] = Cell(dt.date(year, mm, 15), style="jj_mm_aaaa")
    return [header(WIDE)] + rows


THOUSANDS = [
    # (FINESS, month, dossiers_actifs, dmp_documents_envoyes, mss_messages_envoyes)
    (E1, "2025-02", 32, 1250, 2400),
    (E1, "2025-03", 35, 980, 12345),
    (E2, "2025-03", 50, 3007, 1000),
]


def thousands() -> list[Row]:
    """Value cells in the French format « # ##0 »; a last column with no header whose only
    content is an empty text (a formula ="" on every line): LibreOffice writes the column, so
    every line ends with ';' (case 6)."""
    names = ["FINESS ET", "Période", "Dossiers actifs", "Documents envoyés au DMP"]
    rows = [header(names + ["Messages MSSanté envoyés"]) + [Cell("", formula='of:=""')]]
    for f, m, *values in THOUSANDS:
        cells = [text(f), text(m)] + [num(v, "milliers") for v in values]
        rows.append(cells + [Cell("", formula='of:=""')])
    return rows


def bad_finess() -> list[Row]:
    """Line 3: « 6901A234 », 8 characters with a letter (refusal c)."""
    rows = [header(WIDE)] + base_rows()[:3]
    rows[2][0] = text("6901A234")
    return rows


FILES: dict[str, tuple[list[Row], tuple[str, ...]]] = {
    # case 1: title, blank line, header on line 3
    "titre": ([[text(TITLE)], [], header(WIDE)] + base_rows(), ("xlsx", "ods", "csv")),
    # case 2: a total row on line 8
    "total": ([header(WIDE)] + base_rows() + [total_row(2, 7)], ("xlsx", "ods", "csv")),
    # case 3: FINESS cells as numbers
    "zero_perdu_usages": (lost_zero_usage(), ("csv",)),
    "zero_perdu_etablissements": (lost_zero_reference(), ("csv",)),
    # case 4: months as French spreadsheets write them
    "mois_textes": (month_texts(), ("csv",)),
    "mois_dates": (month_dates(), ("xlsx", "ods")),
    # case 5: the plain export in every workbook format, with formulas
    "usages": ([header(WIDE)] + with_formulas(), ("xlsx", "ods", "xls")),
    # case 6: thousands separators and a trailing empty column
    "milliers": (thousands(), ("csv",)),
    # the reference, FINESS as text cells
    "etablissements": (
        [header(list(REFERENCE[0]))] + [[text(c) for c in r] for r in REFERENCE[1:]],
        ("csv",),
    ),
    # refusal a: a title merged over A1:F1, header on line 2
    "titre_fusionne": (
        [[Cell(TITLE, style="titre", span=6)], header(WIDE)] + base_rows(),
        ("xlsx", "ods"),
    ),
    # refusal b: a one-cell title on line 1, then a header the tool does not know
    "titre_sans_ligne_vide": (
        [
            [text(TITLE)],
            header(["Établissement", "Mois", "Nb personnes", "Nb dossiers", "Nb INS", "Nb DMP"]),
        ]
        + base_rows(),
        ("csv",),
    ),
    # refusal c: a FINESS of 8 characters with a letter
    "finess_lettre": (bad_finess(), ("csv",)),
}


def trim_first_line(path: Path) -> None:
    """Drop the trailing separators of line 1. LibreOffice pads every line to the width of
    the sheet (« Export usages DUI — mars 2025;;;;; »); a title written alone on its line, as
    a text editor or a tool writing only filled cells leaves it, has a single field."""
    first, rest = path.read_bytes().split(b"\n", 1)
    path.write_bytes(first.rstrip(b";") + b"\n" + rest)


# Edits made after LibreOffice, by file name: the only bytes not written by LibreOffice.
AFTER = {"titre_sans_ligne_vide.csv": trim_first_line}


def convert(source: Path, target: str, outdir: Path) -> Path:
    """`soffice --convert-to` one file; returns the written file."""
    ext = target.split(":", 1)[0]
    command = [
        SOFFICE,
        f"-env:UserInstallation={PROFILE}",
        "--headless",
        "--norestore",
        "--convert-to",
        target,
        "--outdir",
        str(outdir),
        str(source),
    ]
    subprocess.run(command, check=True, timeout=TIMEOUT_S, capture_output=True)
    written = outdir / f"{source.stem}.{ext}"
    if not written.exists():
        raise RuntimeError(f"LibreOffice wrote no {written.name}")
    return written


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="office-fixtures-") as tmp:
        tmpdir = Path(tmp)
        for stem, (rows, formats) in FILES.items():
            source = tmpdir / f"{stem}.fods"
            source.write_text(fods(rows), encoding="utf-8")
            for fmt in formats:
                written = convert(source, TARGETS[fmt], tmpdir)
                shutil.move(written, HERE / written.name)
                if written.name in AFTER:
                    AFTER[written.name](HERE / written.name)
                print(f"{written.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
