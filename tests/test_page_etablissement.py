"""The Établissement page under AppTest, on test_app.py's tiny store: OG A (690000005) holds
E1 690000013 « EHPAD Un » (ready) and E2 690000021 « IME Deux » (0 MSSanté message every
month); OG B (330000001) holds E3 330000019 « SSIAD Trois » (deployed, no usage data).
Usage 01/2025–03/2025; the VA window ends with the latest month, 03/2025."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from table_support import screen_tables

from dui_metrics import charts, ui, va
from tests.test_app import APP, HEADER, REFERENCE, USAGE

E1, E2, E3 = "690000013", "690000021", "330000019"
OG_B = "330000001"
PAGE = "pages/etablissement.py"


@pytest.fixture
def tiny_store(store_from, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = store_from(REFERENCE, USAGE)
    monkeypatch.setenv("DUI_METRICS_STORE", str(path))
    return path


def open_page(query: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.switch_page(PAGE)
    at.query_params.update(query or {})
    return at.run()


def open_curves(at: AppTest) -> AppTest:
    at.session_state["courbes"] = True  # the user opens « Tendances mensuelles »
    return at.run()


def trends(at: AppTest) -> dict[str, dict]:
    """Title → figure (as Plotly JSON) of each trend chart."""
    import json

    figures = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    return {f["layout"]["title"]["text"]: f for f in figures}


def test_a_link_opens_that_esms_on_that_month(tiny_store: Path) -> None:
    # The gap tables' link: FINESS ET and the month as its first day.
    at = open_page({"finess_et": E2, "au": "2025-02-01"})
    assert not at.exception
    assert at.selectbox(key="finess_et").value == E2
    assert at.selectbox(key="au").value == dt.date(2025, 2, 1)
    assert "**IME Deux** · FINESS 690000021" in at.markdown[0].value
    # Window ending 02/2025: 12/2024–02/2025.
    assert "12/2024–02/2025" in at.error[0].value
    # The user's next choice is kept (the address no longer forces E2).
    at.selectbox(key="finess_et").set_value(E1).run()
    assert at.selectbox(key="finess_et").value == E1
    assert at.selectbox(key="au").value == dt.date(2025, 2, 1)


def test_an_unknown_finess_or_month_in_the_link_is_ignored(tiny_store: Path) -> None:
    at = open_page({"finess_et": "999999999", "au": "2031-13-01"})
    assert not at.exception
    assert at.selectbox(key="au").value == dt.date(2025, 3, 1)  # the latest month


def test_opens_on_the_og_chosen_before(tiny_store: Path) -> None:
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.switch_page("pages/organisme_gestionnaire.py").run()
    at.selectbox(key="og").set_value(OG_B).run()
    at.switch_page(PAGE).run()
    assert not at.exception
    # OG B's first (only) ESMS, not the first of the list (EHPAD Un, OG A).
    assert at.selectbox(key="finess_et").value == E3


def test_without_an_og_opens_on_the_first_esms_by_name(tiny_store: Path) -> None:
    at = open_page()
    # EHPAD Un < IME Deux < SSIAD Trois.
    assert at.selectbox(key="finess_et").value == E1
    assert at.success[0].value.startswith("Prêt pour la VA sur 01/2025–03/2025")


def test_blocked_by_a_zero_in_the_verdict_words(tiny_store: Path) -> None:
    at = open_page({"finess_et": E2})
    assert at.error[0].value == "Bloque la VA sur 01/2025–03/2025 : bloqué par un zéro (MSSanté)."
    table = screen_tables(at)[0]  # a text table
    assert list(table.columns) == ["Statut", "Critère", "Détail"]  # the status first
    mss = table.set_index("Critère").loc["MSSanté", "Statut"]
    assert mss == ui.STATUS_LABELS[va.ZERO]
    assert "None" not in table.to_string()


def test_blocked_for_want_of_data(tiny_store: Path) -> None:
    at = open_page({"finess_et": E3})
    # Deployed (a deployment date) but no usage at all: six criteria missing.
    assert at.error[0].value == (
        "Bloque la VA sur 01/2025–03/2025 : bloqué faute de données (INS, DMP, MSSanté, "
        "Dossiers actifs, Avec projet perso., Avec événement)."
    )


def test_missing_and_zero_named_together(store_from, monkeypatch) -> None:
    # E1 sends INS 0 and no DMP column value (empty: missing) over 01–03/2025.
    usage = HEADER + "".join(f"{E1};2025-0{m};40;30;20;25;0;;5\n" for m in (1, 2, 3))
    monkeypatch.setenv("DUI_METRICS_STORE", str(store_from(REFERENCE, usage)))
    at = open_page({"finess_et": E1})
    assert at.error[0].value == (
        "Bloque la VA sur 01/2025–03/2025 : bloqué faute de données (DMP) et par un zéro (INS)."
    )


def test_trend_charts_in_french_with_the_blocking_criterion_in_red(tiny_store: Path) -> None:
    at = open_curves(open_page({"finess_et": E2}))
    figures = trends(at)
    mss = figures[ui.SHORT_LABELS["mss_messages_envoyes"]]
    assert mss["data"][0]["line"]["color"] == charts.RED
    # 0 message every month: the axis runs 0 to 1, not −1 to 1, with the VA threshold.
    assert mss["layout"]["yaxis"]["range"] == [0, 1]
    assert [a["text"] for a in mss["layout"]["annotations"]] == [charts.THRESHOLD_TEXT]
    ins = figures[ui.SHORT_LABELS["ins_qualifiees"]]
    assert ins["data"][0]["line"]["color"] == charts.BLUE
    rate = figures[ui.SHORT_LABELS["taux_dossiers_actifs"]]
    assert rate["layout"]["yaxis"]["range"] == [0, 100]
    assert all(f["layout"]["separators"] == ",\u202f" for f in figures.values())
    assert mss["layout"]["xaxis"]["ticktext"] == ["janv. 2025", "févr. 2025", "mars 2025"]


def test_no_curve_until_asked_then_two_tabs_only_the_open_one_drawn(tiny_store: Path) -> None:
    at = open_page({"finess_et": E1})
    # First view: no Plotly figure (its 4.6 MB script waits), the expander closed.
    assert not at.exception and trends(at) == {}
    assert [e.label for e in at.expander if e.label.startswith("Tendances")] == [
        "Tendances mensuelles : une courbe par indicateur, avec la fenêtre et le seuil de la VA"
    ]
    at = open_curves(at)
    # The VA criteria first: INS, DMP, MSSanté and the three rates of the VA.
    assert set(trends(at)) == {
        ui.SHORT_LABELS[c]
        for c in (
            "ins_qualifiees",
            "dmp_documents_envoyes",
            "mss_messages_envoyes",
            "taux_dossiers_actifs",
            "taux_dossiers_actifs_avec_pp",
            "taux_dossiers_actifs_avec_evenement",
        )
    }
    at.session_state["tendances"] = "Autres indicateurs"  # the user opens that tab
    at.run()
    assert not at.exception
    assert ui.SHORT_LABELS["personnes_accompagnees"] in trends(at)
    assert ui.SHORT_LABELS["mss_messages_envoyes"] not in trends(at)
