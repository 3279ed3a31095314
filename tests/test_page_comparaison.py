"""The Comparaison page under AppTest, on the tiny store of test_compare.py (six ESMS in the
départements 69, 01 and 33; usage 03/2025–05/2025; hand-worked values in that module)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from table_support import screen_tables

from dui_metrics.store import Store
from tests.test_compare import E1, E2, E3, E4, E5, E6, HEADER, OG_C, ingest_tiny

APP = str(Path(__file__).resolve().parent.parent / "app.py")
NNBSP = "\u202f"


@pytest.fixture
def tiny_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ref) -> Path:
    path = tmp_path / "store.duckdb"
    with Store(path) as store:
        ingest_tiny(store, tmp_path / "in", ref)
    monkeypatch.setenv("DUI_METRICS_STORE", str(path))
    return path


def page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60).run()
    return at.switch_page("pages/comparaison.py").run()


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def ranking(at: AppTest):
    return screen_tables(at)[0]


SPREAD, MAP = "Répartition des ESMS", "Carte par département"


def view(at: AppTest, tab: str) -> AppTest:
    at.session_state["vue"] = tab  # the user opens that tab
    return at.run()


def departements(at: AppTest):
    """The département table, under the map (its tab open)."""
    return screen_tables(view(at, MAP))[0]


def test_page_loads_with_default_period_and_rate(tiny_store: Path) -> None:
    at = page()
    assert not at.exception
    assert at.title[0].value == "Comparaison des établissements"
    for key in ("regions", "departements", "categories", "editeurs", "ogs"):
        assert at.multiselect(key=key).value == []
    assert at.selectbox(key="taux").value == "taux_dossiers_actifs"
    # Default period: the VA window, the 3 months ending with 05/2025.
    assert [m.isoformat() for m in at.select_slider(key="periode").value] == [
        "2025-03-01",
        "2025-05-01",
    ]
    assert at.toggle(key="petits_effectifs").value is True
    # The ranking first; the distribution and the map (Plotly) wait for their tab.
    assert [t.label for t in at.tabs] == ["Classement", SPREAD, MAP]
    assert not at.get("plotly_chart")
    assert len(at.get("download_button")) == 2  # CSV and XLSX of the ranking
    assert at.multiselect(key="departements").options == ["01 – Ain", "33 – Gironde", "69 – Rhône"]
    # 90 / 130 = 69,2 %; ready E1, E3, E6. Masking is on (three OGs): E2 (3 active records)
    # and E1 (its département's other member) are masked, leaving 2 rates shown (0.4, 0.9):
    # fewer than 5, no median.
    assert metrics(at) == {
        "ESMS comparés": "6",
        "Taux pondéré": f"69,2{NNBSP}%",
        "Médiane des ESMS": "—",
        "ESMS prêts": "3 sur 6",
    }
    table = ranking(at)
    assert list(table["FINESS ET"]) == [E6, E3, E1, E2, E4, E5]
    assert list(table["Taux"]) == [f"40,0{NNBSP}%", f"90,0{NNBSP}%", "masqué", "masqué", "—", "—"]
    at.toggle(key="petits_effectifs").set_value(False).run()
    # Unmasked: median of 0.3, 0.4, 0.75, 0.9 = 57,5 %.
    assert metrics(at)["Médiane des ESMS"] == f"57,5{NNBSP}%"
    table = ranking(at)
    assert list(table["FINESS ET"]) == [E2, E6, E1, E3, E4, E5]
    assert list(table["Taux"]) == [f"30,0{NNBSP}%", f"40,0{NNBSP}%", f"75,0{NNBSP}%"] + [
        f"90,0{NNBSP}%",
        "—",
        "—",
    ]
    deps = departements(at)
    # 01: 45/50; 33: (0 + 12)/(0 + 30); 69: (30 + 3)/(40 + 10).
    assert list(deps["Taux pondéré"]) == [f"90,0{NNBSP}%", f"40,0{NNBSP}%", f"66,0{NNBSP}%"]
    assert at.radio(key="carte").value == "taux"
    assert len(at.get("plotly_chart")) == 1  # the metropolitan map
    assert len(at.get("download_button")) == 2  # CSV and XLSX of the département table
    assert len(view(at, SPREAD).get("plotly_chart")) == 1  # the distribution
    assert not screen_tables(at)


def test_region_filter_changes_the_numbers(tiny_store: Path) -> None:
    at = page()
    at.multiselect(key="regions").select("84").run()
    assert not at.exception
    # Région 84 = E1, E2, E3: (30 + 3 + 45) / (40 + 10 + 50) = 78 / 100.
    assert metrics(at)["Taux pondéré"] == f"78,0{NNBSP}%"
    assert metrics(at)["ESMS prêts"] == "2 sur 3"
    # E3 shown, then E1 and E2 masked (by name).
    assert list(ranking(at)["FINESS ET"]) == [E3, E1, E2]


def test_rate_choice_changes_the_ranking(tiny_store: Path) -> None:
    at = page()
    at.selectbox(key="taux").set_value("taux_ins_qualifiees").run()
    # INS qualifiées / dossiers actifs in 05/2025: E6 6/12, E1 18/30, E2 2/3, E3 40/45.
    # E2 (2 and 3: small) and E1 (the other member of 69) are masked.
    table = ranking(at)
    assert list(table["FINESS ET"][:4]) == [E6, E3, E1, E2]
    assert list(table["Taux"][:4]) == [f"50,0{NNBSP}%", f"88,9{NNBSP}%", "masqué", "masqué"]
    assert "INS qualifiées" in table.columns
    # All: (6 + 18 + 2 + 40 + 0) / (12 + 30 + 3 + 45 + 0) = 66 / 90.
    assert metrics(at)["Taux pondéré"] == f"73,3{NNBSP}%"


def test_period_choice_changes_the_rate(tiny_store: Path) -> None:
    at = page()
    slider = at.select_slider(key="periode")
    assert slider.options[0] == "mars 2025"  # French month labels
    march = dt.date(2025, 3, 1)
    slider.set_range(march, march).run()
    assert not at.exception
    # 03/2025 only: 69 -> E1 20/40 + E2 3/10 = 23/50 = 46,0 %.
    deps = departements(at)
    assert deps.loc[deps["Département"] == "69 – Rhône", "Taux pondéré"].item() == f"46,0{NNBSP}%"


def test_small_count_toggle(tiny_store: Path) -> None:
    at = page()
    # E2 has 3 active records of 10 persons: « < 5 », and its other term is masked too.
    e2 = ranking(at).set_index("FINESS ET").loc[E2]
    assert (e2["Dossiers actifs"], e2["Personnes accompagnées"]) == ("< 5", "masqué")
    at.toggle(key="petits_effectifs").set_value(False).run()
    e2 = ranking(at).set_index("FINESS ET").loc[E2]
    assert (e2["Dossiers actifs"], e2["Personnes accompagnées"]) == ("3", "10")


def test_map_toggle_and_filters_with_no_match(tiny_store: Path) -> None:
    at = view(page(), MAP)
    at.radio(key="carte").set_value("va").run()
    assert not at.exception
    deps = screen_tables(at)[0]
    assert list(deps["Part des ESMS prêts"]) == [f"100,0{NNBSP}%", f"33,3{NNBSP}%"] + [
        f"50,0{NNBSP}%"
    ]
    # Région 84 (E1, E2, E3) and OG C (E4, E5, E6, in Gironde, région 75): nobody.
    at.multiselect(key="regions").select("84").run()
    at.multiselect(key="ogs").select(OG_C).run()
    assert not at.exception
    assert "Aucun ESMS ne correspond" in at.warning[0].value
    assert not screen_tables(at)


def test_departements_narrowed_by_the_regions_chosen(tiny_store: Path) -> None:
    at = page()
    at.multiselect(key="departements").select("33").run()
    assert metrics(at)["ESMS comparés"] == "3"  # E4, E5, E6
    # Région 84 (Auvergne-Rhône-Alpes) holds 01 and 69, not 33 (Nouvelle-Aquitaine, 75):
    # 33 leaves the options and the choice, without an error; E1, E2, E3 are compared.
    at.multiselect(key="regions").select("84").run()
    assert not at.exception
    departements = at.multiselect(key="departements")
    assert departements.options == ["01 – Ain", "69 – Rhône"]
    assert departements.value == []
    assert metrics(at)["ESMS comparés"] == "3"
    assert list(ranking(at)["FINESS ET"]) == [E3, E1, E2]
    # Both régions: every département again; 69 can be chosen.
    at.multiselect(key="regions").select("75").run()
    assert at.multiselect(key="departements").options == [
        "01 – Ain",
        "33 – Gironde",
        "69 – Rhône",
    ]


def test_link_with_a_departement_outside_its_region_opens_without_it(tiny_store: Path) -> None:
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.switch_page("pages/comparaison.py")
    # The address holds the options as shown (Streamlit binds a widget's labels).
    at.query_params.update(
        {"regions": "Auvergne-Rhône-Alpes", "departements": ["33 – Gironde", "69 – Rhône"]}
    )
    at.run()
    assert not at.exception
    assert at.multiselect(key="regions").value == ["84"]
    assert at.multiselect(key="departements").value == ["69"]
    assert metrics(at)["ESMS comparés"] == "2"  # E1, E2


def test_filters_speak_french(tiny_store: Path) -> None:
    at = page()
    placeholders = {m.key: m.proto.placeholder for m in at.multiselect}
    assert placeholders == {
        "regions": "Toutes les régions",
        "departements": "Tous les départements",
        "categories": "Toutes les catégories",
        "editeurs": "Tous les éditeurs",
        "ogs": "Tous les organismes",
    }
    # No « Select all » (English): an empty filter already keeps every ESMS.
    assert all(not m.proto.select_all for m in at.multiselect)


def test_masking_statement_on_the_page(tiny_store: Path) -> None:
    at = view(page(), MAP)
    caption = " ".join(c.value for c in at.caption)
    assert "les nombres d'établissements ne le sont pas" in caption
    assert "Médiane montrée à partir de 5 taux affichés" in caption


def test_empty_store_points_to_the_donnees_page(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "empty.duckdb"
    Store(path).close()
    monkeypatch.setenv("DUI_METRICS_STORE", str(path))
    at = page()
    assert not at.exception
    assert "Données" in at.info[0].value
    assert not screen_tables(at)


def test_overseas_departement_gets_its_own_map(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ref
) -> None:
    # 970400024 (FINESS prefix 9704 -> 974 La Réunion) sends usage only: 9/12 = 75,0 %.
    path = tmp_path / "store.duckdb"
    extra = {"reunion.csv": HEADER + "970400024;2025-05;12;9;4;4;4;1;1\n"}
    with Store(path) as store:
        ingest_tiny(store, tmp_path / "in", ref, extra)
    monkeypatch.setenv("DUI_METRICS_STORE", str(path))
    at = page()
    assert not at.exception
    deps = departements(at)
    assert len(at.get("plotly_chart")) == 2  # the metropolitan map, La Réunion
    assert deps.iloc[-1]["Département"] == "974 – La Réunion"
    assert deps.iloc[-1]["Taux pondéré"] == f"75,0{NNBSP}%"


def test_verdict_in_the_one_vocabulary(tiny_store: Path) -> None:
    from dui_metrics import ui, va

    at = page()
    # E6, E3 and E1 ready; E2 0 MSSanté message and E4 0 INS (zero); E5 no data.
    verdicts = ranking(at).set_index("FINESS ET")["VA"]
    assert verdicts[E6] == ui.OUTCOME_LABELS[va.READY]
    assert verdicts[E2] == verdicts[E4] == ui.OUTCOME_LABELS[va.BLOCKED_ZERO]
    assert verdicts[E5] == ui.OUTCOME_LABELS[va.BLOCKED_MISSING]
    [ready] = [m for m in at.metric if m.label == va.OUTCOME_COUNTS[va.READY]]
    assert ready.value == "3 sur 6"
    assert ready.help.endswith("ESMS bloqués par un zéro : 2 ; ESMS bloqués faute de données : 1.")
