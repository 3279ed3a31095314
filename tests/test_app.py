"""The dashboard under Streamlit's AppTest, on a tiny store with hand-worked VA verdicts."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from streamlit.proto.Metric_pb2 import Metric as MetricProto
from streamlit.testing.v1 import AppTest
from table_support import screen_tables, text_tables

from dui_metrics.formats import fr_int, fr_percent, month_short
from dui_metrics.ui import SHORT_LABELS

APP = str(Path(__file__).resolve().parent.parent / "app.py")

# OG A (690000005): E1 690000013 ready; E2 690000021 sends no MSSanté message (blocked).
# OG B (330000001): E3 330000019 deployed, no usage data at all (blocked, no data).
REFERENCE = """finess_et;finess_ej;raison_sociale;og_nom;commande;editeur;date_deploiement
690000013;690000005;EHPAD Un;OG A;BC-A;EdA;01/01/2025
690000021;690000005;IME Deux;OG A;BC-A;EdA;01/01/2025
330000019;330000001;SSIAD Trois;OG B;BC-B;EdB;01/01/2025
"""
HEADER = (
    "finess_et;periode;personnes_accompagnees;dossiers_actifs;dossiers_actifs_avec_pp;"
    "dossiers_actifs_avec_evenement;ins_qualifiees;dmp_documents_envoyes;mss_messages_envoyes\n"
)
USAGE = HEADER + "".join(
    f"{finess};2025-0{m};40;30;20;25;28;10;{mss}\n"
    for m in (1, 2, 3)
    for finess, mss in (("690000013", 5), ("690000021", 0))
)


@pytest.fixture
def tiny_store(store_from, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = store_from(REFERENCE, USAGE)
    monkeypatch.setenv("DUI_METRICS_STORE", str(path))
    return path


READY, ZERO, MISSING = "ESMS prêts", "ESMS bloqués par un zéro", "ESMS bloqués faute de données"
VA_METRICS = (READY, ZERO, MISSING)


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric if m.label in VA_METRICS}


def og_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60).run()
    return at.switch_page("pages/organisme_gestionnaire.py").run()


def test_va_page_counts_and_og_filter(tiny_store: Path) -> None:
    at = og_page()
    assert not at.exception
    assert at.title[0].value == "Organisme gestionnaire"
    # All OGs, window 01/2025–03/2025: E1 ready; E2 blocked by a zero (mss 0); E3 for want
    # of data (none at all).
    assert metrics(at) == {READY: "1", ZERO: "1", MISSING: "1"}
    at.selectbox(key="og").set_value("330000001").run()
    # OG B holds only E3, which has no data.
    assert (
        at.error[0].value
        == "1 établissement sur 1 bloque la VA sur 01/2025–03/2025 : 0 par un zéro, 1 faute de "
        "données. Voir les écarts ci-dessous."
    )
    assert metrics(at) == {
        READY: "0",
        ZERO: "0",
        MISSING: "1",
    }
    at.selectbox(key="og").set_value("690000005").run()
    assert metrics(at)[READY] == "1"
    # The per-ESMS tables are tabs, the gaps open first; only the open tab is drawn.
    (gaps,) = [d for d in screen_tables(at) if "Écart" in d.columns]
    # Only E2's MSSanté check is a gap in OG A: 0 + 0 + 0 messages over the window.
    assert list(gaps["Écart"]) == ["0 message MSSanté envoyé sur 01/2025–03/2025"]
    assert not [d for d in screen_tables(at) if "Critères ok" in d.columns]
    at.session_state["vue"] = "Du plus en retard au plus avancé"  # the user opens that tab
    at.run()
    # Weakest first: E2 has 6 of 7 criteria ok, E1 all 7.
    (ranking,) = [d for d in screen_tables(at) if "Critères ok" in d.columns]
    assert not [d for d in screen_tables(at) if "Écart" in d.columns]
    assert list(ranking["Établissement"]) == ["IME Deux", "EHPAD Un"]
    assert list(ranking["Critères ok"]) == ["6 / 7", "7 / 7"]
    at.session_state["vue"] = "Critères par établissement"
    at.run()
    (matrix,) = [d for d in screen_tables(at) if "VA" in d.columns]
    assert list(matrix["MSSanté"]) == ["❌ zéro", "✅ ok"]  # E2 blocking first, then E1
    assert list(matrix["VA"]) == ["❌ bloqué par un zéro", "✅ prêt"]
    # OG A's active-records rate in 03/2025: (30 + 30) / (40 + 40) = 75,0 %
    headline = {m.label: m.value for m in at.metric}
    assert headline["Taux de dossiers actifs"] == "75,0\u202f%"
    # MSSanté messages in 03/2025: 5 (E1) + 0 (E2) = 5, same as 02/2025: delta +0
    assert headline["Messages MSSanté envoyés"] == "5"
    # Each of the six cards draws its curve as an image with words: the store's 3 months.
    curves = [h.proto.body for h in at.get("html") if h.proto.body.startswith("<img")]
    assert len(curves) == 6
    assert all('alt="Courbe des 3 derniers mois, ' in c for c in curves)


def test_va_page_month_selection_moves_the_window(tiny_store: Path) -> None:
    at = og_page()
    at.selectbox(key="og").set_value("690000005").run()
    at.selectbox(key="au").set_value(at.selectbox(key="au").options[-1]).run()
    # Oldest month offered is 01/2025: the window 11/2024–01/2025 holds January only.
    (gaps,) = [d for d in screen_tables(at) if "Écart" in d.columns]
    assert list(gaps["Écart"]) == ["0 message MSSanté envoyé sur 11/2024–01/2025"]


def open_page(page: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60).run()
    return at.switch_page(page).run()


def all_metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_home_page_tells_what_the_store_holds(tiny_store: Path) -> None:
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    shown = all_metrics(at)
    # 3 ESMS, 2 OGs (690000005, 330000001), 3 months (01..03/2025)
    assert shown["Établissements (ESMS)"] == "3"
    assert shown["Organismes gestionnaires"] == "2"
    assert shown["Mois de données"] == "3"
    # E1 ready, E2 blocked by a zero (MSSanté 0), E3 for want of data (none at all)
    assert (shown[READY], shown[ZERO], shown[MISSING]) == ("1", "1", "1")


def test_establishment_page_shows_the_cli_numbers(tiny_store: Path) -> None:
    at = open_page("pages/etablissement.py")
    assert not at.exception
    at.selectbox(key="finess_et").set_value("690000021").run()
    assert at.error[0].value == "Bloque la VA sur 01/2025–03/2025 : bloqué par un zéro (MSSanté)."
    # data in 01, 02, 03/2025 out of the 3 months up to the store's latest month
    assert all_metrics(at)["Mois renseignés"] == "3 / 3"
    at.session_state["valeurs"] = True  # « Tableau des valeurs mensuelles », opened
    values = at.run().dataframe[-1].value
    # 7 counts + 4 rates a month (taux_ins_qualifiees included), 3 months
    assert len(values) == 33
    march = values[(values["Mois"] == "mars 2025")].set_index("Indicateur")
    assert march.loc["Taux de dossiers actifs", "Valeur"] == "75,0\u202f%"  # 30 / 40
    assert march.loc["Messages MSSanté envoyés", "Valeur"] == "0"
    assert march.loc["Taux d'INS qualifiées", "Numérateur"] == "28"  # 28 / 30
    assert march.loc["Taux d'INS qualifiées", "Valeur"] == "93,3\u202f%"  # 28 / 30 = 0.9333


def test_editor_page_matrix_and_orders(tiny_store: Path) -> None:
    at = open_page("pages/editeur.py")
    assert not at.exception
    at.selectbox(key="editeur").set_value("EdA").run()
    shown = all_metrics(at)
    # EdA serves E1 (ready) and E2 (MSSanté at 0: blocked by a zero), both in order BC-A
    assert (shown["ESMS clients"], shown[READY], shown[ZERO], shown[MISSING]) == (
        "2",
        "1",
        "1",
        "0",
    )
    # short tables are text (ui.text_table): their cells read back as text
    orders, blocked, ready = screen_tables(at)
    assert orders.to_dict("records") == [
        {
            "VA": "❌ bloqué par un zéro",
            "Bon de commande": "BC-A",
            "Organisme gestionnaire": "OG A",
            "ESMS": "2",
            "Prêts": "1",
            "Bloqués par un zéro": "1",
            "Bloqués faute de données": "0",
        }
    ]
    # one table per outcome, blocked first: E2 blocked by a zero, then E1 ready
    assert (list(blocked["Établissement"]), list(ready["Établissement"])) == (
        ["IME Deux"],
        ["EHPAD Un"],
    )
    assert (list(blocked["MSSanté"]), list(ready["MSSanté"])) == (["❌ zéro"], ["✅ ok"])


def test_method_page_reads_the_referentiel(tiny_store: Path) -> None:
    at = open_page("pages/methode.py")
    assert not at.exception
    assert "Référentiel 2026.11-v1" in at.caption[0].value
    # Text tables (Markdown), their cells escaped: « \_ » shows « _ ».
    assert not at.dataframe and not at.table
    rates = text_tables(at)[1]
    assert list(rates["Code"])[0] == "taux_dossiers_actifs"
    assert any("| taux\\_dossiers\\_actifs |" in m.value for m in at.markdown)
    assert list(rates.columns) == ["Code", "Libellé", "Numérateur", "Dénominateur", "Cible"]


def test_establishment_numbers_equal_the_cli(tiny_store: Path) -> None:
    """Every value the page shows for an ESMS is the one `dui-metrics indicators` prints."""
    script = shutil.which("dui-metrics", path=str(Path(sys.executable).parent))
    cli = subprocess.run(
        [script, "indicators", "--finess-et", "690000021", "--format", "json"],
        env={**os.environ, "DUI_METRICS_STORE": str(tiny_store)},
        capture_output=True,
        text=True,
        check=True,
    )
    expected = json.loads(cli.stdout)
    at = open_page("pages/etablissement.py")
    at.selectbox(key="finess_et").set_value("690000021").run()
    assert not at.dataframe  # the monthly values' grid waits to be asked for
    at.session_state["valeurs"] = True  # the user opens « Tableau des valeurs mensuelles »
    shown = at.run().dataframe[-1].value
    assert len(shown) == len(expected) == 33
    for row, cli_row in zip(shown.itertuples(index=False), expected, strict=True):
        year, month = map(int, cli_row["periode"].split("-"))
        assert row[0] == month_short(dt.date(year, month, 1))
        assert row[1] == SHORT_LABELS[cli_row["indicateur"]]
        value = cli_row["valeur"]
        is_rate = cli_row["indicateur"].startswith("taux_")
        assert row[2] == (fr_percent(value) if is_rate else fr_int(value))


def test_og_page_window_length_changes_the_verdict(tiny_store: Path) -> None:
    at = og_page()
    at.selectbox(key="og").set_value("690000005").run()
    at.selectbox(key="au").set_value(at.selectbox(key="au").options[-1]).run()
    at.number_input(key="fenetre").set_value(1).run()
    # A 1-month window ending 01/2025 holds January only: E2 sends 0 MSSanté messages then.
    (gaps,) = [d for d in screen_tables(at) if "Écart" in d.columns]
    assert list(gaps["Écart"]) == ["0 message MSSanté envoyé sur 01/2025"]


def test_a_table_of_up_to_50_rows_is_text_beyond_a_grid() -> None:
    def script() -> None:
        import pandas as pd

        from dui_metrics import ui

        ui.table(pd.DataFrame({"n": range(1, 51)}))  # 50 rows: text, every row shown
        ui.table(pd.DataFrame({"n": range(1, 52)}))  # 51 rows: the grid
        links = pd.DataFrame({"Fiche": ["etablissement?finess_et=690000021"]})
        ui.table(links, links={"Fiche": "Ouvrir"})

    at = AppTest.from_function(script, default_timeout=60).run()
    assert not at.exception
    short, link = text_tables(at)
    assert list(short["n"]) == [str(n) for n in range(1, 51)]
    assert len(at.dataframe) == 1 and len(at.dataframe[0].value) == 51
    assert list(link["Fiche"]) == ["etablissement?finess_et=690000021"]
    assert "| [Ouvrir](etablissement?finess_et=690000021) |" in at.markdown[1].value


def test_long_tables_show_their_first_rows_and_downloads_hold_all() -> None:
    def script() -> None:
        import pandas as pd

        from dui_metrics import ui

        frame = pd.DataFrame({"n": range(1, 1_236)})
        ui.table(frame, limit=3)
        ui.table(frame.head(3), limit=3)
        ui.download_buttons(frame, "t", key="t")

    at = AppTest.from_function(script, default_timeout=60).run()
    assert not at.exception
    assert list(at.dataframe[0].value["n"]) == [1, 2, 3]
    # Only the first table is cut: one caption, with the French thousands separator.
    [caption] = at.caption
    assert caption.value == (
        "3 premières lignes affichées sur 1\u202f235 : les téléchargements CSV et XLSX "
        "contiennent le tableau complet."
    )
    assert len(at.get("download_button")) == 2


def test_downloads_are_written_in_full() -> None:
    from dui_metrics import ui

    frame = pd.DataFrame({"Taux": [0.5, 0.125], "N": [1, 1234]})
    # CSV for Excel: BOM, ";" separator, decimal comma; every row.
    assert ui.to_csv(frame).decode("utf-8-sig").splitlines() == ["Taux;N", "0,5;1", "0,125;1234"]
    sheet = openpyxl.load_workbook(io.BytesIO(ui.to_xlsx(frame))).active
    assert [[c.value for c in row] for row in sheet.iter_rows()] == [
        ["Taux", "N"],
        [0.5, 1],
        [0.125, 1234],
    ]


def test_establishment_search_narrows_a_long_list(
    tiny_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dui_metrics import ui

    # A store with more ESMS than the list shows (here 3 > 2, nationally 40,000 > 500).
    monkeypatch.setattr(ui, "CHOICES_LIMIT", 2)
    at = open_page("pages/etablissement.py")
    assert not at.exception
    # By name: EHPAD Un, IME Deux, SSIAD Trois -> the first two; EHPAD Un shown.
    assert at.selectbox(key="finess_et").options == ["EHPAD Un (690000013)", "IME Deux (690000021)"]
    assert at.caption[1].value == (
        "3 établissements : la liste propose les 2 premiers par nom ; tapez une partie du nom "
        "ou du FINESS pour les autres."
    )
    at.text_input(key="recherche").input("trois").run()
    # One match; the ESMS on screen stays first in the list until another is chosen.
    assert at.selectbox(key="finess_et").options == [
        "EHPAD Un (690000013)",
        "SSIAD Trois (330000019)",
    ]
    assert at.caption[1].value == "1 établissement sur 3 correspond à « trois »"
    at.selectbox(key="finess_et").set_value("330000019").run()
    assert "**SSIAD Trois** · FINESS 330000019" in at.markdown[0].value
    at.text_input(key="recherche").input("ÉHPAD un").run()  # accents and case ignored
    assert at.selectbox(key="finess_et").options == [
        "SSIAD Trois (330000019)",
        "EHPAD Un (690000013)",
    ]


def test_search_choices_words_prefix_and_limit() -> None:
    from dui_metrics import ui

    labels = pd.DataFrame(
        {"libelle": ["Clos Fleuri (690000013)", "Les Tilleuls (690000021)", "Tilleul (3300)"]},
        index=["690000013", "690000021", "3300"],
    )
    labels["cle"] = labels["libelle"].map(ui.normalize_key)
    # "tilleul" is in two labels; both words "les" and "tilleul" only in one.
    assert ui.search_choices(labels, "tilleul", limit=5) == (["690000021", "3300"], 2)
    assert ui.search_choices(labels, "Les  TILLEUL", limit=5) == (["690000021"], 1)
    # FINESS digits; the current choice is kept first when it does not match.
    assert ui.search_choices(labels, "6900000", keep="3300", limit=5) == (
        ["3300", "690000013", "690000021"],
        2,
    )
    # No search: every code matches, the first `limit` are offered.
    assert ui.search_choices(labels, "", limit=1) == (["690000013"], 3)


def test_server_warms_every_page_of_the_app_default_first() -> None:
    # dui_metrics.server opens these addresses in turn: "" is app.py's default page
    # (accueil), so that a fresh server switches to app.py's navigation before any page.
    from dui_metrics.server import page_names

    assert page_names(Path(APP).parent / "pages") == [
        "",
        "comparaison",
        "donnees",
        "editeur",
        "etablissement",
        "methode",
        "organisme_gestionnaire",
    ]


def test_every_page_after_every_other_keeps_working(tiny_store: Path) -> None:
    """A widget key is one widget for the whole session: the OG chosen on Organisme
    gestionnaire (one choice) once reached Comparaison's « og » (several choices) and broke
    it (TypeError), and Comparaison's empty editor list reached Éditeur. Every page is opened
    after every other, with its choices made."""
    at = og_page()
    at.selectbox(key="og").set_value("690000005").run()
    pages = sorted(f"pages/{p.name}" for p in (Path(APP).parent / "pages").glob("*.py"))
    for first in pages:
        for then in pages:
            at.switch_page(first).run()
            assert not at.exception, first
            at.switch_page(then).run()
            assert not at.exception, (first, then)
            assert not [e.value for e in at.error if "n'a pas pu s'afficher" in e.value]


def test_gap_rows_say_what_to_do_and_link_to_the_establishment(tiny_store: Path) -> None:
    at = og_page()
    (gaps,) = [d for d in screen_tables(at) if "Écart" in d.columns]
    rows = gaps.set_index("FINESS ET")
    # E2 (OG A, EdA, BC-A): MSSanté at 0 over 01–03/2025.
    assert rows.loc["690000021", "Statut"] == "❌ zéro"
    assert rows.loc["690000021", "À faire"] == "vérifier le paramétrage MSSanté"
    assert (rows.loc["690000021", "Éditeur"], rows.loc["690000021", "Bon de commande"]) == (
        "EdA",
        "BC-A",
    )
    assert rows.loc["690000021", "Fiche"] == "etablissement?finess_et=690000021&au=2025-03-01"
    # E3 (OG B, EdB): nothing ever received, every criterion but the deployment missing,
    # one thing to do: one row naming the six criteria.
    e3 = gaps[gaps["FINESS ET"] == "330000019"]
    assert len(e3) == 1 and e3["Statut"].iloc[0] == "❌ manquant"
    assert e3["À faire"].iloc[0] == "demander le premier export à l'éditeur EdB"
    assert e3["Critère"].iloc[0] == (
        "INS, DMP, MSSanté, Dossiers actifs, Avec projet perso., Avec événement"
    )


# OG A with two ESMS; E2 sends no March export. INS: E1 20, 20, 25; E2 -, 8, -.
GAP_MONTH = HEADER + (
    "690000013;2025-01;40;30;20;25;20;10;5\n"
    "690000013;2025-02;40;30;20;25;20;10;5\n"
    "690000013;2025-03;40;30;20;25;25;10;5\n"
    "690000021;2025-02;40;30;20;25;8;10;5\n"
)


@pytest.mark.parametrize("value", ["330000001", "OG B (330000001)"])
def test_an_address_chooses_the_og_by_its_finess_ej_or_its_label(tiny_store, value) -> None:
    # The select box's own address holds the label; a link written by hand, the FINESS EJ.
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.switch_page("pages/organisme_gestionnaire.py")
    at.query_params["og"] = value
    at.run()
    assert at.selectbox(key="og").value == "330000001"
    # OG B holds only E3, which has no data.
    assert metrics(at) == {READY: "0", ZERO: "0", MISSING: "1"}


def test_card_change_is_at_constant_perimeter(store_from, monkeypatch) -> None:
    monkeypatch.setenv("DUI_METRICS_STORE", str(store_from(REFERENCE, GAP_MONTH)))
    at = og_page()
    at.selectbox(key="og").set_value("690000005").run()
    card = next(m for m in at.metric if m.label == "INS qualifiées")
    # March: 25 (E1 only). Raw change 25 - (20 + 8) = -3; over E1, present both months: +5.
    assert (card.value, card.delta) == ("25", "+5")
    assert card.proto.direction == MetricProto.MetricDirection.UP
    captions = [c.value for c in at.caption]
    assert "1 / 2 ESMS ont transmis en mars 2025" in captions


# OG A, both ESMS present in February and March. E1 drops: projet personnalisé 20 → 15 and
# INS 20 → 17; E2 unchanged (pp 20 of 30 active records, INS 8); DMP 10 + 10 both months.
DROP = HEADER + (
    "690000013;2025-02;40;30;20;25;20;10;5\n"
    "690000013;2025-03;40;30;15;25;17;10;5\n"
    "690000021;2025-02;40;30;20;25;8;10;5\n"
    "690000021;2025-03;40;30;20;25;8;10;5\n"
)


def test_card_drop_reads_with_a_minus_sign_and_a_down_arrow(store_from, monkeypatch) -> None:
    monkeypatch.setenv("DUI_METRICS_STORE", str(store_from(REFERENCE, DROP)))
    at = og_page()
    at.selectbox(key="og").set_value("690000005").run()
    cards = {m.label: m for m in at.metric}
    direction = MetricProto.MetricDirection
    # INS: 28 in February, 25 in March: −3, a true minus (U+2212) as in the tables.
    ins = cards["INS qualifiées"]
    assert (ins.value, ins.delta) == ("25", "\u22123")
    assert ins.proto.direction == direction.DOWN
    # Projet personnalisé: 40 / 60 = 66,67 % in February, 35 / 60 = 58,33 % in March:
    # −8,33 points, shown to one decimal.
    (pp,) = [m for label, m in cards.items() if "projet" in label.lower()]
    assert pp.delta == "\u22128,3 pts"
    assert pp.proto.direction == direction.DOWN
    # DMP: 20 both months: no change, no arrow.
    (dmp,) = [m for label, m in cards.items() if "DMP" in label]
    assert (dmp.value, dmp.delta) == ("20", "+0")
    assert dmp.proto.direction == direction.NONE


def test_one_vocabulary_same_counts_on_accueil_og_and_editeur(tiny_store: Path) -> None:
    # E1 ready, E2 blocked by a zero (MSSanté 0), E3 blocked for want of data: 1 / 1 / 1,
    # under the same three words on the three pages.
    expected = {READY: "1", ZERO: "1", MISSING: "1"}
    home = AppTest.from_file(APP, default_timeout=60).run()
    assert metrics(home) == expected
    assert metrics(og_page()) == expected
    # Éditeur, one editor at a time: EdA holds E1 and E2, EdB holds E3; they add up.
    editor = open_page("pages/editeur.py")
    per_editor = {}
    for name in ("EdA", "EdB"):
        editor.selectbox(key="editeur").set_value(name).run()
        per_editor[name] = metrics(editor)
    assert per_editor == {
        "EdA": {READY: "1", ZERO: "1", MISSING: "0"},
        "EdB": {READY: "0", ZERO: "0", MISSING: "1"},
    }
    # no page uses another word for the same count
    for at in (home, editor):
        labels = {m.label for m in at.metric}
        assert not labels & {"ESMS bloqués", "ESMS bloquants", "⛔ ESMS bloquants"}


def test_og_trends_open_on_request_with_the_blocking_criterion_in_red(tiny_store: Path) -> None:
    at = og_page()
    at.selectbox(key="og").set_value("690000005").run()
    assert not at.get("plotly_chart")  # closed: no figure sent to the browser
    at.session_state["courbes"] = True  # the user opens « Tendances »
    at.run()
    figures = {
        json.loads(c.proto.spec)["layout"]["title"]["text"]: json.loads(c.proto.spec)
        for c in at.get("plotly_chart")
    }
    assert len(figures) == 6
    # OG A: E2 sends 0 MSSanté message (blocks the VA); INS is ok in both ESMS.
    colour = {t: f["data"][0]["line"]["color"] for t, f in figures.items()}
    assert colour["Messages MSSanté envoyés"] == "#D55E00"
    assert colour["INS qualifiées"] == "#0072B2"
