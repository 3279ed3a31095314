"""The Éditeur page under AppTest, on the five-ESMS store of tests/test_editor_export.py (hand-
worked there): editor « Logi Soft / Santé » serves E1 (BC-1, ready), E2 (BC-1, 0 MSSanté
message: blocked by a zero), E3 (BC-2, no data: blocked for want of data) and E5 (no order,
INS 0: blocked by a zero); VA window 01/2025–03/2025."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import AppTest
from table_support import screen_tables

from dui_metrics import va
from tests.conftest import build_store
from tests.test_editor_export import E1, E2, E3, E5, EDITOR, OTHER, REFERENCE, USAGE, WINDOW

APP = str(Path(__file__).resolve().parent.parent / "app.py")
COUNTS = ["ESMS clients", *va.OUTCOME_COUNTS.values()]


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = build_store(tmp_path / "store", REFERENCE, USAGE)
    monkeypatch.setenv("DUI_METRICS_STORE", str(path))
    return path


@pytest.fixture
def downloads(monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    """File name → data callable of every download button drawn (built when clicked)."""
    seen: dict[str, object] = {}
    add = MediaFileManager.add_deferred

    def record(self, data_callable, mimetype, coordinates, file_name=None, **kwargs):
        seen[file_name] = data_callable
        return add(self, data_callable, mimetype, coordinates, file_name, **kwargs)

    monkeypatch.setattr(MediaFileManager, "add_deferred", record)
    return seen


def editor_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60).run()
    at = at.switch_page("pages/editeur.py").run()
    assert at.selectbox(key="editeur").options == [OTHER, EDITOR]
    return at.selectbox(key="editeur").set_value(EDITOR).run()


def counts(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric if m.label in COUNTS}


def tables(at: AppTest) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """The orders table, and the clients × criteria tables by their headings (one per
    verdict, in the page's order)."""
    orders, *matrices = screen_tables(at)
    headings = [m.value for m in at.markdown if m.value.startswith(("**❌", "**✅"))]
    return orders, dict(zip(headings, matrices, strict=True))


def test_counts_under_the_verdict_words_and_the_tables(store: Path, downloads) -> None:
    at = editor_page()
    assert not at.exception
    # E1 ready; E2 and E5 blocked by a zero; E3 for want of data: 1 + 2 + 1 = 4 clients.
    assert counts(at) == {
        "ESMS clients": "4",
        "ESMS prêts": "1",
        "ESMS bloqués par un zéro": "2",
        "ESMS bloqués faute de données": "1",
    }
    assert list(counts(at)) == COUNTS  # in this order on screen
    assert f"Fenêtre de la VA : {WINDOW}." in [c.value for c in at.caption]
    commande = at.selectbox(key="commande")
    assert commande.options == ["Tous les bons de commande", "BC-1", "BC-2"]
    assert commande.value is None

    orders, matrix = tables(at)
    assert list(orders.columns) == [
        "VA", "Bon de commande", "Organisme gestionnaire", "ESMS", "Prêts",
        "Bloqués par un zéro", "Bloqués faute de données",
    ]  # fmt: skip
    assert orders["VA"].tolist() == [
        "❌ bloqué par un zéro",  # BC-1: E2
        "❌ bloqué faute de données",  # BC-2: E3
        "❌ bloqué par un zéro",  # no order: E5
    ]
    assert orders["Bon de commande"].tolist()[:2] == ["BC-1", "BC-2"]
    assert orders[["ESMS", "Prêts", "Bloqués par un zéro", "Bloqués faute de données"]].to_numpy(
    ).tolist() == [["2", "1", "1", "0"], ["1", "0", "0", "1"], ["1", "0", "1", "0"]]  # fmt: skip
    # One table per verdict, headed by its count's words: E3 (no data) first, then the zeros
    # (BC-1's E2, then E5 without an order), then E1.
    assert list(matrix) == [
        "**❌ ESMS bloqués faute de données : 1**",
        "**❌ ESMS bloqués par un zéro : 2**",
        "**✅ ESMS prêts : 1**",
    ]
    missing, zeros, ready = matrix.values()
    assert list(zeros.columns) == [
        "Établissement", "Déployé", "INS", "DMP", "MSSanté", "Dossiers actifs",
        "Avec projet perso.", "Avec événement", "Dernier mois reçu", "Bon de commande",
        "FINESS ET",
    ]  # fmt: skip
    assert missing["FINESS ET"].tolist() == [E3]
    assert zeros["FINESS ET"].tolist() == [E2, E5]
    assert ready["FINESS ET"].tolist() == [E1]
    assert missing["MSSanté"].tolist() == ["❌ manquant"]
    assert missing["Dernier mois reçu"].tolist() == ["aucun"]
    assert zeros["MSSanté"].tolist() == ["❌ zéro", "✅ ok"]
    assert zeros["INS"].tolist() == ["✅ ok", "❌ zéro"]
    assert zeros["Dernier mois reçu"].tolist() == ["mars 2025", "mars 2025"]
    assert set(ready.iloc[0, 1:8]) == {"✅ ok"}
    # A missing value (E5's order) reads « — », never « None ».
    assert orders["Bon de commande"].tolist()[2] == "—"
    assert zeros["Bon de commande"].tolist() == ["BC-1", "—"]
    assert "None" not in "".join(frame.to_string() for frame in screen_tables(at))

    stem = "preuves_editeur_logi-soft-sante_toutes-commandes_2025-03"
    assert {f"{stem}.csv", f"{stem}.xlsx"} <= set(downloads)
    orders_csv = downloads["commandes_editeur_logi-soft-sante_toutes-commandes_2025-03.csv"]()
    orders_file = pd.read_csv(io.BytesIO(orders_csv), sep=";", dtype=str, encoding="utf-8-sig")
    # The screen's « ✅ prêt » is the word « prêt » in the file, as are the other outcomes.
    assert set(orders_file["VA"]) <= set(va.OUTCOME_WORDS.values())
    assert len(orders_file) == len(orders) and "✅" not in orders_csv.decode("utf-8-sig")
    proof = pd.read_csv(
        io.BytesIO(downloads[f"{stem}.csv"]()), sep=";", dtype=str, encoding="utf-8-sig"
    )
    assert len(proof) == 4 * 7  # every client ESMS, 7 criteria each
    assert downloads[f"{stem}.xlsx"]().startswith(b"PK")


def test_the_order_filter_narrows_counts_tables_and_files(store: Path, downloads) -> None:
    at = editor_page()
    at = at.selectbox(key="commande").set_value("BC-1").run()
    assert not at.exception
    # BC-1: E1 ready, E2 blocked by a zero.
    assert counts(at) == {
        "ESMS clients": "2",
        "ESMS prêts": "1",
        "ESMS bloqués par un zéro": "1",
        "ESMS bloqués faute de données": "0",
    }
    orders, matrix = tables(at)
    assert orders["Bon de commande"].tolist() == ["BC-1"]
    assert [t["FINESS ET"].tolist() for t in matrix.values()] == [[E2], [E1]]
    assert "Bon de commande" not in matrix["**✅ ESMS prêts : 1**"].columns  # one order
    stem = "preuves_editeur_logi-soft-sante_bc-1_2025-03"
    proof = pd.read_csv(
        io.BytesIO(downloads[f"{stem}.csv"]()), sep=";", dtype=str, encoding="utf-8-sig"
    )
    assert set(proof["Bon de commande"]) == {"BC-1"}
    assert proof["FINESS ET"].drop_duplicates().tolist() == [E1, E2]  # by name
    mss = proof[(proof["FINESS ET"] == E2) & (proof["Critère"] == "MSSanté")].iloc[0]
    assert (mss["Statut"], mss["Valeur"], mss["VA"]) == ("zéro", "0", "bloqué par un zéro")
    # The evidence pack follows the order: BC-1 of OG A only.
    assert at.selectbox(key="pack_commande").options == ["BC-1 – OG A (690000005)"]


def test_an_order_chosen_on_another_page(store: Path) -> None:
    # Organisme gestionnaire shares the key « commande » (and the URL's parameter): its
    # order BC-9 (OG B, another editor) is not this editor's: all orders shown.
    at = AppTest.from_file(APP, default_timeout=60).run()
    at = at.switch_page("pages/organisme_gestionnaire.py").run()
    at = at.selectbox(key="og").set_value("330000001").run()
    at = at.selectbox(key="commande").set_value("BC-9").run()
    at = at.switch_page("pages/editeur.py").run()
    assert not at.exception
    at = at.selectbox(key="editeur").set_value(EDITOR).run()
    assert not at.exception
    assert counts(at)["ESMS clients"] == "4"
    assert at.selectbox(key="commande").value is None
