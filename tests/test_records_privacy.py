"""The official TDDUI bundle through `dui-metrics ingest` into a real store (issue 14): counted
by hand, DMP and MSSanté missing (TDDUI carries neither), and not one direct identifier of the
example's patient anywhere in the store (domain.md §7): every value of every table scanned."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from test_fhir_records import DOSSIER, FINESS, official, personal_values

from dui_metrics.ingest import LOADED, ingest_paths
from dui_metrics.store import Store

OFFICIAL = Path(__file__).parent / "data" / "tddui"  # copies of ../shared/reference/tddui


def every_value(store: Store) -> list[str]:
    """Every value of every column of every table of the store, as text."""
    values = []
    tables = [t for (t,) in store.execute("select table_name from duckdb_tables()").fetchall()]
    for table in tables:
        columns = [c for (c,) in store.execute(
            "select column_name from duckdb_columns() where table_name = ?", [table]
        ).fetchall()]  # fmt: skip
        for column in columns:
            values += [
                str(v)
                for (v,) in store.execute(
                    f'select distinct "{column}"::varchar from "{table}" where "{column}" is not null'
                ).fetchall()
            ]
    return values


def test_the_official_bundle_is_counted_and_leaves_no_direct_identifier(tmp_path) -> None:
    data = official()
    bundle = tmp_path / "tddui.json"
    bundle.write_text(json.dumps(data), encoding="utf-8")
    path = tmp_path / "store.duckdb"
    with Store(path) as store:
        (result,) = ingest_paths(store, [bundle])
        assert result.status == LOADED, result.error
        assert result.kind == "tddui"
        # Every official example ingests: the seven lone resources (as the standard publishes
        # them, outside a Bundle) with nothing to count and a warning saying why.
        others = sorted(OFFICIAL.glob("[!B]*.json"))
        assert len(others) == 7
        results = ingest_paths(store, others)
        assert [(r.status, r.rows_loaded) for r in results] == [(LOADED, 0)] * 7
        assert all(
            "ressource TDDUI seule, hors d'un Bundle : rien à compter" in r.warnings[0].message
            for r in results
        )
        rows = store.execute(
            "select finess_et, strftime(periode, '%Y-%m'), indicateur, valeur from usage "
            "order by all"
        ).fetchall()
        # One dossier, its séjour open since 14/04/2023, its event of 14/04/2023 (the only
        # activity: coverage April 2023), identityStatus VALI with an INS-NIR (qualifiée),
        # no CarePlan. DMP and MSSanté: no row, missing and never zero.
        assert rows == sorted(
            [
                (FINESS, "2023-04", "personnes_accompagnees", 1),
                (FINESS, "2023-04", "dossiers_actifs", 1),
                (FINESS, "2023-04", "dossiers_actifs_avec_pp", 0),
                (FINESS, "2023-04", "dossiers_actifs_avec_evenement", 1),
                (FINESS, "2023-04", "ins_qualifiees", 1),
            ]
        )
        # the dossier is found again by the DUI's local id
        assert store.execute("select dossier_id from records_sejours").fetchall() == [(DOSSIER,)]
        values = every_value(store)
    assert len(values) > 20  # the whole store was looked at
    personal = personal_values(data)
    for value in values:
        for secret in personal:
            assert secret.lower() not in value.lower(), secret


def test_an_ndjson_of_bundles_replaces_the_esms_records(tmp_path) -> None:
    data = official()
    path = tmp_path / "store.duckdb"
    first = tmp_path / "lot-1.ndjson"
    first.write_text(json.dumps(data) + "\n", encoding="utf-8")
    # A later extract: the same séjour, now closed on 30/04/2023.
    sejour = next(
        e["resource"]
        for e in data["entry"]
        if e["resource"].get("id") == "tddui-encounter-sejour-example"
    )
    sejour["period"]["end"] = "2023-04-30"
    second = tmp_path / "lot-2.ndjson"
    second.write_text(json.dumps(data) + "\n\n", encoding="utf-8")
    with Store(path) as store:
        assert [r.status for r in ingest_paths(store, [first])] == [LOADED]
        (result,) = ingest_paths(store, [second])
        assert result.status == LOADED, result.error
        # séjour, INS status and event replaced: one row each, from the second file
        assert store.execute("select date_sortie from records_sejours").fetchall() == [
            (dt.date(2023, 4, 30),)
        ]
        assert store.scalar("select count(*) from records_evenements") == 1
        assert (
            store.scalar("select valeur from usage where indicateur = 'personnes_accompagnees'")
            == 1
        )
