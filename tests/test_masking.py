"""Small-count masking (issue 16, « Pas de divulgation par les petits effectifs »): every route
tried to work a masked value back fails.

The hand-made view (one rate, dossiers actifs / personnes accompagnées; three OGs):

| ESMS | OG | dép. | num | den | rate | masked because |
|---|---|---|---|---|---|---|
| A1 690000011 | 1 | 69 | 3 | 10 | 0.3 | 3 is small (primary): rate and both terms |
| A2 690000022 | 2 | 69 | 30 | 40 | 0.75 | 69's total is shown and A1 is its only masked member: A2 is the smallest other (40 < 80) |
| A3 690000033 | 1 | 69 | 50 | 80 | 0.625 | shown |
| B1 010000011 | 2 | 01 | 45 | 50 | 0.9 | shown |
| B2 010000022 | 3 | 01 | 20 | 25 | 0.8 | 01 is masked as the total's complement (below): a masked total must hide a member, the smallest |
| C1 330000011 | 3 | 33 | 2 | 2 | 1.0 | 2 is small (primary); 33's total 2/2 is small: 33 masked |
| C2 330000022 | 3 | 33 | 0 | 0 | — | not computable, 0 is shown |
| C3 330000033 | 1 | 33 | — | — | — | no data |

Département totals: 69 83/130 (shown), 01 65/75, 33 2/2 (masked). The view's total 150/207
is shown as a rate; as 33 is a masked member of it, another département is masked, the
smallest shown one by denominator: 01 (75 < 130).
"""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest
from table_support import screen_tables

from dui_metrics import charts, compare, masking, referentiel
from dui_metrics.formats import fr_percent
from dui_metrics.ui import to_csv, to_xlsx
from tests.test_compare import E1, E2, E6, ingest_tiny

APP = str(Path(__file__).resolve().parent.parent / "app.py")
RATE = "taux_dossiers_actifs"
NUM, DEN = "Dossiers actifs", "Personnes accompagnées"
A1, A2, A3 = "690000011", "690000022", "690000033"
B1, B2 = "010000011", "010000022"
C1, C2, C3 = "330000011", "330000022", "330000033"
ROWS = [  # finess, OG, département, numerator, denominator, ready for the VA
    (A1, "OG1", "69", 3, 10, False),
    (A2, "OG2", "69", 30, 40, True),
    (A3, "OG1", "69", 50, 80, True),
    (B1, "OG2", "01", 45, 50, True),
    (B2, "OG3", "01", 20, 25, True),
    (C1, "OG3", "33", 2, 2, True),
    (C2, "OG3", "33", 0, 0, False),
    (C3, "OG1", "33", None, None, False),
]
VALUES = {f: (n, d) for f, _, _, n, d, _ in ROWS}
MASKED = {A1, A2, B2, C1}
REGIONS = {"69": "84", "01": "84", "33": "75"}


def view(rows=ROWS) -> pd.DataFrame:
    """A per-ESMS frame as `compare.esms_rates` returns it."""
    frame = pd.DataFrame(
        {
            "finess_et": [r[0] for r in rows],
            "finess_ej": [r[1] for r in rows],
            "etablissement": [f"ESMS {r[0]}" for r in rows],
            "og_libelle": [r[1] for r in rows],
            "editeur_libelle": "Éditeur",
            "categorie_libelle": "EHPAD (500)",
            "departement": [r[2] for r in rows],
            "departement_libelle": [compare.departement_label(r[2]) for r in rows],
            "departement_nom": [compare.departement_label(r[2]).split(" – ")[1] for r in rows],
            "region": [REGIONS[r[2]] for r in rows],
            "region_libelle": [REGIONS[r[2]] for r in rows],
            "numerateur": pd.array([r[3] for r in rows], dtype="Int64"),
            "denominateur": pd.array([r[4] for r in rows], dtype="Int64"),
            "pret_va": [r[5] for r in rows],
        }
    )
    num = frame["numerateur"].astype("float64")
    den = frame["denominateur"].astype("float64")
    frame["taux"] = (num / den.where(den > 0)).astype("float64")
    frame["statut_taux"] = [
        compare.COMPUTED if pd.notna(t) else compare.NOT_COMPUTABLE if pd.notna(d) else "manquant"
        for t, d in zip(frame["taux"], frame["denominateur"], strict=True)
    ]
    return frame


@pytest.fixture
def frame() -> pd.DataFrame:
    return view()


@pytest.fixture
def masks(frame) -> masking.Suppression:
    return compare.suppression(frame)


def masked_values(finess: str) -> set[float]:
    """What must not be worked back for a masked ESMS: its terms and its rate."""
    num, den = VALUES[finess]
    return {float(num), float(den), num / den}


def number(value) -> float | None:
    """A cell as a number, or None when it is not one (« < 5 », « masqué », blank)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return None if pd.isna(value) else float(value)
    try:
        return float(str(value).replace(",", "."))
    except ValueError:
        return None


def array(value) -> list:
    """A Plotly JSON array as a list: plotly writes numeric arrays as typed base64
    (``{"dtype": "f8", "bdata": …}``), which a text search would not see into."""
    if isinstance(value, dict) and "bdata" in value:
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"]).tolist()
    return list(value or [])


# --- the rule -------------------------------------------------------------------------------
def test_the_masks_of_the_view(masks) -> None:
    assert masks.esms == MASKED
    assert masks.groups == {"01", "33"}
    assert masks.total is False


@pytest.mark.parametrize(
    ("rows", "esms", "groups", "total"),
    [
        pytest.param(
            [("1", "69", 0, 0), ("2", "69", 30, 40), ("3", "01", 9, 9)],
            set(),
            set(),
            False,
            id="zero-is-not-small",
        ),
        pytest.param(
            [("1", "69", 4, 40), ("2", "69", 30, 40), ("3", "69", 5, 5), ("4", "01", 9, 9)],
            {"1", "3"},
            set(),
            False,
            id="complement-is-the-smallest-other-member",
        ),
        pytest.param(
            [("1", "69", 4, 40), ("2", "69", 0, 0), ("3", "01", 9, 9), ("4", "01", 50, 60)],
            {"1", "3"},
            {"69", "01"},
            False,
            id="no-complement-masks-the-group-then-another-group",
        ),
        pytest.param(
            [("1", "69", 2, 3), ("2", "69", 0, 0)],
            {"1"},
            {"69"},
            True,
            id="one-group-only-masks-the-total",
        ),
        pytest.param(
            [("1", "69", 7, 9), ("2", "69", 1, 8), ("3", "69", 2, 9), ("4", "69", 50, 60)],
            {"2", "3"},
            set(),
            False,
            id="two-small-members-need-no-complement",
        ),
    ],
)
def test_suppress_cases(rows, esms, groups, total) -> None:
    data = pd.DataFrame(rows, columns=["finess_et", "departement", "numerateur", "denominateur"])
    result = masking.suppress(data)
    assert (set(result.esms), set(result.groups), result.total) == (esms, groups, total)


def test_a_narrower_view_keeps_the_masks_of_the_whole(frame) -> None:
    # Only A2 and A3 (e.g. a filter on OG2 and OG1's A3): without A1 nothing is small, but
    # A2 was masked in the whole view, where A1 sits: showing it here would give A1 as
    # 69's total (whole view) − A2 − A3. Kept masked; 69 now has A2 as its only masked
    # member, so A3 is masked too.
    narrow = frame[frame["finess_et"].isin([A2, A3])]
    alone = compare.suppression(narrow)
    assert alone.esms == set()  # what the view alone would have shown
    kept = compare.suppression(narrow, whole=frame)
    assert kept.esms == {A2, A3}


def test_a_view_of_one_small_esms_masks_its_total(frame) -> None:
    # A view holding C1 alone (a filter on its catégorie): its total is C1's own rate.
    only = frame[frame["finess_et"] == C1]
    figures = compare.summary(only.assign(pret_va=True), compare.suppression(only, whole=frame))
    assert figures["taux_pondere"] is None and figures["taux_masque"] is True
    assert figures["numerateur"] is None and figures["denominateur"] is None


# --- the routes ---------------------------------------------------------------------------
def shared_tables(frame, masks) -> tuple[pd.DataFrame, pd.DataFrame]:
    ref = referentiel.default()
    ranking = compare.ranking_table(frame, ref, RATE, masks)
    deps = compare.departement_table(compare.by_departement(frame, masks), ref, RATE)
    return ranking, deps


def read_csv(data: bytes) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(data), sep=";", decimal=",", encoding="utf-8-sig", dtype=str)


def read_xlsx(data: bytes) -> pd.DataFrame:
    rows = list(openpyxl.load_workbook(io.BytesIO(data)).active.iter_rows(values_only=True))
    return pd.DataFrame(rows[1:], columns=rows[0])


READERS = {
    "tableau": lambda table: table,
    "csv": lambda table: read_csv(to_csv(table)),
    "xlsx": lambda table: read_xlsx(to_xlsx(table)),
}


@pytest.mark.parametrize("form", list(READERS))
def test_no_masked_value_in_its_row_nor_by_rate_times_a_term(frame, masks, form) -> None:
    ranking, _ = shared_tables(frame, masks)
    table = READERS[form](ranking).set_index("FINESS ET")
    for finess in MASKED:
        row = table.loc[finess]
        cells = [number(row[c]) for c in ("Taux (0 à 1)", NUM, DEN)]
        # Rate, numerator and denominator: none is a number, so neither the pair's other
        # term nor rate × denominator (nor numerator / rate) can be computed.
        assert cells == [None, None, None], (finess, cells)
        shown = {number(v) for v in row} - {None}
        assert not shown & masked_values(finess), (finess, shown)
    # A small count reads « < 5 », any other masked figure « masqué ».
    assert table.loc[A1, NUM] == "< 5" and table.loc[A1, DEN] == "masqué"
    assert (table.loc[C1, NUM], table.loc[C1, DEN]) == ("< 5", "< 5")
    assert table.loc[C2, NUM] in (0, "0")  # zero is not small


@pytest.mark.parametrize("form", list(READERS))
def test_group_totals_minus_shown_members_give_no_masked_value(frame, masks, form) -> None:
    ranking, deps = (READERS[form](t) for t in shared_tables(frame, masks))
    members = ranking.set_index("FINESS ET")
    for dep, label in (("69", "69 – Rhône"), ("01", "01 – Ain"), ("33", "33 – Gironde")):
        total = deps.set_index("Département").loc[label]
        mine = members[members["Département"] == label]
        for column in (NUM, DEN):
            known = number(total[f"{column} (somme)"])
            if known is None:
                continue  # the total is masked: nothing to subtract from
            rest = known - sum(filter(None, (number(v) for v in mine[column])))
            hidden = mine.index[mine[column].map(number).isna()]
            # What is left is the sum of at least two unknowns, never one masked value.
            assert len([f for f in hidden if VALUES[f][0] is not None]) != 1, (dep, column)
            for finess in hidden:
                assert rest not in masked_values(finess), (dep, column, finess, rest)
    # The view's total: its weighted rate × the shown denominators gives nothing either.
    figures = compare.summary(frame, masks)
    shown_deps = deps[deps[f"{NUM} (somme)"].map(number).notna()]
    shown_num = sum(number(v) for v in shown_deps[f"{NUM} (somme)"])
    shown_den = sum(number(v) for v in shown_deps[f"{DEN} (somme)"])
    assert figures["taux_pondere"] == pytest.approx(150 / 207)
    assert len(shown_deps) == 1  # 69 only: 01 and 33 are both masked
    for finess in MASKED - {A1, A2}:  # the members of the masked départements
        num, den = VALUES[finess]
        assert (shown_num + num) / (shown_den + den) != pytest.approx(figures["taux_pondere"])


def test_the_map_holds_no_masked_rate(frame, masks) -> None:
    deps = compare.by_departement(frame, masks)
    metro, overseas = charts.departement_maps(deps, "taux")
    assert overseas == []
    spec = json.loads(metro.to_json())
    coloured = [t for t in spec["data"] if t.get("colorscale") != [[0, "#E5E5E5"], [1, "#E5E5E5"]]]
    grey = [t for t in spec["data"] if t not in coloured]
    # Only 69 is coloured, with its shown total 83 / 130; 01 and 33 are grey, at 0.
    assert [(t["locations"], array(t["z"])) for t in coloured] == [
        (["69"], [pytest.approx(83 / 130)])
    ]
    assert {"01", "33"} <= set(grey[0]["locations"]) and set(array(grey[0]["z"])) == {0}
    for trace in spec["data"]:
        trace.pop("geojson")  # contours: coordinates only
    text = json.dumps(spec, ensure_ascii=False)
    # 01 and 33's weighted rates (65 / 75, 2 / 2) in French and as numbers.
    assert fr_percent(65 / 75) not in text and repr(65 / 75) not in text
    assert fr_percent(1.0) not in text and 1.0 not in array(coloured[0]["z"])
    hover = dict(zip(grey[0]["locations"], grey[0]["customdata"], strict=True))
    assert hover["33"] == "Gironde : taux masqué, petits effectifs (3 ESMS)"
    assert hover["01"] == "Ain : taux masqué, petits effectifs (2 ESMS)"
    # The VA map shows shares of ESMS, not counts of persons: never masked.
    va_map, _ = charts.departement_maps(deps, "va")
    assert len(va_map.data[-1].locations) == 3


@pytest.mark.parametrize("max_points", [charts.MAX_POINTS, 1], ids=["points", "quartiles"])
@pytest.mark.parametrize("grouping", ["ensemble", "departement", "og"])
def test_the_distribution_holds_no_masked_rate(frame, masks, grouping, max_points) -> None:
    fig = charts.distribution_figure(frame, "Taux", grouping, max_points=max_points, masks=masks)
    spec = json.loads(fig.to_json())
    numbers = []
    for trace in spec["data"]:
        for key in ("x", "q1", "median", "q3", "lowerfence", "upperfence"):
            numbers += array(trace.get(key))
        for text in array(trace.get("customdata")):
            assert not any(f in text for f in MASKED), text
    # Shown rates: A3 0.625, B1 0.9 only; a group of fewer than 5 has no box.
    assert set(numbers) <= {0.625, 0.9}
    for finess in MASKED:
        assert not masked_values(finess) & set(numbers)
    for trace in spec["data"]:
        assert trace["line"]["width"] == 0  # 1 or 2 points per group: points, no box


def test_the_ranking_says_nothing_of_a_masked_rate(frame, masks) -> None:
    ranked = compare.ranking(frame, masks)
    # Shown rates ranked 1, 2 among themselves; masked ESMS after, by name, without rank;
    # a masked ESMS's place never depends on its rate.
    # (names « ESMS <FINESS> »: B2, C1, A1, A2 in name order.)
    assert list(ranked["finess_et"]) == [A3, B1, B2, C1, A1, A2, C2, C3]
    assert list(ranked["rang"].astype(object).where(ranked["rang"].notna(), None)) == [
        1,
        2,
        None,
        None,
        None,
        None,
        None,
        None,
    ]
    swapped = frame.copy()
    swapped.loc[swapped["finess_et"] == A2, "taux"] = 0.01  # any rate: same order
    assert list(compare.ranking(swapped, masks)["finess_et"]) == list(ranked["finess_et"])


def test_medians_of_small_groups_and_esms_counts(frame, masks) -> None:
    deps = compare.by_departement(frame, masks)
    # 69 has 1 rate shown (A3), fewer than 5: no median; ESMS counts are not masked.
    assert deps["mediane"].isna().all()
    assert list(deps["nb_esms"]) == [2, 3, 3]
    figures = compare.summary(frame, masks)
    assert (figures["mediane"], figures["q1"], figures["q3"]) == (None, None, None)
    assert figures["nb_esms_masques"] == 4
    # Five shown rates: a median, over the shown ones only (masked A1 0.3 left out).
    more = view([*ROWS, *[(f"69000{i}044", "OG2", "69", 10 * i, 100, True) for i in range(1, 5)]])
    more_masks = compare.suppression(more)
    assert more_masks.esms == MASKED
    # Shown: 0.1, 0.2, 0.3, 0.4, 0.625, 0.9 -> median (0.3 + 0.4) / 2.
    assert compare.summary(more, more_masks)["mediane"] == pytest.approx(0.35)


# --- the page -------------------------------------------------------------------------------
def walk(node):
    yield node
    for child in (getattr(node, "children", None) or {}).values():
        yield from walk(child)


def page_text(at: AppTest) -> str:
    """Everything the page sends to the browser, as text: each element's message, and the
    cells of each table."""
    parts = []
    for node in walk(at._tree):
        if type(node).__name__ == "Dataframe":
            parts.append(node.value.to_csv())
        elif type(node).__name__ == "Markdown":  # a text table among them (ui.text_table)
            parts.append(node.value)
        elif getattr(node, "proto", None) is not None:
            parts.append(str(node.proto))
    return "\n".join(parts)


def plotly_numbers(at: AppTest) -> list[float]:
    numbers = []
    for chart in at.get("plotly_chart"):
        for trace in json.loads(chart.proto.spec)["data"]:
            for key in ("x", "z", "q1", "median", "q3", "lowerfence", "upperfence"):
                numbers += [v for v in array(trace.get(key)) if v is not None]
    return numbers


@pytest.fixture
def tiny_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ref) -> Path:
    path = tmp_path / "store.duckdb"
    from dui_metrics.store import Store

    with Store(path) as store:
        ingest_tiny(store, tmp_path / "in", ref)
    monkeypatch.setenv("DUI_METRICS_STORE", str(path))
    return path


def open_page(query: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update(query or {})
    at.run()
    return at.switch_page("pages/comparaison.py").run()


COMPARISON_TABS = ("Classement", "Répartition des ESMS", "Carte par département")


def test_the_page_shows_no_masked_value(tiny_store: Path) -> None:
    # tests/test_compare.py's store: E2 has 3 active records of 10 persons (30,0 %); E1, the
    # other ESMS of 69, 30 of 40 (75,0 %), is its complement.
    at = open_page()
    assert not at.exception
    ranking = screen_tables(at)[0].set_index("FINESS ET")
    # Each of the three tabs (ranking, distribution, map), opened in turn.
    text, numbers = "", []
    for tab in COMPARISON_TABS:
        at.session_state["vue"] = tab
        at.run()
        assert not at.exception
        text += page_text(at)
        numbers += plotly_numbers(at)
    assert len(numbers) > 4  # the distribution's points and box, the map's départements
    assert "< 5" in text
    for rate in ("30,0", "75,0"):
        assert f"{rate}\u202f%" not in text
    assert not {0.3, 0.75} & set(numbers)
    for finess in (E1, E2):
        assert set(ranking.loc[finess, ["Taux", NUM, DEN]]) <= {"< 5", "masqué"}
    assert ranking.loc[E6, "Rang"] == "1"
    # The URL holds choices, never a figure, nor the masking switch.
    at.session_state["vue"] = "Classement"
    at.multiselect(key="regions").select("84").run()
    at.toggle(key="petits_effectifs").set_value(False).run()
    assert "30,0\u202f%" in page_text(at)  # the user's explicit choice, for this session
    params = dict(at.query_params)
    assert set(params) <= {"regions", "departements", "categories", "editeurs", "ogs", "taux"} | {
        "periode",
        "regroupement",
        "carte",
        "vue",
        "page",
    }
    assert "petits_effectifs" not in params
    # The same address opened anew, even with a parameter asking for no masking: masked.
    again = open_page({**params, "petits_effectifs": "false"})
    assert not again.exception
    assert again.toggle(key="petits_effectifs").value is True
    assert "30,0\u202f%" not in page_text(again)
    assert "< 5" in page_text(again)


def test_one_og_perimeter_is_not_masked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store_from
) -> None:
    reference = (
        "finess_et;finess_ej;raison_sociale;og_nom;departement\n"
        "690000013;690000054;EHPAD Un;OG A;69\n690000021;690000054;IME Deux;OG A;69\n"
    )
    usage = (
        "finess_et;periode;personnes_accompagnees;dossiers_actifs\n"
        "690000013;2025-05;40;30\n690000021;2025-05;10;3\n"
    )
    monkeypatch.setenv("DUI_METRICS_STORE", str(store_from(reference, usage)))
    at = open_page()
    assert not at.exception
    toggle = at.toggle(key="petits_effectifs")
    assert toggle.value is False and toggle.disabled
    assert "30,0\u202f%" in page_text(at)


# OG A: EHPAD Un 40 persons, 30 active (75 %); IME Deux 10 persons, 3 active (30 %), every
# month 01–03/2025; OG B: SSIAD Trois, 20 persons, 16 active (80 %). INS qualifiées: 20, 2, 8.
OG_REFERENCE = """finess_et;finess_ej;raison_sociale;og_nom;commande;editeur;date_deploiement
690000013;690000005;EHPAD Un;OG A;BC-A;EdA;01/01/2025
690000021;690000005;IME Deux;OG A;BC-A;EdA;01/01/2025
330000019;330000001;SSIAD Trois;OG B;BC-B;EdB;01/01/2025
"""
OG_USAGE = (
    "finess_et;periode;personnes_accompagnees;dossiers_actifs;dossiers_actifs_avec_pp;"
    "dossiers_actifs_avec_evenement;ins_qualifiees;dmp_documents_envoyes;mss_messages_envoyes\n"
    + "".join(
        f"{finess};2025-0{m};{counts}\n"
        for m in (1, 2, 3)
        for finess, counts in (
            ("690000013", "40;30;20;25;20;10;5"),
            ("690000021", "10;3;3;3;2;1;1"),
            ("330000019", "20;16;10;10;8;4;0"),
        )
    )
)


def test_og_page_all_organisations_masks_the_esms_rates(
    monkeypatch: pytest.MonkeyPatch, store_from
) -> None:
    monkeypatch.setenv("DUI_METRICS_STORE", str(store_from(OG_REFERENCE, OG_USAGE)))
    at = AppTest.from_file(APP, default_timeout=60).run()
    at = at.switch_page("pages/organisme_gestionnaire.py").run()
    assert not at.exception
    assert at.toggle(key="petits_effectifs").value is True
    at.session_state["vue"] = "Du plus en retard au plus avancé"
    at.run()
    (ranking,) = [d for d in screen_tables(at) if "Critères ok" in d.columns]
    rates = ranking.set_index("FINESS ET")["Dossiers actifs"]
    # IME Deux: 3 of 10 (3 is small): masked; as on the Comparaison page (the same masks, or
    # one page would give what the other hides), the other ESMS of its département 69, EHPAD
    # Un, is masked too.
    assert rates.to_dict() == {
        "690000021": "masqué",
        "690000013": "masqué",
        "330000019": "80,0\u202f%",
    }
    text = page_text(at)
    assert "30,0\u202f%" not in text and "75,0\u202f%" not in text
    # One OG chosen: its own figures, no masking (no switch).
    at.selectbox(key="og").set_value("690000005").run()
    assert not at.toggle  # no switch at all
    (ranking,) = [d for d in screen_tables(at) if "Critères ok" in d.columns]
    assert "30,0\u202f%" in set(ranking["Dossiers actifs"])


def test_methode_states_the_rule(monkeypatch: pytest.MonkeyPatch, store_from) -> None:
    monkeypatch.setenv("DUI_METRICS_STORE", str(store_from(OG_REFERENCE, OG_USAGE)))
    at = AppTest.from_file(APP, default_timeout=60).run()
    at = at.switch_page("pages/methode.py").run()
    assert not at.exception
    assert "Petits effectifs (comparaisons entre organismes)" in [h.value for h in at.subheader]
    rule = next(m.value for m in at.markdown if "De 1 à 4" in m.value)
    for words in ("« < 5 »", "0 reste affiché", "Masquage secondaire", "moins de **5**"):
        assert words in rule
