"""Copy-on-write writes: readers never see a half-written store, failures leave it intact."""

from __future__ import annotations

from pathlib import Path

import pytest

from dui_metrics.store import Store
from dui_metrics.writer import writable_copy

ROW = "insert into usage values ('690000013', date '2025-01-01', 'dossiers_actifs', ?, 1, 2)"


def count(path: Path) -> int:
    # A snapshot: within one process DuckDB would otherwise reuse an instance already open.
    with Store.snapshot(path) as s:
        return s.scalar("select count(*) from usage")


def test_commit_replaces_the_store_and_open_readers_keep_their_snapshot(store_path: Path) -> None:
    with writable_copy(store_path) as s:
        s.execute(ROW, [1])
    reader = Store.snapshot(store_path)  # opened before the second write
    with writable_copy(store_path) as s:
        s.execute(ROW.replace("2025-01-01", "2025-02-01"), [2])
    # The open reader still sees 1 row (its snapshot); a new reader sees 2.
    assert reader.scalar("select count(*) from usage") == 1
    assert count(store_path) == 2
    reader.close()
    assert sorted(p.name for p in store_path.parent.iterdir()) == [
        "store.duckdb",
        "store.duckdb.lock",
    ]


def test_a_reader_can_open_while_a_writer_writes(store_path: Path) -> None:
    with writable_copy(store_path) as s:
        s.execute(ROW, [1])
    with writable_copy(store_path) as s:
        s.execute(ROW.replace("2025-01-01", "2025-02-01"), [2])
        # mid-write: the store file is not locked by the writer and shows the state before
        assert count(store_path) == 1
    assert count(store_path) == 2


def test_exception_leaves_store_unchanged_and_no_copy(store_path: Path) -> None:
    with writable_copy(store_path) as s:
        s.execute(ROW, [1])
    with pytest.raises(RuntimeError), writable_copy(store_path) as s:
        s.execute(ROW.replace("2025-01-01", "2025-02-01"), [2])
        raise RuntimeError("killed")
    assert count(store_path) == 1
    assert not list(store_path.parent.glob("*.tmp*"))


def test_dry_run_throws_the_copy_away(store_path: Path) -> None:
    with writable_copy(store_path) as s:
        s.execute(ROW, [1])
    with writable_copy(store_path, commit=False) as s:
        s.execute(ROW.replace("2025-01-01", "2025-02-01"), [2])
        assert s.scalar("select count(*) from usage") == 2  # visible inside the dry run
    assert count(store_path) == 1


def test_stray_copy_of_a_killed_writer_is_removed(store_path: Path) -> None:
    with writable_copy(store_path) as s:
        s.execute(ROW, [1])
    stray = store_path.with_name("store.duckdb.999.tmp")
    stray.write_bytes(b"half-written")
    with writable_copy(store_path) as s:
        s.execute(ROW.replace("2025-01-01", "2025-02-01"), [2])
    assert not stray.exists() and count(store_path) == 2
