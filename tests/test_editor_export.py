"""The Éditeur's tables and proof file (`dui_metrics.editor_export`) on a real DuckDB store
built from tiny hand-made files; expected values are worked out next to each assertion.

Editor « Logi Soft / Santé » serves four ESMS; another editor one. Usage 01–03/2025, so the
VA window is 01/2025–03/2025 (the store's latest month, 3 months):
- E1 (BC-1, OG A, deployed 15/01/2025): every month 40 accompanied, 30 active, 20 with a
  PP, 25 with an event, 28 INS, 10 DMP documents, 5 MSSanté messages: ready.
- E2 (BC-1, OG A): the same but 0 MSSanté message: blocked by a zero.
- E3 (BC-2, OG B, deployed 01/01/2025): no usage at all: blocked for want of data.
- E5 (no order, OG A, no deployment date, its name a formula): March only, 0 accompanied,
  0 active, 0 INS, 3 DMP documents, 2 messages: INS zero, rates not computable (zero):
  blocked by a zero.
- E4 (another editor): ready, never in this editor's tables.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from dui_metrics import editor_export, indicators, va
from dui_metrics.store import Store
from tests.conftest import build_store

EDITOR, OTHER = "Logi Soft / Santé", "Autre Éditeur"
OG_A, OG_B = "690000005", "330000001"
E1, E2, E3, E4, E5 = "690000013", "690000021", "330000019", "750000010", "010000016"
FORMULA_NAME = "=1+2 Résidence"
MARCH = dt.date(2025, 3, 1)
WINDOW = "01/2025–03/2025"
NNBSP = "\u202f"

REFERENCE = f"""finess_et;finess_ej;raison_sociale;og_nom;commande;editeur;date_deploiement
{E1};{OG_A};EHPAD Un;OG A;BC-1;{EDITOR};15/01/2025
{E2};{OG_A};IME Deux;OG A;BC-1;{EDITOR};15/01/2025
{E3};{OG_B};SSIAD Trois;OG B;BC-2;{EDITOR};01/01/2025
{E4};{OG_B};MAS Quatre;OG B;BC-9;{OTHER};01/01/2025
{E5};{OG_A};{FORMULA_NAME};OG A;;{EDITOR};
"""
HEADER = (
    "finess_et;periode;personnes_accompagnees;dossiers_actifs;dossiers_actifs_avec_pp;"
    "dossiers_actifs_avec_evenement;ins_qualifiees;dmp_documents_envoyes;mss_messages_envoyes\n"
)
USAGE = (
    HEADER
    + "".join(
        f"{finess};2025-0{m};40;30;20;25;28;10;{mss}\n"
        for m in (1, 2, 3)
        for finess, mss in ((E1, 5), (E2, 0), (E4, 5))
    )
    + f"{E5};2025-03;0;0;0;0;0;3;2\n"
)


@pytest.fixture(scope="module")
def store_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_store(tmp_path_factory.mktemp("editor"), REFERENCE, USAGE)


@pytest.fixture(scope="module")
def parts(store_path: Path):
    """The readiness table of the editor (optionally one order), its clients and window."""
    from dui_metrics import referentiel

    ref = referentiel.default()
    with Store(store_path, read_only=True) as store:
        esms = indicators.esms_dimensions(store, ref)
        window = va.va_window(store, ref, MARCH)

        def of(commande: str | None = None):
            checks = va.readiness_table(store, ref, MARCH, editeur=EDITOR, commande=commande)
            return checks, editor_export.clients(esms, EDITOR, commande), window

        yield of


def test_clients_and_orders_of_the_editor(parts) -> None:
    _, clients, _ = parts()
    assert sorted(clients["finess_et"]) == sorted([E1, E2, E3, E5])  # not E4 (other editor)
    _, one_order, _ = parts("BC-1")
    assert sorted(one_order["finess_et"]) == [E1, E2]
    esms = clients
    assert editor_export.orders_of(esms, EDITOR) == ["BC-1", "BC-2"]  # E5 has none


def test_orders_counted_by_outcome(parts) -> None:
    checks, clients, _ = parts()
    table = editor_export.order_outcomes(checks, clients)
    assert table.astype(object).where(table.notna(), None).to_dict("records") == [
        # BC-1: E1 ready, E2 blocked by its zero messages: the order is blocked by a zero
        {"commande": "BC-1", "issue": va.BLOCKED_ZERO, "og_nom": "OG A", "nb_esms": 2,
         "pretes": 1, "bloquees_zero": 1, "bloquees_donnees": 0},
        # BC-2: E3 without any data
        {"commande": "BC-2", "issue": va.BLOCKED_MISSING, "og_nom": "OG B", "nb_esms": 1,
         "pretes": 0, "bloquees_zero": 0, "bloquees_donnees": 1},
        # no order: E5, INS 0 and rates not computable
        {"commande": None, "issue": va.BLOCKED_ZERO, "og_nom": "OG A", "nb_esms": 1,
         "pretes": 0, "bloquees_zero": 1, "bloquees_donnees": 0},
    ]  # fmt: skip
    # The same partition as va.summary: 1 ready, 2 by a zero, 1 for want of data.
    summary = va.summary(checks)
    assert summary == {"pretes": 1, "bloquees_zero": 2, "bloquees_donnees": 1}
    for key, total in summary.items():
        assert table[key].sum() == total


def test_matrix_puts_the_most_urgent_first(parts) -> None:
    checks, clients, _ = parts()
    matrix = editor_export.client_matrix(checks, clients)
    # E3 (missing) first; then the zeros by order, none last: E2 (BC-1), E5 (no order); E1.
    assert list(matrix["finess_et"]) == [E3, E2, E5, E1]
    assert list(matrix.columns[:4]) == ["issue", "commande", "raison_sociale", "finess_et"]
    assert list(matrix.columns[4:]) == [c for c in va.CRITERION_HEADERS if c != va.VERDICT]
    row = matrix.set_index("finess_et")
    assert row.loc[E2, "mss"] == va.ZERO
    assert row.loc[E3, "ins"] == va.MISSING and row.loc[E3, "deploye"] == va.OK
    assert row.loc[E5, "taux_dossiers_actifs"] == va.ZERO  # 0 / 0: not computable


def proofs(parts, commande: str | None = None) -> pd.DataFrame:
    checks, clients, window = parts(commande)
    return editor_export.proof_table(checks, clients, window)


def test_proof_table_holds_values_windows_and_words(parts) -> None:
    table = proofs(parts)
    assert list(table.columns) == [
        "Bon de commande", "Organisme gestionnaire", "FINESS EJ", "FINESS ET",
        "Établissement", "Date de déploiement", "VA", "Critère", "Statut", "Valeur",
        "Fenêtre", "Détail",
    ]  # fmt: skip
    # 4 ESMS × 7 criteria (the verdict is a column, not a row)
    assert len(table) == 28
    # By order (none last), then name: BC-1 EHPAD Un, IME Deux; BC-2 SSIAD Trois; E5.
    assert list(dict.fromkeys(table["FINESS ET"])) == [E1, E2, E3, E5]
    assert set(table["Fenêtre"]) == {WINDOW}
    e1 = table[table["FINESS ET"] == E1].set_index("Critère")
    assert list(e1.index) == [
        "Déployé", "INS", "DMP", "MSSanté", "Dossiers actifs", "Avec projet perso.",
        "Avec événement",
    ]  # fmt: skip
    assert e1.loc["INS", ["Bon de commande", "Organisme gestionnaire", "FINESS EJ"]].tolist() == [
        "BC-1", "OG A", OG_A,
    ]  # fmt: skip
    assert e1.loc["INS", "Date de déploiement"] == dt.date(2025, 1, 15)
    assert set(e1["VA"]) == {"prêt"} and set(e1["Statut"]) == {"ok"}
    assert e1.loc["Déployé", "Valeur"] is None
    assert e1.loc["Déployé", "Détail"] == "déployé le 15/01/2025"
    # INS: a stock, March's value 28; DMP: a flow, 10 × 3 months = 30; MSSanté 5 × 3 = 15
    assert e1.loc["INS", "Valeur"] == 28 and type(e1.loc["INS", "Valeur"]) is int
    assert e1.loc["INS", "Détail"] == "28 INS qualifiées en 03/2025"
    assert e1.loc["DMP", "Valeur"] == 30
    assert e1.loc["DMP", "Détail"] == f"30 documents DMP sur {WINDOW}"
    assert e1.loc["MSSanté", "Valeur"] == 15
    # rates of March: 30 / 40 = 0.75; 20 / 30; 25 / 30
    assert e1.loc["Dossiers actifs", "Valeur"] == 0.75
    assert e1.loc["Dossiers actifs", "Détail"] == f"75,0{NNBSP}% en 03/2025 (30 / 40)"
    assert e1.loc["Avec projet perso.", "Valeur"] == pytest.approx(20 / 30)
    assert e1.loc["Avec événement", "Valeur"] == pytest.approx(25 / 30)

    e2 = table[table["FINESS ET"] == E2].set_index("Critère")
    assert set(e2["VA"]) == {"bloqué par un zéro"}
    assert e2.loc["MSSanté", ["Statut", "Valeur"]].tolist() == ["zéro", 0]
    assert e2.loc["MSSanté", "Détail"] == f"0 message MSSanté envoyé sur {WINDOW}"

    e3 = table[table["FINESS ET"] == E3].set_index("Critère")
    assert set(e3["VA"]) == {"bloqué faute de données"}
    assert e3["Statut"].tolist() == ["ok"] + ["manquant"] * 6
    assert e3["Valeur"].isna().all()
    assert e3.loc["DMP", "Détail"] == "aucune donnée reçue"

    e5 = table[table["FINESS ET"] == E5].set_index("Critère")
    assert set(e5["VA"]) == {"bloqué par un zéro"}
    assert pd.isna(e5.loc["INS", "Bon de commande"])
    assert e5.loc["INS", "Date de déploiement"] is None  # no date: deployed by its data
    assert e5.loc["Déployé", "Détail"] == "données d'usage depuis 03/2025"
    assert e5.loc["INS", ["Statut", "Valeur"]].tolist() == ["zéro", 0]
    # 0 active / 0 accompanied: not computable, a zero without a value
    assert e5.loc["Dossiers actifs", "Statut"] == "zéro"
    assert e5.loc["Dossiers actifs", "Valeur"] is None
    assert e5.loc["Dossiers actifs", "Détail"].startswith("non calculable en 03/2025 : ")
    assert e5.loc["DMP", "Valeur"] == 3


def test_proof_table_of_one_order(parts) -> None:
    table = proofs(parts, "BC-1")
    assert set(table["Bon de commande"]) == {"BC-1"}
    assert list(dict.fromkeys(table["FINESS ET"])) == [E1, E2]


EMOJI = re.compile("[\u2600-\u27bf\U0001f300-\U0001faff]")


def test_csv_as_the_dashboard_writes_them(parts) -> None:
    data = editor_export.to_csv(proofs(parts))
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM, for Excel
    text = data.decode("utf-8-sig")
    assert not EMOJI.search(text)
    lines = text.split("\r\n")
    assert lines[0] == (
        "Bon de commande;Organisme gestionnaire;FINESS EJ;FINESS ET;Établissement;"
        "Date de déploiement;VA;Critère;Statut;Valeur;Fenêtre;Détail"
    )
    assert len(lines) == 1 + 28 + 1  # header, rows, and the end of the last line
    assert lines[1] == (
        f"BC-1;OG A;{OG_A};{E1};EHPAD Un;15/01/2025;prêt;Déployé;ok;;{WINDOW};déployé le 15/01/2025"
    )
    assert lines[5] == (  # a rate as its fraction, with a decimal comma
        f"BC-1;OG A;{OG_A};{E1};EHPAD Un;15/01/2025;prêt;Dossiers actifs;ok;0,75;{WINDOW};"
        f"75,0{NNBSP}% en 03/2025 (30 / 40)"
    )
    e5 = [line for line in lines if f";{E5};" in line]
    # the formula name is neutralised; no order, no deployment date: empty cells
    assert e5[1] == (
        f";OG A;{OG_A};{E5};'{FORMULA_NAME};;bloqué par un zéro;INS;zéro;0;{WINDOW};"
        "0 INS qualifiée en 03/2025"
    )


def sheet_cells(data: bytes) -> dict[str, tuple[str | None, str | None, str]]:
    """Cell reference → (style index, type, text of its value) from the sheet's XML."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        xml = archive.read("xl/worksheets/sheet1.xml").decode()
    cells = {}
    for ref, attrs, body in re.findall(r'<c r="([A-Z]+\d+)"([^>]*)>(.*?)</c>', xml):
        style = re.search(r's="(\d+)"', attrs)
        kind = re.search(r't="(\w+)"', attrs)
        value = re.sub(r"<[^>]+>", "", body)
        cells[ref] = (style and style.group(1), kind and kind.group(1), value)
    return cells


def test_xlsx_types_every_cell(parts, tmp_path: Path) -> None:
    data = editor_export.to_xlsx(proofs(parts))
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert "<f>" not in archive.read("xl/worksheets/sheet1.xml").decode()  # no formula
        every_part = "".join(archive.read(n).decode() for n in archive.namelist())
    assert not EMOJI.search(every_part)
    path = tmp_path / "preuves.xlsx"
    path.write_bytes(data)
    sheet = load_workbook(path).active
    assert sheet.title == "Preuves"
    assert sheet.freeze_panes == "A2"
    rows = list(sheet.iter_rows())
    assert [c.value for c in rows[0]] == editor_export.PROOF_HEADERS
    assert len(rows) == 1 + 28
    # Row 2: E1's deployment; row 3: its INS count; row 6: its active-records rate.
    finess_ej, finess_et = rows[1][2], rows[1][3]
    assert (finess_ej.value, finess_ej.number_format) == (OG_A, "@")
    assert (finess_et.value, finess_et.number_format) == (E1, "@")
    deployed = rows[1][5]
    assert deployed.value == dt.datetime(2025, 1, 15) and deployed.is_date
    assert deployed.number_format == "dd/mm/yyyy"  # a day, not a month
    assert rows[1][9].value is None  # deployment: no value
    count = rows[2][9]
    assert (count.value, count.number_format) == (28, "#,##0")
    rate = rows[5][9]
    assert (rate.value, rate.number_format) == (0.75, "0.0%")
    assert [c.value for c in rows[5][6:9]] == ["prêt", "Dossiers actifs", "ok"]
    assert rows[5][10].value == WINDOW
    # E5's name: text, neutralised (a leading quote, never a formula)
    e5 = next(r for r in rows if r[3].value == E5)
    assert e5[4].value == f"'{FORMULA_NAME}" and e5[4].data_type == "s"
    assert e5[0].value is None and e5[5].value is None
    # The raw XML: FINESS cells are inline strings in the text style (FINESS ET of E5 with
    # its leading zero), the rate a number in the percent style.
    cells = sheet_cells(data)
    e5_row = next(ref[1:] for ref, cell in cells.items() if ref[0] == "D" and cell[2] == E5)
    assert cells[f"D{e5_row}"][1:] == ("inlineStr", E5)
    assert cells["J6"] == ("5", None, "0.75")  # cellXfs 5: numFmt 165, "0.0%"


@pytest.mark.parametrize(
    ("editeur", "commande", "expected"),
    [
        pytest.param(
            "Médisoc", None, "preuves_editeur_medisoc_toutes-commandes_2025-03", id="all-orders"
        ),
        pytest.param(
            EDITOR, "BC 2025/07", "preuves_editeur_logi-soft-sante_bc-2025-07_2025-03",
            id="slash-space-accent",
        ),
        pytest.param("€€", "///", "preuves_editeur_editeur_commande_2025-03", id="nothing-left"),
    ],
)  # fmt: skip
def test_file_stem_names_editor_order_and_month(
    editeur: str, commande: str | None, expected: str
) -> None:
    assert editor_export.file_stem(editeur, commande, MARCH) == expected
    assert re.fullmatch(r"[A-Za-z0-9_.-]+", expected)


def test_empty_selection_gives_empty_tables(parts) -> None:
    checks, clients, window = parts()
    none = checks.slice(0, 0)
    assert editor_export.order_outcomes(none, clients).empty
    assert editor_export.client_matrix(none, clients).empty
    table = editor_export.proof_table(none, clients, window)
    assert table.empty and list(table.columns) == editor_export.PROOF_HEADERS
    assert editor_export.to_csv(table).decode("utf-8-sig").count("\r\n") == 1
    assert editor_export.to_xlsx(table)


def test_an_order_with_a_missing_and_a_zero_esms_is_blocked_for_want_of_data() -> None:
    # Also: an order over several OGs names them all, an unnamed OG by its FINESS EJ.
    # Checks as a frame (va.readiness_frame takes it as it is): the verdict rows and one
    # criterion each. BC-9 holds A1 (ready, OG « Zèbre »), A2 (INS at zero, OG « Alpha ») and
    # A3 (deployment missing, an OG without a name: its FINESS EJ); A4 has no order.
    def esms(finess, critere, statut):
        return {"finess_et": finess, "critere": critere, "statut": statut, "valeur": None,
                "detail": None}  # fmt: skip

    checks = pd.DataFrame(
        [
            esms("A1", va.VERDICT, va.OK), esms("A1", "ins_qualifiees", va.OK),
            esms("A2", va.VERDICT, "ko"), esms("A2", "ins_qualifiees", va.ZERO),
            esms("A3", va.VERDICT, "ko"), esms("A3", "ins_qualifiees", va.MISSING),
            esms("A4", va.VERDICT, va.OK), esms("A4", "ins_qualifiees", va.OK),
        ]
    )  # fmt: skip
    clients = pd.DataFrame(
        {
            "finess_et": ["A1", "A2", "A3", "A4"],
            "commande": ["BC-9", "BC-9", "BC-9", None],
            "og_nom": ["Zèbre", "Alpha", None, "Alpha"],
            "finess_ej": ["EJ1", "EJ2", "EJ3", "EJ2"],
        }
    )
    table = editor_export.order_outcomes(checks, clients)
    assert table.astype(object).where(table.notna(), None).to_dict("records") == [
        # one missing criterion makes the whole order blocked for want of data
        {"commande": "BC-9", "issue": va.BLOCKED_MISSING, "og_nom": "Alpha ; EJ3 ; Zèbre",
         "nb_esms": 3, "pretes": 1, "bloquees_zero": 1, "bloquees_donnees": 1},
        {"commande": None, "issue": va.READY, "og_nom": "Alpha", "nb_esms": 1,
         "pretes": 1, "bloquees_zero": 0, "bloquees_donnees": 0},
    ]  # fmt: skip
