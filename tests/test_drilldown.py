"""Drill-down from the counts computed from records to the dossiers behind them
(`drilldown.missing_dossiers`, `drilldown.month_sources`), the `dui-metrics dossiers` command
and the Établissement page's expanders, on a real DuckDB store whose record tables are filled
by hand. Référentiel defaults: activity window 3 months, PP validity 12 months. Every expected
dossier list is worked out in the comment next to it."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from table_support import screen_tables

from dui_metrics import drilldown, records
from dui_metrics.store import Store

A, B = "690000013", "690000021"
D = dt.date
MARCH = D(2025, 3, 1)

# ESMS A, month M = 03/2025 (last day 31/03). Activity window: 01/2025–03/2025; PP validity:
# 04/2024–03/2025.
SEJOURS = [
    (A, "d1", D(2024, 1, 1), None),
    (A, "d2", D(2024, 1, 1), None),
    (A, "d3", D(2025, 3, 31), None),  # entry on March's last day: open in March
    (A, "d4", D(2024, 6, 1), D(2025, 3, 1)),  # exit on March's first day: open in March
    (A, "d5", D(2024, 1, 1), None),
    (A, "d6", D(2024, 1, 1), D(2025, 2, 28)),  # closed before March
    (A, "d8", D(2024, 1, 1), None),
    (A, "d9", D(2024, 1, 1), D(2025, 3, 5)),  # two séjours open in March:
    (A, "d9", D(2025, 3, 20), None),  # the one that began last is shown
    (B, "d7", D(2025, 1, 1), None),  # another ESMS: never in A's lists
]
EVENTS = [
    (A, "d1", D(2025, 3, 10), "réalisé"),
    (A, "d1", D(2025, 4, 2), None),  # after March: not d1's « dernier événement » for March
    (A, "d2", D(2025, 1, 15), None),
    (A, "d4", D(2025, 3, 10), "annulé"),  # does not count
    (A, "d4", D(2025, 3, 20), "planifié"),  # does not count
    (A, "d5", D(2024, 12, 20), None),  # December: outside the window ending with March
    (A, "d6", D(2025, 3, 5), None),  # d6's séjour is closed in March
    (A, "d9", D(2025, 3, 21), None),
    (B, "d7", D(2025, 3, 3), None),
]
PROJECTS = [
    (A, "d1", D(2024, 6, 1)),
    (A, "d2", D(2024, 3, 31)),  # 03/2024: the 13th month before 03/2025, no longer valid
    (A, "d3", D(2025, 3, 31)),  # d3's only trace
    (A, "d9", D(2025, 1, 10)),
]
DOCUMENTS = [
    (A, "d4", D(2025, 2, 10), "envoyé"),  # d4's only trace
    (A, "d8", D(2025, 3, 10), "erreur"),  # not sent: no trace, d8 is not active
]
INS = [
    (A, "d1", "qualifiée", D(2025, 1, 1)),
    (A, "d2", "validée", D(2025, 2, 1)),
    (A, "d2", "qualifiée", D(2025, 4, 2)),  # after March's end: d2 is « validée » in March
    (A, "d3", "provisoire", D(2025, 3, 5)),
    (A, "d3", "qualifiée", D(2025, 3, 5)),  # same day: the more reliable wins
    (A, "d4", "qualifiée", D(2025, 2, 1)),
    (A, "d4", "récupérée", D(2025, 3, 31)),  # later: d4 is « récupérée » at March's end
]
# Active in March: d1 (event), d2 (January event), d3 (PP), d4 (DMP document), d9 (event);
# not d5 (December only), d6 (closed), d8 (DMP error only), d7 (ESMS B) → 5 active.
# Without a valid PP: d2 (03/2024), d4 (none) → 2 (d1 06/2024, d3 03/2025, d9 01/2025).
# Without a counted March event: d2 (January), d3 (none), d4 (cancelled, planned) → 3.
# Without a qualified INS at March's end: d2 (validée), d4 (récupérée), d9 (none) → 3.
EXPECTED = {
    "pp": ["d2", "d4"],
    "evenement": ["d2", "d3", "d4"],
    "ins": ["d2", "d4", "d9"],
}
RATE_COUNTS = {
    "pp": "dossiers_actifs_avec_pp",
    "evenement": "dossiers_actifs_avec_evenement",
    "ins": "ins_qualifiees",
}


def hand_records() -> records.Records:
    return records.Records(
        sejours=SEJOURS, ins=INS, projets=PROJECTS, evenements=EVENTS, documents=DOCUMENTS
    )


def store_records(store: Store, recs: records.Records, import_id: int) -> None:
    """Write ``recs`` (canonical statuses) into the store's record tables, as an ingest would."""
    for table, name in (
        ("records_sejours", "rec_sejours"),
        ("records_ins", "rec_ins"),
        ("records_pp", "rec_pp"),
        ("records_evenements", "rec_evenements"),
        ("records_dmp", "rec_dmp"),
    ):
        columns = ", ".join(recs.tables[name].columns)
        store.register("incoming", recs.tables[name])
        store.execute(
            f"insert into {table} ({columns}, import_id, line) "
            f"select {columns}, {import_id}, null from incoming"
        )
        store.unregister("incoming")


def add_import(store: Store, import_id: int, kind: str) -> None:
    store.execute(
        "insert into imports (import_id, file_name, sha256, kind, imported_at, rows_loaded, "
        "rows_replaced) values (?, ?, ?, ?, now(), 0, 0)",
        [import_id, f"{kind}-{import_id}.csv", f"sha{import_id}", kind],
    )


def add_usage(store: Store, rows: pd.DataFrame, import_id: int) -> None:
    store.register("incoming", rows.assign(import_id=import_id))
    store.execute(
        "insert into usage select finess_et, periode, indicateur, valeur, import_id, null "
        "from incoming"
    )
    store.unregister("incoming")


@pytest.fixture
def filled(store: Store, ref) -> Store:
    recs = hand_records()
    add_import(store, 1, "dossiers:evenements")
    store_records(store, recs, 1)
    add_usage(store, records.count_base(store, ref, recs), 1)
    return store


@pytest.mark.parametrize("manque", [pytest.param(m, id=m) for m in drilldown.MISSING])
def test_missing_dossiers_hand_worked(filled: Store, ref, manque: str) -> None:
    frame = drilldown.missing_dossiers(filled, ref, A, MARCH, manque)
    assert list(frame.columns) == list(drilldown.MISSING_COLUMNS)
    assert list(frame["dossier_id"]) == EXPECTED[manque]


def test_missing_dossiers_rows_say_what_the_dossier_has(filled: Store, ref) -> None:
    rows = {
        r["dossier_id"]: r
        for r in drilldown.missing_dossiers(filled, ref, A, D(2025, 3, 17), "ins").to_dict(
            "records"
        )
    }
    # d2: open séjour since 01/01/2024; PP 31/03/2024; last counted event 15/01/2025;
    # « validée » on 01/02/2025 (its qualification on 02/04/2025 is after March)
    assert rows["d2"] == {
        "dossier_id": "d2",
        "date_entree": D(2024, 1, 1),
        "date_sortie": None,
        "dernier_pp": D(2024, 3, 31),
        "dernier_evenement": D(2025, 1, 15),
        "statut_ins": "validee",
        "date_statut_ins": D(2025, 2, 1),
    }
    # d4: left on 01/03/2025; no PP; cancelled and planned events are not « derniers »;
    # « récupérée » on 31/03/2025 replaces its qualification of 01/02/2025
    assert rows["d4"] == {
        "dossier_id": "d4",
        "date_entree": D(2024, 6, 1),
        "date_sortie": D(2025, 3, 1),
        "dernier_pp": None,
        "dernier_evenement": None,
        "statut_ins": "recuperee",
        "date_statut_ins": D(2025, 3, 31),
    }
    # d9: the séjour begun on 20/03/2025 (still open), not the one closed on 05/03; no INS
    assert rows["d9"] == {
        "dossier_id": "d9",
        "date_entree": D(2025, 3, 20),
        "date_sortie": None,
        "dernier_pp": D(2025, 1, 10),
        "dernier_evenement": D(2025, 3, 21),
        "statut_ins": None,
        "date_statut_ins": None,
    }
    # the same-day tie of d3 (provisoire, qualifiée) is read as qualified
    events = drilldown.missing_dossiers(filled, ref, A, MARCH, "evenement")
    d3 = events[events["dossier_id"] == "d3"].iloc[0]
    assert (d3["statut_ins"], d3["date_statut_ins"]) == ("qualifiee", D(2025, 3, 5))


def test_missing_dossiers_match_the_counts_every_month(filled: Store, ref) -> None:
    """For every ESMS, month and lack: rows = dossiers_actifs − the count of records_counts."""
    counts = records.count_base(filled, ref, hand_records())
    table = counts.set_index(["finess_et", "periode", "indicateur"])["valeur"]
    # coverage: 12/2024 (d5's event) to 04/2025 (d1's event), for A; B from 01/2025
    assert sorted({p.strftime("%Y-%m") for p in counts["periode"]}) == [
        "2024-12", "2025-01", "2025-02", "2025-03", "2025-04",
    ]  # fmt: skip
    checked = 0
    for finess_et, periode in (
        counts[["finess_et", "periode"]].drop_duplicates().itertuples(index=False)
    ):
        active = table[(finess_et, periode, "dossiers_actifs")]
        for manque, indicator in RATE_COUNTS.items():
            frame = drilldown.missing_dossiers(filled, ref, finess_et, periode, manque)
            assert len(frame) == active - table[(finess_et, periode, indicator)], (
                finess_et,
                periode,
                manque,
            )
            checked += 1
    assert checked == 3 * (5 + 4)  # A: 5 months, B: 4 months (01–04/2025)
    # and March's counts are the hand-worked ones: 5 active, 3 with PP, 2 with an event, 2 INS
    assert [table[(A, MARCH, i)] for i in ("dossiers_actifs", *RATE_COUNTS.values())] == [
        5, 3, 2, 2,
    ]  # fmt: skip


def test_windows_follow_the_referentiel(filled: Store, ref) -> None:
    import dataclasses

    # PP valid 24 months: d2's PP of 03/2024 counts again in 03/2025 → only d4 lacks one
    longer = dataclasses.replace(ref, pp_window_months=24)
    assert list(drilldown.missing_dossiers(filled, longer, A, MARCH, "pp")["dossier_id"]) == ["d4"]
    # activity window 1 month: only March traces → d1, d3 (PP of 31/03), d9 active; d2
    # (January) and d4 (February document) are no longer active: nobody lacks a PP
    short = dataclasses.replace(ref, activity_window_months=1)
    assert drilldown.missing_dossiers(filled, short, A, MARCH, "pp").empty
    assert list(drilldown.missing_dossiers(filled, short, A, MARCH, "evenement")["dossier_id"]) == [
        "d3"
    ]


def test_missing_dossiers_refuses_an_unknown_lack(filled: Store, ref) -> None:
    with pytest.raises(ValueError, match="manque inconnu"):
        drilldown.missing_dossiers(filled, ref, A, MARCH, "dmp")


def test_month_sources_and_their_line(store: Store) -> None:
    add_import(store, 1, "usages_long")
    add_import(store, 2, "dossiers:evenements")
    add_import(store, 3, "tddui")

    def rows(finess_et: str, months: list[str]) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "finess_et": finess_et,
                "periode": [D(int(m[:4]), int(m[5:]), 1) for m in months],
                "indicateur": "dossiers_actifs",
                "valeur": 1,
            }
        )

    exports = ["2024-07", "2024-08", "2024-09", "2024-10", "2024-11", "2024-12"]
    computed = ["2025-01", "2025-02", "2025-03", "2025-04", "2025-05", "2025-06"]
    add_usage(store, rows(A, exports), 1)
    add_usage(store, rows(A, computed), 2)
    # 07/2025: one row of an export, another computed → mixte; 09/2025: TDDUI only
    add_usage(store, rows(A, ["2025-07"]), 1)
    add_usage(store, rows(A, ["2025-07"]).assign(indicateur="ins_qualifiees"), 2)
    add_usage(store, rows(A, ["2025-09"]), 3)
    add_usage(store, rows(B, ["2024-01"]), 2)  # another ESMS: not in A's months
    sources = drilldown.month_sources(store, A)
    assert [p.strftime("%Y-%m") for p in sources["periode"]] == [*exports, *computed, "2025-07", "2025-09"]  # fmt: skip
    assert list(sources["source"]) == (
        [drilldown.FROM_EXPORTS] * 6 + [drilldown.FROM_RECORDS] * 6
        + [drilldown.MIXED, drilldown.FROM_RECORDS]
    )  # fmt: skip
    assert drilldown.sources_text(sources) == (
        "Mois calculés depuis les dossiers : 01/2025–06/2025, 09/2025 ; mois en partie "
        "calculés depuis les dossiers : 07/2025 ; exports précalculés : 07/2024–12/2024"
    )
    # only precomputed exports: no line at all (nothing new to say)
    assert drilldown.sources_text(sources[sources["source"] == drilldown.FROM_EXPORTS]) == ""


@pytest.mark.parametrize(
    ("months", "expected"),
    [
        pytest.param([], "", id="none"),
        pytest.param([D(2025, 1, 1)], "01/2025", id="one"),
        pytest.param([D(2024, 12, 1), D(2025, 1, 1), D(2025, 2, 1)], "12/2024–02/2025", id="year"),
        pytest.param(
            [D(2025, 5, 1), D(2025, 1, 1), D(2025, 2, 1)], "01/2025–02/2025, 05/2025", id="gap"
        ),
    ],
)
def test_month_runs(months: list[dt.date], expected: str) -> None:
    assert drilldown.month_runs(months) == expected


# --- the command --------------------------------------------------------------------------
SCRIPT = shutil.which("dui-metrics", path=str(Path(sys.executable).parent)) or "dui-metrics"


def run(*args: str, store_path: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "DUI_METRICS_TODAY": "2025-06-15", "DUI_METRICS_STORE": str(store_path)}
    return subprocess.run(
        [SCRIPT, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture
def cli_store(filled: Store, store_path: Path) -> Path:
    # a precomputed-only ESMS, and a dossier id a spreadsheet would run as a formula
    add_import(filled, 2, "usages_long")
    add_usage(
        filled,
        pd.DataFrame(
            {"finess_et": ["330000019"], "periode": [MARCH], "indicateur": ["dossiers_actifs"],
             "valeur": [3]}
        ),
        2,
    )  # fmt: skip
    filled.execute(
        "insert into records_sejours values (?, '=1+1', date '2025-01-01', null, 1, null)", [A]
    )
    filled.execute(
        "insert into records_evenements values (?, '=1+1', date '2025-03-02', null, 1, null)", [A]
    )
    filled.close()
    return store_path


def test_dossiers_command_csv(cli_store: Path) -> None:
    out = run(
        "dossiers",
        "--finess-et",
        A,
        "--periode",
        "2025-03",
        "--manque",
        "ins",
        store_path=cli_store,
    )
    assert out.returncode == 0, out.stderr
    # '=1+1' (open, March event, no INS) is neutralised and sorts first ('=' < 'd')
    assert out.stdout == (
        "dossier_id,date_entree,date_sortie,dernier_pp,dernier_evenement,statut_ins,"
        "date_statut_ins\n"
        "'=1+1,2025-01-01,,,2025-03-02,,\n"
        "d2,2024-01-01,,2024-03-31,2025-01-15,validee,2025-02-01\n"
        "d4,2024-06-01,2025-03-01,,,recuperee,2025-03-31\n"
        "d9,2025-03-20,,2025-01-10,2025-03-21,,\n"
    )


def test_dossiers_command_json(cli_store: Path) -> None:
    out = run(
        "dossiers", "--finess-et", A, "--periode", "03/2025", "--manque", "pp",
        "--format", "json", store_path=cli_store,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    # PP lacking: '=1+1' (no PP), d2, d4 — JSON keeps the id as it is
    assert json.loads(out.stdout) == [
        {"dossier_id": "=1+1", "date_entree": "2025-01-01", "date_sortie": None,
         "dernier_pp": None, "dernier_evenement": "2025-03-02", "statut_ins": None,
         "date_statut_ins": None},
        {"dossier_id": "d2", "date_entree": "2024-01-01", "date_sortie": None,
         "dernier_pp": "2024-03-31", "dernier_evenement": "2025-01-15",
         "statut_ins": "validee", "date_statut_ins": "2025-02-01"},
        {"dossier_id": "d4", "date_entree": "2024-06-01", "date_sortie": "2025-03-01",
         "dernier_pp": None, "dernier_evenement": None, "statut_ins": "recuperee",
         "date_statut_ins": "2025-03-31"},
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        pytest.param(
            ("--finess-et", "6900000131", "--periode", "2025-03", "--manque", "pp"), 2,
            "FINESS invalide « 6900000131 »", id="bad-finess",
        ),
        pytest.param(
            ("--finess-et", "750000001", "--periode", "2025-03", "--manque", "pp"), 2,
            "ESMS inconnu : 750000001", id="unknown-esms",
        ),
        pytest.param(
            ("--finess-et", A, "--periode", "2025-13", "--manque", "pp"), 2,
            "mois illisible « 2025-13 »", id="bad-month",
        ),
        pytest.param(
            ("--finess-et", A, "--periode", "2025-03", "--manque", "dmp"), 2,
            "argument --manque", id="unknown-lack",
        ),
        pytest.param(
            ("--finess-et", "330000019", "--periode", "2025-03", "--manque", "pp"), 1,
            "aucun dossier enregistré pour l'ESMS 330000019", id="no-records",
        ),
    ],
)  # fmt: skip
def test_dossiers_command_errors(cli_store: Path, args, code: int, message: str) -> None:
    out = run("dossiers", *args, store_path=cli_store)
    assert out.returncode == code
    assert message in out.stderr
    assert "Traceback" not in out.stderr
    assert out.stdout == ""


def test_dossiers_command_unreadable_store(tmp_path: Path) -> None:
    bad = tmp_path / "bad.duckdb"
    bad.write_bytes(b"not a duckdb file" * 1000)
    out = run(
        "dossiers", "--finess-et", A, "--periode", "2025-03", "--manque", "pp", store_path=bad
    )
    assert out.returncode == 3
    assert "magasin illisible" in out.stderr and "Traceback" not in out.stderr


# --- the Établissement page ----------------------------------------------------------------
APP = str(Path(__file__).resolve().parent.parent / "app.py")
C = "330000019"
# A and B count from records; C only from precomputed exports. A also has precomputed months
# before its records' coverage (09–11/2024; the records cover 12/2024–04/2025).
PAGE_REFERENCE = """finess_et;finess_ej;raison_sociale;og_nom;commande;editeur
690000013;690000005;EHPAD Un;OG A;BC-A;EdA
690000021;690000005;IME Deux;OG A;BC-A;EdA
330000019;330000001;SSIAD Trois;OG B;BC-B;EdB
"""
PAGE_USAGE = (
    "finess_et;periode;personnes_accompagnees;dossiers_actifs;dossiers_actifs_avec_pp\n"
    + "".join(
        f"{finess};{month};10;8;4\n"
        for finess, months in ((A, ("2024-09", "2024-10", "2024-11")), (C, ("2025-02", "2025-03")))
        for month in months
    )
)


@pytest.fixture
def page_store(store_from, ref, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = store_from(PAGE_REFERENCE, PAGE_USAGE)
    recs = hand_records()
    with Store(path) as store:
        import_id = store.scalar("select max(import_id) + 1 from imports")
        add_import(store, import_id, "dossiers:evenements")
        store_records(store, recs, import_id)
        add_usage(store, records.count_base(store, ref, recs), import_id)
    monkeypatch.setenv("DUI_METRICS_STORE", str(path))
    return path


def establishment_page(finess_et: str, month: dt.date):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP, default_timeout=60).run()
    at = at.switch_page("pages/etablissement.py").run()
    at.selectbox(key="finess_et").set_value(finess_et).run()
    at.selectbox(key="au").set_value(month).run()
    assert not at.exception
    return at


def missing_expanders(at) -> dict[str, object]:
    return {e.label: e for e in at.expander if e.label.startswith("Dossiers actifs sans")}


def test_page_lists_the_dossiers_behind_each_rate(page_store: Path) -> None:
    at = establishment_page(A, MARCH)
    captions = [c.value for c in at.caption]
    assert (
        "Mois calculés depuis les dossiers : 12/2024–04/2025 ; exports précalculés : "
        "09/2024–11/2024"
    ) in captions
    expanders = missing_expanders(at)
    # the hand-worked March lists: PP d2 d4; event d2 d3 d4; INS d2 d4 d9 (the charts, and
    # the lists under them, are in two columns: compared as a set)
    assert set(expanders) == {
        "Dossiers actifs sans projet personnalisé en mars 2025 (2)",
        "Dossiers actifs sans événement en mars 2025 (3)",
        "Dossiers actifs sans INS qualifiée en mars 2025 (3)",
    }
    ins = screen_tables(expanders["Dossiers actifs sans INS qualifiée en mars 2025 (3)"])[0]
    assert ins.to_dict("records") == [
        {"Dossier": "d2", "Entrée": "01/01/2024", "Sortie": "—",
         "Dernier projet personnalisé": "31/03/2024", "Dernier événement": "15/01/2025",
         "Statut INS": "validée", "Statut INS depuis le": "01/02/2025"},
        {"Dossier": "d4", "Entrée": "01/06/2024", "Sortie": "01/03/2025",
         "Dernier projet personnalisé": "—", "Dernier événement": "—",
         "Statut INS": "récupérée", "Statut INS depuis le": "31/03/2025"},
        {"Dossier": "d9", "Entrée": "20/03/2025", "Sortie": "—",
         "Dernier projet personnalisé": "10/01/2025", "Dernier événement": "21/03/2025",
         "Statut INS": "inconnu", "Statut INS depuis le": "—"},
    ]  # fmt: skip
    events = expanders["Dossiers actifs sans événement en mars 2025 (3)"]
    assert list(screen_tables(events)[0]["Dossier"]) == ["d2", "d3", "d4"]
    # the CSV download holds the same rows, dates as dates (ISO in the CSV)
    assert [b.label for b in events.get("download_button")][:1] == ["⬇️ CSV"]
    # the monthly values' grid waits to be asked for (tests/test_app.py opens it)
    assert not at.dataframe


def test_page_without_records_for_the_month_has_no_drill_down(page_store: Path) -> None:
    # A in 10/2024: a precomputed month → no list (it would not match the rates shown)
    at = establishment_page(A, D(2024, 10, 1))
    assert missing_expanders(at) == {}
    # C: precomputed only → neither the sources line nor lists
    at = establishment_page(C, MARCH)
    assert missing_expanders(at) == {}
    assert not [c for c in at.caption if "calculés depuis les dossiers" in c.value]


def test_page_month_without_missing_dossier_says_so(page_store: Path) -> None:
    # B in 03/2025: d7 is active (January séjour, March event), no PP, no INS → lists of 1;
    # it has its March event → the event list is empty and says so
    at = establishment_page(B, MARCH)
    expanders = missing_expanders(at)
    assert set(expanders) == {
        "Dossiers actifs sans projet personnalisé en mars 2025 (1)",
        "Dossiers actifs sans événement en mars 2025 (0)",
        "Dossiers actifs sans INS qualifiée en mars 2025 (1)",
    }
    empty = expanders["Dossiers actifs sans événement en mars 2025 (0)"]
    assert [c.value for c in empty.caption] == ["Aucun : chaque dossier actif du mois en a."]


def test_dossiers_command_warns_outside_the_computed_months(cli_store: Path) -> None:
    # 06/2025: after the records' coverage (12/2024–04/2025): no usage computed from them;
    # the list is still printed. Open in June: '=1+1', d1, d2, d3, d9; with a trace in
    # 04–06/2025: only d1 (April event), whose PP of 06/2024 is the 13th month before 06/2025
    # (validity 07/2024–06/2025) → d1 lacks a PP
    out = run(
        "dossiers", "--finess-et", A, "--periode", "2025-06", "--manque", "pp",
        store_path=cli_store,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert [line.split(",")[0] for line in out.stdout.splitlines()[1:]] == ["d1"]
    assert "avertissement : les comptages de 06/2025 de l'ESMS 690000013 ne sont pas" in (
        out.stderr
    )
    # in March, computed from the records: no warning
    out = run(
        "dossiers", "--finess-et", A, "--periode", "2025-03", "--manque", "pp",
        store_path=cli_store,
    )  # fmt: skip
    assert out.returncode == 0 and out.stderr == ""


# --- through the real ingest ------------------------------------------------------------------
# The hand set above as record files (one INS status per dossier row: d2 « validée » on
# 01/02/2025, d3 qualified on 05/03/2025, d4 « récupérée » on 31/03/2025, d1 qualified), read
# and counted by `dui-metrics ingest` (records_store), with a precomputed month before the
# records' coverage.
FILE_DOSSIERS = f"""FINESS ET;N° dossier;Date d'entrée;Date de sortie;Statut INS;Date statut INS
{A};d1;01/01/2024;;Qualifiée;01/01/2025
{A};d2;01/01/2024;;validée;01/02/2025
{A};d3;31/03/2025;;Qualifiée;05/03/2025
{A};d4;01/06/2024;01/03/2025;récupérée;31/03/2025
{A};d5;01/01/2024;;;
{A};d6;01/01/2024;28/02/2025;;
{A};d8;01/01/2024;;;
{A};d9;01/01/2024;05/03/2025;;
{A};d9;20/03/2025;;;
{B};d7;01/01/2025;;;
"""


def _file_rows(rows, columns: str) -> str:
    def cell(v) -> str:
        return "" if v is None else v.strftime("%d/%m/%Y") if isinstance(v, dt.date) else v

    return columns + "\n" + "".join(";".join(cell(v) for v in row) + "\n" for row in rows)


def test_drill_down_matches_the_counts_of_the_real_ingest(store_path: Path, write_file, ref):
    from dui_metrics.ingest import LOADED, ingest_paths

    files = [
        write_file("ref.csv", PAGE_REFERENCE),
        write_file("usage.csv", f"finess_et;periode;indicateur;valeur\n{A};2024-10;dossiers_actifs;7\n"),
        write_file("dossiers.csv", FILE_DOSSIERS),
        write_file("evenements.csv", _file_rows(EVENTS, "finess_et;dossier_id;date_evenement;statut")),
        write_file("pp.csv", _file_rows(PROJECTS, "finess_et;dossier_id;date_pp")),
        write_file("dmp.csv", _file_rows(DOCUMENTS, "finess_et;dossier_id;date_envoi;statut")),
    ]  # fmt: skip
    with Store(store_path) as store:
        results = ingest_paths(store, files, ref)
        assert [r.status for r in results] == [LOADED] * 6, [r.error for r in results]
        stored = store.execute(
            "select u.finess_et, u.periode, u.indicateur, u.valeur from usage u "
            "join imports i using (import_id) where i.kind like 'dossiers:%'"
        ).df()
        table = stored.set_index(["finess_et", "periode", "indicateur"])["valeur"]
        keys = stored[["finess_et", "periode"]].drop_duplicates()
        assert len(keys) == 5 + 4  # A 12/2024–04/2025, B 01–04/2025
        for finess_et, periode in keys.itertuples(index=False):
            month = pd.Timestamp(periode).date()
            active = table[(finess_et, periode, "dossiers_actifs")]
            for manque, indicator in RATE_COUNTS.items():
                found = drilldown.missing_dossiers(store, ref, finess_et, month, manque)
                assert len(found) == active - table[(finess_et, periode, indicator)], (
                    finess_et, month, manque,
                )  # fmt: skip
        for manque, expected in EXPECTED.items():
            found = drilldown.missing_dossiers(store, ref, A, MARCH, manque)
            assert list(found["dossier_id"]) == expected
        assert drilldown.record_status(store, ref, A).text == (
            "Mois calculés depuis les dossiers : 12/2024–04/2025 ; exports précalculés : 10/2024"
        )
