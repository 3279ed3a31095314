"""Comparison across ESMS (compare.py): per-ESMS rates, filters, roll-up by département, VA
share, ranking, shared tables and the map's French hovers, on a tiny hand-made store.

Six ESMS, three OGs, three départements of two régions; usage for 03/2025–05/2025, so the
default VA window is 03/2025–05/2025. Counts per month (pa = personnes accompagnées,
da = dossiers actifs, pp = avec projet personnalisé, ev = avec événement, ins = INS qualifiées,
dmp = documents DMP, mss = messages MSSanté envoyés):

| ESMS | dép. | cat. | éditeur | OG | months | pa | da | pp | ev | ins | dmp | mss |
|---|---|---|---|---|---|---|---|---|---|---|---|---|
| E1 690000013 EHPAD Un | 69 | 500 | X | A | 03, 04, 05 | 40 | 20, 25, 30 | 15 | 15 | 18 | 10 | 5 |
| E2 690000021 IME Deux | 69 | 183 | X | A | 03, 04, 05 | 10 | 3 | 3 | 2 | 2 | 1 | 0 |
| E3 010000016 EHPAD Trois | 01 | 500 | Y | B | 03, 04, 05 | 50 | 45 | 30 | 40 | 40 | 12 | 4 |
| E4 330000019 SSIAD Quatre | 33 | 354 | Y | C | 03, 04 | 20 | 10 | 5 | 5 | 5 | 2 | 1 |
|   |   |   |   |   | 05 | 0 | 0 | 0 | 0 | 0 | 0 | 0 |
| E5 330000027 EHPAD Cinq | 33 | 500 | Y | C | none | | | | | | | |
| E6 330000035 EHPAD Six | 33 | 500 | Y | C | 03, 04, 05 | 30 | 12 | 6 | 8 | 6 | 3 | 2 |

VA at 05/2025 (window 03–05): E1, E3, E6 ok; E2 blocked (0 MSSanté message); E4 blocked
(0 INS qualifiée in 05, rates non calculable); E5 blocked (no data).
Régions: 69 and 01 → 84 Auvergne-Rhône-Alpes; 33 → 75 Nouvelle-Aquitaine.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from dui_metrics import charts, compare
from dui_metrics.finess import luhn_ok
from dui_metrics.ingest import LOADED, ingest_paths

NNBSP = "\u202f"
MARCH, APRIL, MAY = dt.date(2025, 3, 1), dt.date(2025, 4, 1), dt.date(2025, 5, 1)
E1, E2, E3, E4, E5, E6 = (
    "690000013",
    "690000021",
    "010000016",
    "330000019",
    "330000027",
    "330000035",
)
OG_A, OG_B, OG_C = "690000054", "010000099", "330000092"
RATE = "taux_dossiers_actifs"
INS = "taux_ins_qualifiees"

REFERENCE = f"""\
finess_et;finess_ej;raison_sociale;og_nom;categorie;departement;editeur;commande;date_deploiement
{E1};{OG_A};EHPAD Un;OG A;500;69;Editeur X;BC-A;01/01/2025
{E2};{OG_A};IME Deux;OG A;183;69;Editeur X;BC-A;01/01/2025
{E3};{OG_B};EHPAD Trois;OG B;500;01;Editeur Y;BC-B;01/01/2025
{E4};{OG_C};SSIAD Quatre;OG C;354;33;Editeur Y;BC-C;01/01/2025
{E5};{OG_C};EHPAD Cinq;OG C;500;33;Editeur Y;BC-C;01/01/2025
{E6};{OG_C};EHPAD Six;OG C;500;33;Editeur Y;BC-C;01/01/2025
"""
HEADER = (
    "finess_et;periode;personnes_accompagnees;dossiers_actifs;dossiers_actifs_avec_pp;"
    "dossiers_actifs_avec_evenement;ins_qualifiees;dmp_documents_envoyes;mss_messages_envoyes\n"
)
ROWS = [
    (E1, "2025-03", "40;20;15;15;18;10;5"),
    (E1, "2025-04", "40;25;15;15;18;10;5"),
    (E1, "2025-05", "40;30;15;15;18;10;5"),
    *[(E2, f"2025-0{m}", "10;3;3;2;2;1;0") for m in (3, 4, 5)],
    *[(E3, f"2025-0{m}", "50;45;30;40;40;12;4") for m in (3, 4, 5)],
    (E4, "2025-03", "20;10;5;5;5;2;1"),
    (E4, "2025-04", "20;10;5;5;5;2;1"),
    (E4, "2025-05", "0;0;0;0;0;0;0"),
    *[(E6, f"2025-0{m}", "30;12;6;8;6;3;2") for m in (3, 4, 5)],
]
USAGE = HEADER + "".join(f"{f};{p};{v}\n" for f, p, v in ROWS)


def ingest_tiny(store, folder: Path, ref, extra: dict[str, str] | None = None) -> None:
    files = {"etablissements.csv": REFERENCE, "usages.csv": USAGE, **(extra or {})}
    paths = []
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    results = ingest_paths(store, paths, ref)
    assert [r.status for r in results] == [LOADED] * len(files), [r.error for r in results]


@pytest.fixture
def tiny(store, tmp_path: Path, ref):
    ingest_tiny(store, tmp_path / "in", ref)
    return store


def test_fixture_finess_numbers_pass_luhn() -> None:
    assert all(luhn_ok(f) for f in (E1, E2, E3, E4, E5, E6, OG_A, OG_B, OG_C))


def test_esms_rates_one_row_per_esms_with_status_and_verdict(tiny, ref) -> None:
    frame = compare.esms_rates(tiny, ref, MARCH, MAY, RATE).set_index("finess_et")
    assert sorted(frame.index) == sorted([E1, E2, E3, E4, E5, E6])
    # Stocks: the last month of the period where both parts exist (05/2025).
    # E1 30/40 = 0.75; E2 3/10 = 0.3; E3 45/50 = 0.9; E6 12/30 = 0.4;
    # E4 0/0 -> no value (non calculable); E5 no data (manquant).
    assert frame.loc[E1, "taux"] == pytest.approx(0.75)
    assert frame.loc[E2, "taux"] == pytest.approx(0.3)
    assert frame.loc[E3, "taux"] == pytest.approx(0.9)
    assert frame.loc[E6, "taux"] == pytest.approx(0.4)
    assert pd.isna(frame.loc[E4, "taux"])
    assert (frame.loc[E4, "numerateur"], frame.loc[E4, "denominateur"]) == (0, 0)
    assert pd.isna(frame.loc[E5, "numerateur"]) and pd.isna(frame.loc[E5, "denominateur"])
    assert frame["statut_taux"].to_dict() == {
        E1: "calculé",
        E2: "calculé",
        E3: "calculé",
        E4: "non calculable",
        E5: "manquant",
        E6: "calculé",
    }
    assert frame["pret_va"].to_dict() == {
        E1: True,
        E2: False,  # no MSSanté message in the window
        E3: True,
        E4: False,  # 0 INS qualifiée in 05/2025
        E5: False,  # no data
        E6: True,
    }
    assert frame.loc[E1, "departement_libelle"] == "69 – Rhône"
    assert frame.loc[E1, "region"] == "84"


def test_period_changes_the_rate_and_the_verdict(tiny, ref) -> None:
    frame = compare.esms_rates(tiny, ref, MARCH, MARCH, RATE).set_index("finess_et")
    # 03/2025 only: E1 20/40 = 0.5; E4 10/20 = 0.5, and E4 is ready at 03/2025
    # (window 01–03: INS 5, DMP 2, MSSanté 1, all rates non-zero).
    assert frame.loc[E1, "taux"] == pytest.approx(0.5)
    assert frame.loc[E4, "taux"] == pytest.approx(0.5)
    assert bool(frame.loc[E4, "pret_va"])


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        pytest.param({}, {E1, E2, E3, E4, E5, E6}, id="no-filter"),
        pytest.param({"region": ["84"]}, {E1, E2, E3}, id="region"),
        pytest.param({"departement": ["33"]}, {E4, E5, E6}, id="departement"),
        pytest.param({"categorie": ["500"]}, {E1, E3, E5, E6}, id="categorie"),
        pytest.param({"editeur": ["Editeur X"]}, {E1, E2}, id="editeur"),
        pytest.param({"og": [OG_B, OG_C]}, {E3, E4, E5, E6}, id="og-or"),
        pytest.param({"region": ["84"], "categorie": ["500"]}, {E1, E3}, id="and"),
        pytest.param({"region": ["84"], "departement": ["33"]}, set(), id="empty"),
        pytest.param({"region": [], "og": None}, {E1, E2, E3, E4, E5, E6}, id="blank"),
    ],
)
def test_filters(tiny, ref, filters, expected) -> None:
    frame = compare.esms_rates(tiny, ref, MARCH, MAY, RATE, **filters)
    assert set(frame["finess_et"]) == expected
    # select() on the unfiltered frame gives the same rows (the page filters that way).
    unfiltered = compare.esms_rates(tiny, ref, MARCH, MAY, RATE)
    assert set(compare.select(unfiltered, **filters)["finess_et"]) == expected


def test_unknown_filter_or_rate_is_refused(tiny, ref) -> None:
    with pytest.raises(ValueError, match="filtre inconnu"):
        compare.esms_rates(tiny, ref, MARCH, MAY, RATE, ville=["Lyon"])
    with pytest.raises(ValueError, match="taux inconnu"):
        compare.esms_rates(tiny, ref, MARCH, MAY, "dossiers_actifs")


def test_summary_weighted_rate_quartiles_and_share_ready(tiny, ref) -> None:
    figures = compare.summary(compare.esms_rates(tiny, ref, MARCH, MAY, RATE))
    # Weighted: (30 + 3 + 45 + 0 + 12) / (40 + 10 + 50 + 0 + 30) = 90 / 130 (E4 counts with
    # 0/0, E5 has no rate). Computed rates sorted: 0.3, 0.4, 0.75, 0.9 -> median
    # (0.4 + 0.75) / 2 = 0.575; q1 at position 0.75: 0.3 + 0.75 × 0.1 = 0.375;
    # q3 at position 2.25: 0.75 + 0.25 × 0.15 = 0.7875. Ready: E1, E3, E6 = 3 of 6.
    assert figures["nb_esms"] == 6
    assert figures["nb_esms_taux"] == 5
    assert figures["nb_esms_calcules"] == 4  # E4's 0/0 exists but is not computed
    assert figures["nb_esms_sans_taux"] == 2  # E4 (0/0) and E5 (no data)
    assert figures["nb_sans_departement"] == 0
    assert (figures["numerateur"], figures["denominateur"]) == (90, 130)
    assert figures["taux_pondere"] == pytest.approx(90 / 130)
    assert figures["mediane"] == pytest.approx(0.575)
    assert figures["q1"] == pytest.approx(0.375)
    assert figures["q3"] == pytest.approx(0.7875)
    assert (figures["nb_prets"], figures["part_prets"]) == (3, 0.5)


def test_summary_without_any_rate(tiny, ref) -> None:
    figures = compare.summary(
        compare.esms_rates(tiny, ref, MARCH, MAY, RATE, departement=["33"], og=[OG_C])
        .query("finess_et != @E6")
        .reset_index(drop=True)
    )
    # E4 0/0 and E5 missing: no weighted rate, no quartiles.
    assert figures["taux_pondere"] is None and figures["mediane"] is None
    assert figures["nb_esms_taux"] == 1


def test_by_departement_weighted_rate_counts_and_share_ready(tiny, ref) -> None:
    deps = compare.by_departement(compare.esms_rates(tiny, ref, MARCH, MAY, RATE))
    deps = deps.set_index("departement")
    assert list(deps.index) == ["01", "33", "69"]
    # 01: E3 45/50 = 0.9, ready 1 of 1.
    # 33: E4 0/0 + E6 12/30 -> 12/30 = 0.4 over 2 ESMS with the rate; E5 has none;
    #     ready: E6 only -> 1 of 3.
    # 69: E1 30/40 + E2 3/10 -> 33/50 = 0.66; ready: E1 -> 1 of 2.
    assert deps["taux_pondere"].to_dict() == pytest.approx({"01": 0.9, "33": 0.4, "69": 0.66})
    assert deps["nb_esms"].to_dict() == {"01": 1, "33": 3, "69": 2}
    assert deps["nb_esms_taux"].to_dict() == {"01": 1, "33": 2, "69": 2}
    assert deps["numerateur"].to_dict() == {"01": 45, "33": 12, "69": 33}
    assert deps["denominateur"].to_dict() == {"01": 50, "33": 30, "69": 50}
    assert deps["nb_prets"].to_dict() == {"01": 1, "33": 1, "69": 1}
    assert deps["part_prets"].to_dict() == pytest.approx({"01": 1.0, "33": 1 / 3, "69": 0.5})
    # Median of the computed ESMS rates: 33 -> E6 only (E4 not computable) = 0.4;
    # 69 -> (0.3 + 0.75) / 2 = 0.525.
    assert deps["mediane"].to_dict() == pytest.approx({"01": 0.9, "33": 0.4, "69": 0.525})
    assert deps.loc["69", "region_libelle"] == "Auvergne-Rhône-Alpes"


def test_by_departement_of_another_rate_and_filter(tiny, ref) -> None:
    frame = compare.esms_rates(tiny, ref, MARCH, MAY, INS, region=["84"])
    deps = compare.by_departement(frame).set_index("departement")
    # INS qualifiées / dossiers actifs in 05/2025: 69 -> (18 + 2) / (30 + 3) = 20/33;
    # 01 -> 40/45. Région 84 overall: (18 + 2 + 40) / (30 + 3 + 45) = 60/78.
    assert deps["taux_pondere"].to_dict() == pytest.approx({"01": 40 / 45, "69": 20 / 33})
    assert compare.summary(frame)["taux_pondere"] == pytest.approx(60 / 78)


def test_departement_without_any_rate_has_no_sum(tiny, ref) -> None:
    frame = compare.esms_rates(tiny, ref, MARCH, MAY, RATE, departement=["33"])
    deps = compare.by_departement(frame[frame["finess_et"] == E5])
    # E5 alone: no rate -> NA sums and NaN rate, not 0.
    assert deps.loc[0, "nb_esms_taux"] == 0
    assert pd.isna(deps.loc[0, "numerateur"]) and pd.isna(deps.loc[0, "taux_pondere"])


def test_ranking_weakest_first_then_not_computable_then_missing(tiny, ref) -> None:
    ranked = compare.ranking(compare.esms_rates(tiny, ref, MARCH, MAY, RATE))
    # 0.3 (E2) < 0.4 (E6) < 0.75 (E1) < 0.9 (E3), then E4 (0/0), then E5 (no data).
    assert list(ranked["finess_et"]) == [E2, E6, E1, E3, E4, E5]
    assert ranked["rang"].tolist()[:4] == [1, 2, 3, 4]
    assert ranked["rang"].isna().tolist()[4:] == [True, True]


def test_ranking_table_headers_masking_and_xlsx_numbers(tiny, ref) -> None:
    frame = compare.esms_rates(tiny, ref, MARCH, MAY, RATE)
    # E2: 3 active records of 10 persons -> 3 is small (1–4): E2's pair and rate are masked;
    # the only other member of its département 69 (whose total is shown), E1, is masked too.
    masks = compare.suppression(frame)
    assert (masks.esms, masks.groups, masks.total) == ({E1, E2}, set(), False)
    table = compare.ranking_table(frame, ref, RATE, masks)
    assert list(table.columns) == [
        "Rang",
        "Établissement",
        "VA",
        "FINESS ET",
        "Taux (0 à 1)",
        "Dossiers actifs",
        "Personnes accompagnées",
        "Remarque",
        "Organisme gestionnaire",
        "Département",
        "Catégorie",
        "Éditeur",
    ]
    # Shown rates ranked among themselves (E6 0.4, E3 0.9), then the masked ESMS by name
    # (no rank: their place would bound their rate), then E4 (0/0), then E5 (no data).
    assert list(table["FINESS ET"]) == [E6, E3, E1, E2, E4, E5]
    assert list(table["Rang"]) == [1, 2, None, None, None, None]
    e1, e2 = table.iloc[2], table.iloc[3]
    assert (e2["Établissement"], e2["Dossiers actifs"]) == ("IME Deux", "< 5")
    assert (e2["Personnes accompagnées"], e2["Taux (0 à 1)"]) == ("masqué", "masqué")
    assert (e1["Dossiers actifs"], e1["Personnes accompagnées"]) == ("masqué", "masqué")
    assert e1["Remarque"] == e2["Remarque"] == "masqué : petits effectifs"
    assert table.iloc[4]["Remarque"] == "non calculable : dénominateur nul"
    assert table.iloc[4]["Dossiers actifs"] == 0  # zero stays zero
    assert table.iloc[5]["Remarque"] == "aucune donnée sur la période"
    plain = compare.ranking_table(frame, ref, RATE)
    assert list(plain["FINESS ET"]) == [E2, E6, E1, E3, E4, E5]
    assert plain.iloc[0]["Dossiers actifs"] == 3

    # Outcomes in words: E6 ready; E2 no MSSanté message (zero); E5 no data at all.
    verdicts = table.set_index("FINESS ET")["VA"]
    assert (verdicts[E6], verdicts[E2], verdicts[E5]) == (
        "prêt",
        "bloqué par un zéro",
        "bloqué faute de données",
    )
    sheet = openpyxl.load_workbook(io.BytesIO(_xlsx(table))).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[1][4] == pytest.approx(0.4) and rows[1][5] == 12 and rows[1][6] == 30
    assert rows[4][4:7] == ("masqué", "< 5", "masqué")  # E2
    assert rows[6][4] is None and rows[6][5] is None  # E5: missing stays blank


def _xlsx(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        frame.to_excel(writer, index=False)
    return buffer.getvalue()


def test_screen_table_french_formats(tiny, ref) -> None:
    deps = compare.by_departement(compare.esms_rates(tiny, ref, MARCH, MAY, RATE))
    screen = compare.screen_table(compare.departement_table(deps, ref, RATE))
    row = screen[screen["Département"] == "69 – Rhône"].iloc[0]
    assert row["Taux pondéré"] == f"66,0{NNBSP}%"
    assert row["Part des ESMS prêts"] == f"50,0{NNBSP}%"
    assert row["Dossiers actifs (somme)"] == "33"
    assert row["Personnes accompagnées (somme)"] == "50"
    big = pd.DataFrame({"Effectif": [1234, None], "Part (0 à 1)": [0.125, None]})
    assert compare.screen_table(big).to_dict("list") == {
        "Effectif": [f"1{NNBSP}234", "—"],
        "Part": [f"12,5{NNBSP}%", "—"],
    }


def test_filter_options_labels_and_order(tiny, ref) -> None:
    options = compare.filter_options(tiny, ref)
    assert list(options["region"].items()) == [
        ("84", "Auvergne-Rhône-Alpes"),
        ("75", "Nouvelle-Aquitaine"),
    ]
    assert options["departement"] == {"01": "01 – Ain", "33": "33 – Gironde", "69": "69 – Rhône"}
    assert list(options["departement"]) == ["01", "33", "69"]
    assert options["categorie"]["500"].endswith("(500)")
    assert options["editeur"] == {"Editeur X": "Editeur X", "Editeur Y": "Editeur Y"}
    assert options["og"] == {OG_A: "OG A", OG_B: "OG B", OG_C: "OG C"}


def test_usage_only_esms_takes_its_departement_from_the_finess(store, tmp_path: Path, ref) -> None:
    # 350000014 sends usage but is absent from the reference file: département 35
    # (FINESS prefix), région 53 Bretagne; 8 active records of 16 persons = 0.5.
    extra = {"autre.csv": HEADER + "350000014;2025-05;16;8;4;4;4;1;1\n"}
    ingest_tiny(store, tmp_path / "in", ref, extra)
    frame = compare.esms_rates(store, ref, MARCH, MAY, RATE, region=["53"])
    assert frame["finess_et"].tolist() == ["350000014"]
    row = frame.iloc[0]
    assert (row["departement"], row["departement_libelle"]) == ("35", "35 – Ille-et-Vilaine")
    assert row["etablissement"] == compare.NOT_IN_REFERENCE
    assert row["taux"] == pytest.approx(0.5)
    assert compare.filter_options(store, ref)["region"]["53"] == "Bretagne"


def test_map_hovers_in_french_and_grey_context(tiny, ref) -> None:
    deps = compare.by_departement(compare.esms_rates(tiny, ref, MARCH, MAY, RATE))
    assert charts.map_hover(deps, "taux") == [
        f"Ain : 90,0{NNBSP}% (1 ESMS)",
        f"Gironde : 40,0{NNBSP}% (2 ESMS)",
        f"Rhône : 66,0{NNBSP}% (2 ESMS)",
    ]
    assert charts.map_hover(deps, "va")[1] == (
        f"Gironde : 33,3{NNBSP}% des ESMS prêts pour la VA (1 sur 3)"
    )
    metro, overseas = charts.departement_maps(deps, "va")
    assert overseas == []
    grey, coloured = metro.data
    assert list(coloured.locations) == ["01", "33", "69"]
    assert list(coloured.z) == pytest.approx([1.0, 1 / 3, 0.5])
    # Scale: 33,3 %–100 % spans 0.67 -> steps of 10 %, round bounds 30 %–100 %.
    assert (coloured.zmin, coloured.zmax) == (0.3, 1.0)
    assert coloured.colorbar.ticktext[:2] == (f"30{NNBSP}%", f"40{NNBSP}%")
    # Context: the other départements of régions 84 (12 départements) and 75 (12), in grey.
    assert len(grey.locations) == 12 + 12 - 3
    assert "Isère : aucun ESMS sélectionné" in grey.customdata
    assert {f["properties"]["code"] for f in coloured.geojson["features"]} == {"01", "33", "69"}
    assert metro.layout.geo.fitbounds == "locations" and metro.layout.geo.visible is False


def test_map_of_an_overseas_departement(store, tmp_path: Path, ref) -> None:
    # 970400024 (FINESS prefix 9704 -> 974 La Réunion), usage only: 9/12 = 0.75.
    extra = {"reunion.csv": HEADER + "970400024;2025-05;12;9;4;4;4;1;1\n"}
    ingest_tiny(store, tmp_path / "in", ref, extra)
    frame = compare.esms_rates(store, ref, MARCH, MAY, RATE, departement=["974"])
    metro, overseas = charts.departement_maps(compare.by_departement(frame), "taux")
    assert metro is None
    [(name, fig)] = overseas
    assert name == "La Réunion"
    assert fig.data[0].customdata == (f"La Réunion : 75,0{NNBSP}% (1 ESMS)",)


def test_distribution_figure_points_hover_and_groups(tiny, ref) -> None:
    frame = compare.esms_rates(tiny, ref, MARCH, MAY, RATE)
    fig = charts.distribution_figure(frame, "Taux de dossiers actifs")
    [box] = fig.data
    assert len(box.x) == 4  # E4 (non calculable) and E5 (no data) are not points
    assert box.customdata[list(box.x).index(0.75)] == (
        f"<b>EHPAD Un</b> ({E1})<br>Taux de dossiers actifs : 75,0{NNBSP}%<br>OG A · 69 – Rhône"
    )
    assert all("%" in t for t in fig.layout.xaxis.ticktext)
    grouped = charts.distribution_figure(frame, "Taux", "departement", target=0.8)
    # One box per département, highest median first (plotly draws the first at the bottom).
    assert [t.name for t in grouped.data] == ["01 – Ain", "69 – Rhône", "33 – Gironde"]
    assert grouped.layout.shapes[0].x0 == 0.8


def test_distribution_without_points_beyond_the_limit(tiny, ref) -> None:
    frame = compare.esms_rates(tiny, ref, MARCH, MAY, RATE)
    # 4 computed rates > max_points 3: one box from its five numbers, no point.
    [box] = charts.distribution_figure(frame, "Taux", max_points=3).data
    assert box.x is None and box.boxpoints is None
    # Rates 0.3, 0.4, 0.75, 0.9 (linear interpolation): q1 at 0.75 between 0.3 and 0.4
    # = 0.375; median (0.4 + 0.75) / 2 = 0.575; q3 at 2.25 = 0.75 + 0.25 * 0.15 = 0.7875.
    assert box.q1[0] == pytest.approx(0.375)
    assert box.median[0] == pytest.approx(0.575)
    assert box.q3[0] == pytest.approx(0.7875)
    assert (box.lowerfence[0], box.upperfence[0]) == (pytest.approx(0.3), pytest.approx(0.9))


def test_distribution_keeps_the_groups_with_the_lowest_medians(tiny, ref) -> None:
    frame = compare.esms_rates(tiny, ref, MARCH, MAY, RATE)
    # Medians: 01 0.9 (E3); 69 (0.75 + 0.3) / 2 = 0.525; 33 0.4 (E6): keep 69 and 33.
    groups, total = compare.distribution_groups(frame, "departement", max_groups=2)
    assert ([name for name, _ in groups], total) == (["69 – Rhône", "33 – Gironde"], 3)
    fig = charts.distribution_figure(frame, "Taux", "departement", max_groups=2)
    assert [t.name for t in fig.data] == ["69 – Rhône", "33 – Gironde"]
    assert len(fig.data[0].x) == 2  # E1 and E2, drawn as points (2 + 1 <= 2,000)


@pytest.mark.parametrize(
    ("months", "expected"),
    [
        pytest.param([MARCH, APRIL, MAY], (MARCH, MAY), id="three-months"),
        pytest.param([dt.date(2024, 12, 1), MARCH, MAY], (MARCH, MAY), id="gap"),
        pytest.param([APRIL, MAY], (APRIL, MAY), id="short-store"),
        pytest.param([dt.date(2025, 1, 1), MAY], (MAY, MAY), id="only-au-in-window"),
    ],
)
def test_default_period_is_the_va_window(months, expected) -> None:
    # VA window ending 05/2025: 03/2025–05/2025, starting at its first month with data.
    assert compare.default_period(months, 3) == expected


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        pytest.param([0.898, 0.988], (0.88, 1.0), id="narrow-2pct-steps"),
        pytest.param([0.93], (0.92, 0.94), id="single-value"),
        pytest.param([0.0, 1.0], (0.0, 1.0), id="full"),
        pytest.param([0.3, 0.9], (0.3, 0.9), id="round-bounds-kept"),
    ],
)
def test_percent_scale_round_bounds(values, expected) -> None:
    # Span 0.09 -> step 2 % (0.09 / 0.01 = 9 > 8); 0.898 -> 0.88, 0.988 -> 1.0.
    start, end, ticks = charts._percent_scale(pd.Series(values))
    assert (start, end) == expected
    assert ticks[0] == start and ticks[-1] == end and 2 <= len(ticks) <= 9
