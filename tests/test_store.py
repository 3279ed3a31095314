"""The store: schema on first use, versioned, migrated rather than broken, read-only opens."""

from __future__ import annotations

from pathlib import Path

import pytest

from dui_metrics import store as store_mod
from dui_metrics.store import Store, StoreError


def test_schema_created_on_first_use(store_path: Path) -> None:
    assert not store_path.exists()
    with Store(store_path) as s:
        assert s.schema_version == store_mod.SCHEMA_VERSION
        tables = {
            r[0] for r in s.execute("select table_name from information_schema.tables").fetchall()
        }
    assert {"meta", "imports", "establishments", "usage"} <= tables


def test_default_path_and_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert store_mod.default_path() == Path("data") / "dui-metrics.duckdb"
    monkeypatch.setenv("DUI_METRICS_STORE", str(tmp_path / "x.duckdb"))
    assert store_mod.default_path() == tmp_path / "x.duckdb"


def next_release(monkeypatch: pytest.MonkeyPatch, migration) -> int:
    """Pretend the code is one schema version ahead, ``migration`` leading to it; the new
    version."""
    current = store_mod.SCHEMA_VERSION
    monkeypatch.setattr(store_mod, "SCHEMA_VERSION", current + 1)
    monkeypatch.setitem(store_mod.MIGRATIONS, current, migration)
    return current + 1


def store_with_one_value(path: Path) -> None:
    with Store(path) as s:
        s.execute(
            "insert into usage values ('690000013', date '2025-01-01', 'dossiers_actifs', 7, 1, 2)"
        )


def test_older_store_is_migrated_with_its_data(
    store_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store_with_one_value(store_path)
    # A later release adds a column; the store must be upgraded, not discarded.
    new = next_release(
        monkeypatch, lambda con: con.execute("alter table usage add column commentaire varchar")
    )
    with Store(store_path, read_only=True) as s:  # even a read-only open upgrades first
        assert s.schema_version == new
        assert s.execute("select valeur, commentaire from usage").fetchall() == [(7, None)]


def test_a_snapshot_of_an_older_store_migrates_the_store_itself(
    store_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The dashboard opens snapshots (a private link to the store's file). An older store was
    # migrated on that link: the store itself stayed old (migrated again by every snapshot)
    # and the migration took the lock of the link (« .<store>.snapshot-….lock », left in the
    # folder), not the store's writers' lock.
    store_with_one_value(store_path)
    new = next_release(monkeypatch, lambda con: con.execute("create table ajout (x int)"))
    snap = Store.snapshot(store_path)
    try:
        assert snap.schema_version == new
        assert snap.execute("select valeur from usage").fetchall() == [(7,)]
    finally:
        snap.close()
    import duckdb

    with duckdb.connect(str(store_path), read_only=True) as plain:  # the store's own file
        version = plain.execute("select value from meta where key = 'schema_version'")
        assert version.fetchone() == (str(new),)
    left = sorted(p.name for p in store_path.parent.iterdir() if ".snapshot-" in p.name)
    assert left == []


def test_failed_migration_leaves_the_store_at_its_version(
    store_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    Store(store_path).close()

    def broken(con) -> None:
        con.execute("alter table usage add column x varchar")
        raise RuntimeError("boom")

    current = store_mod.SCHEMA_VERSION
    monkeypatch.setattr(store_mod, "SCHEMA_VERSION", current + 1)
    monkeypatch.setitem(store_mod.MIGRATIONS, current, broken)
    with pytest.raises(RuntimeError):
        Store(store_path)
    monkeypatch.setattr(store_mod, "SCHEMA_VERSION", current)
    with Store(store_path) as s:
        assert s.schema_version == current
        columns = [
            r[0]
            for r in s.execute(
                "select column_name from information_schema.columns where table_name = 'usage'"
            ).fetchall()
        ]
        assert "x" not in columns


def test_version_1_store_gets_the_record_tables_and_keeps_its_data(store_path: Path) -> None:
    # A store written by a release of schema 1 (the tables of schema_v1.sql only).
    import duckdb

    with duckdb.connect(str(store_path)) as con:
        con.execute(store_mod.sql("schema_v1"))
        con.execute("insert into meta values ('schema_version', '1'), ('demo_sha256', '')")
        con.execute(
            "insert into usage values ('690000013', date '2025-01-01', 'dossiers_actifs', 7, 1, 2)"
        )
    with Store(store_path, read_only=True) as s:
        # every migration since, in turn: 1 → 2 (records), 2 → 3 (imports.imported_by)
        assert s.schema_version == store_mod.SCHEMA_VERSION == 3
        assert s.execute("select valeur from usage").fetchall() == [(7,)]
        for table in ("records_sejours", "records_evenements", "record_imports", "usage_shadowed"):
            assert s.scalar(f"select count(*) from {table}") == 0


def test_newer_store_is_refused(store_path: Path) -> None:
    with Store(store_path) as s:
        s.execute("update meta set value = '99' where key = 'schema_version'")
    with pytest.raises(StoreError, match="schéma 99, plus récent"):
        Store(store_path)


def test_read_only_open_of_missing_store_explains(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="dui-metrics demo"):
        Store(tmp_path / "absent.duckdb", read_only=True)


def test_transaction_rolls_back_on_error(store: Store) -> None:
    with pytest.raises(ValueError), store.transaction():
        store.execute(
            "insert into usage values ('690000013', date '2025-01-01', 'dossiers_actifs', 7, 1, 2)"
        )
        raise ValueError("stop")
    assert store.scalar("select count(*) from usage") == 0
