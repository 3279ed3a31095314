"""The demo's record files (`demo_records`): deterministic, imported whole by `dui-metrics
ingest`, and counted as the README says (the table ESMS from its records, the TDDUI ESMS from
its records except DMP and MSSanté, which TDDUI cannot carry and stay precomputed)."""

from __future__ import annotations

import hashlib

from dui_metrics.cli import main
from dui_metrics.demo_records import RECORDS_ESMS, TDDUI_ESMS, write_record_examples
from dui_metrics.store import Store


def digests(paths) -> list[str]:
    return [hashlib.sha256(p.read_bytes()).hexdigest() for p in paths]


def test_demo_records_are_deterministic(tmp_path) -> None:
    first = write_record_examples(tmp_path / "a")
    second = write_record_examples(tmp_path / "b")
    assert [p.relative_to(tmp_path / "a") for p in first] == [
        p.relative_to(tmp_path / "b") for p in second
    ]
    assert digests(first) == digests(second)


def test_demo_records_imported_after_the_demo(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("DUI_METRICS_TODAY", "2026-11-15")  # the demo runs to 10/2026
    store_path, folder = tmp_path / "s.duckdb", tmp_path / "demo"
    assert main(["demo", "--store", str(store_path), "--dossier", str(folder)]) == 0
    assert "dossiers de démonstration (non importés)" in capsys.readouterr().err
    assert (
        main(
            ["ingest", "--store", str(store_path), str(folder / "dossiers"), str(folder / "tddui")]
        )
        == 0
    )
    with Store(store_path, read_only=True) as store:
        # demo files, even imported later: the store is still the demo, not a mix
        assert store.demo_state() == "demo"
        sources = dict(
            store.execute(
                """
                select u.finess_et || ' ' || u.indicateur, string_agg(distinct i.kind, ',')
                from usage u join imports i using (import_id)
                where u.periode = date '2026-10-01' and u.finess_et in (?, ?)
                group by all
                """,
                [RECORDS_ESMS, TDDUI_ESMS],
            ).fetchall()
        )
    # October 2026, the demo's last month: every count of the table ESMS from its records...
    assert all(
        kind.startswith("dossiers:")
        for key, kind in sources.items()
        if key.startswith(RECORDS_ESMS)
    )
    assert f"{RECORDS_ESMS} mss_messages_recus" in sources
    # ...the TDDUI ESMS's from its bundles, but DMP and MSSanté still the precomputed ones
    assert sources[f"{TDDUI_ESMS} dossiers_actifs"] == "tddui"
    for indicator in ("dmp_documents_envoyes", "mss_messages_envoyes", "mss_messages_recus"):
        assert not sources[f"{TDDUI_ESMS} {indicator}"].startswith(("dossiers", "tddui"))
