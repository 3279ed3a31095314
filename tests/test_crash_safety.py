"""Crash safety, with real processes on a real DuckDB file: an ingest killed (SIGKILL) at any
point leaves the store openable and in the state before or after that command, never a mix;
the next writer removes the killed writer's copy and works. A reader killed while opening a
snapshot leaves a link that a later writer removes. A store of an older schema is migrated,
never discarded, even when the migration is killed half-way.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from concurrency_support import (
    LONG,
    SCRIPT,
    finess,
    leftovers,
    lock_is_free,
    read_line,
    wide_file,
)

from dui_metrics import indicators, referentiel
from dui_metrics import store as store_mod
from dui_metrics.ingest import ingest_paths
from dui_metrics.store import Store
from dui_metrics.writer import writable_copy

# One process imports everything once, then for each line "<store>\t<file>" forks a child that
# runs `dui-metrics ingest --store <store> <file>` (the console script's main) and answers the
# child's pid, then its exit code: the kill delay is measured from the start of the command,
# not from the start of Python. (No DuckDB connection is open in the parent when it forks.)
DRIVER = r"""
import os, sys
from dui_metrics import cli
for line in sys.stdin:
    store, path = line.rstrip("\n").split("\t")
    pid = os.fork()
    if pid == 0:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        os.dup2(null, 2)
        sys.exit(cli.main(["ingest", "--store", store, path]))  # then exits as the command does
    print(pid, flush=True)
    print(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]), flush=True)
"""

N_ESMS = 150
MONTHS = [f"{y}-{m:02d}" for y in range(2015, 2025) for m in range(1, 13)]  # 120 months
ROWS = N_ESMS * len(MONTHS) * 2  # 36 000 rows per file, every one replaced by the next file
KILLS = 30


def values(run: int) -> tuple[int, int]:
    """(personnes_accompagnees, dossiers_actifs) of every row of run ``run``'s file."""
    return 1000 + run, 500 + run


def state(path: Path, ref) -> tuple:
    """What a reader sees: rows, log, the distinct values of usage and of the monthly
    indicators (one value per indicator in a whole state: each file replaces every row)."""
    with Store.snapshot(path) as s:
        rows, n_imports = s.one("select (select count(*) from usage), count(*) from imports")
        last_ids = s.execute("select distinct import_id from usage").fetchall()
        max_id = s.scalar("select max(import_id) from imports")
        usage_values = set(s.execute("select distinct indicateur, valeur from usage").fetchall())
        monthly = indicators.monthly(s, ref)
    shown = {(i, v) for _, _, i, v, *_ in monthly}
    return rows, n_imports, last_ids == [(max_id,)], usage_values, len(monthly), shown


def expected(run: int, n_imports: int) -> tuple:
    """The state after run ``run`` succeeded, as the ``n_imports``-th import."""
    accompanied, active = values(run)
    usage_values = {("personnes_accompagnees", accompanied), ("dossiers_actifs", active)}
    shown = usage_values | {("taux_dossiers_actifs", active / accompanied)}
    return ROWS, n_imports, True, usage_values, ROWS // 2 * 3, shown


def test_ingest_killed_at_random_points_leaves_before_or_after(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    ref = referentiel.default()
    esms = [finess(i) for i in range(N_ESMS)]
    store_path = tmp_path / "store.duckdb"
    script = tmp_path / "driver.py"
    script.write_text(DRIVER)

    def file_of(run: int) -> Path:
        path = tmp_path / "in" / f"run{run:02d}.csv"
        path.parent.mkdir(exist_ok=True)
        path.write_text(wide_file(esms, MONTHS, *values(run)), encoding="utf-8")
        return path

    driver = subprocess.Popen(
        [sys.executable, str(script)], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    request.addfinalizer(driver.kill)  # on a failure, do not leave it waiting

    def run_driver(run: int, kill_after: float | None) -> tuple[int, float]:
        file = file_of(run)
        driver.stdin.write(f"{store_path}\t{file}\n".encode())
        driver.stdin.flush()
        pid = int(read_line(driver.stdout.fileno()))
        start = time.monotonic()
        if kill_after is not None:
            time.sleep(kill_after)
            with contextlib.suppress(ProcessLookupError):  # it may have exited already
                os.kill(pid, signal.SIGKILL)
        code = int(read_line(driver.stdout.fileno()))
        return code, time.monotonic() - start

    # Runs 0, 1 and 2 complete; runs 1 and 2 (replacing every row, as the killed runs do)
    # give the typical duration of the command (their mean).
    assert run_driver(0, None)[0] == 0
    durations = [run_driver(run, None) for run in (1, 2)]
    assert [code for code, _ in durations] == [0, 0]
    typical = sum(duration for _, duration in durations) / 2
    n_imports, current = 3, 2
    assert state(store_path, ref) == expected(2, 3)

    rng = random.Random(20261125)
    before = after = strays_seen = 0
    outcomes = []
    for run in range(3, 3 + KILLS):
        delay = rng.uniform(0, typical)
        code, _ = run_driver(run, delay)
        assert lock_is_free(store_path)  # the kernel releases a killed writer's lock
        seen = state(store_path, ref)  # the store always opens
        if seen == expected(current, n_imports):
            before += 1
            strays = leftovers(store_path)
            strays_seen += bool(strays)
            assert all(".tmp" in name for name in strays), strays
        else:
            assert seen == expected(run, n_imports + 1), f"run {run}: neither before nor after"
            after += 1
            n_imports, current = n_imports + 1, run
            # the writer finished its copy and renamed it: nothing left of it or of earlier
            # killed writers (it removed their copies before starting)
            assert leftovers(store_path) == []
        outcomes.append((round(delay, 3), code, "after" if current == run else "before"))

    # The next ingest works, removes any stray copy and leaves only the store and its lock.
    final = 3 + KILLS
    assert run_driver(final, None)[0] == 0
    driver.stdin.close()
    assert driver.wait(timeout=60) == 0
    assert state(store_path, ref) == expected(final, n_imports + 1)
    assert leftovers(store_path) == []
    assert lock_is_free(store_path)
    print(  # shown with -s
        f"typical ingest {typical:.2f} s; {KILLS} kills: {before} before the swap "
        f"({strays_seen} leaving a stray copy), {after} after; {outcomes}"
    )
    assert before + after == KILLS
    # Kills landing mid-ingest (the store copied, not yet renamed) are what this is about.
    assert strays_seen >= 1


# --- schema migration through the command line ------------------------------------------
# The "next release" is this package with one more schema version (a column added to usage),
# patched in a separate process.
NEXT_RELEASE = r"""
import sys, time
from pathlib import Path
from dui_metrics import store as store_mod
from dui_metrics.cli import main

def add_comment(con):
    con.execute("alter table usage add column commentaire varchar")
    if len(sys.argv) > 2:  # a slow migration, killed half-way by the test
        Path(sys.argv[2]).touch()
        time.sleep(60)

store_mod.MIGRATIONS[store_mod.SCHEMA_VERSION] = add_comment
store_mod.SCHEMA_VERSION += 1
sys.exit(main(["indicators", "--store", sys.argv[1]]))
"""


NEXT = str(store_mod.SCHEMA_VERSION + 1)


def v2_contents(path: Path) -> tuple:
    """Schema version, (rows, comments) of usage, the log: read with DuckDB itself (this
    release's Store refuses the next release's store)."""
    with duckdb.connect(str(path), read_only=True) as con:
        return (
            con.execute("select value from meta where key = 'schema_version'").fetchone()[0],
            con.execute("select count(*), count(commentaire) from usage").fetchall(),
            con.execute("select file_name from imports").fetchall(),
        )


def test_older_store_is_migrated_through_the_cli_even_after_a_killed_migration(
    tmp_path: Path,
) -> None:
    store_path = tmp_path / "store.duckdb"
    (tmp_path / "u.csv").write_text(
        LONG + f"{finess(1)};2025-01;personnes_accompagnees;40\n"
        f"{finess(1)};2025-01;dossiers_actifs;30\n",
        encoding="utf-8",
    )
    env = {**os.environ}
    assert (
        subprocess.run(
            [SCRIPT, "ingest", "--store", str(store_path), "u.csv"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            timeout=60,
        ).returncode
        == 0
    )
    v1 = subprocess.run(
        [SCRIPT, "indicators", "--store", str(store_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert v1.returncode == 0 and len(v1.stdout.splitlines()) == 4  # header, 2 counts, 1 rate
    script = tmp_path / "next_release.py"
    script.write_text(NEXT_RELEASE)
    v1_bytes = store_path.read_bytes()

    # A read of the next release migrates first; killed during the migration, the store is
    # untouched (still this release's schema, same bytes) and the lock is released.
    migrating = tmp_path / "migrating"
    slow = subprocess.Popen(
        [sys.executable, str(script), str(store_path), str(migrating)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while not migrating.exists():
        assert slow.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)
    slow.send_signal(signal.SIGKILL)
    slow.wait(timeout=60)
    assert store_path.read_bytes() == v1_bytes and lock_is_free(store_path)
    assert any(".tmp" in name for name in leftovers(store_path))

    # Run again to the end: the same indicators, read from the migrated store; the log kept.
    v2 = subprocess.run(
        [sys.executable, str(script), str(store_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert v2.returncode == 0, v2.stderr
    assert v2.stdout == v1.stdout
    assert leftovers(store_path) == []  # the killed migration's copy removed
    assert v2_contents(store_path) == (NEXT, [(2, 0)], [("u.csv",)])

    # This release refuses the newer store with an explanation, and leaves it be.
    old = subprocess.run(
        [SCRIPT, "indicators", "--store", str(store_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert old.returncode == 2 and "plus récent" in old.stderr
    assert v2_contents(store_path) == (NEXT, [(2, 0)], [("u.csv",)])


READER_LOOP = r"""
import sys
from dui_metrics.store import Store
print("ready", flush=True)
while True:
    Store.snapshot(sys.argv[1]).close()
"""


def test_snapshot_links_of_killed_readers_are_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reader killed while opening a snapshot leaves its hard link, which keeps that version
    of the store on disk after it is replaced; the next writer (or snapshot) removes links
    older than a minute (lived longer than any open)."""
    store_path = tmp_path / "store.duckdb"
    (tmp_path / "u.csv").write_text(wide_file([finess(1)], ["2025-01"], 40, 30))
    with writable_copy(store_path) as s:
        ingest_paths(s, [tmp_path / "u.csv"])
    script = tmp_path / "reader.py"
    script.write_text(READER_LOOP)
    rng = random.Random(7)
    for _ in range(10):
        reader = subprocess.Popen(
            [sys.executable, str(script), str(store_path)], stdout=subprocess.PIPE
        )
        assert read_line(reader.stdout.fileno()) == "ready"
        time.sleep(rng.uniform(0, 0.3))
        reader.send_signal(signal.SIGKILL)
        reader.wait(timeout=60)
    links = [name for name in leftovers(store_path) if ".snapshot-" in name]
    print(f"{len(links)} of 10 killed readers left a snapshot link")  # shown with -s
    assert links  # without them the test proves nothing
    with writable_copy(store_path):  # the links are younger than a minute: kept
        pass
    assert [n for n in leftovers(store_path) if ".snapshot-" in n] == links
    # A minute later (the threshold lowered instead of waiting): removed.
    monkeypatch.setattr(store_mod, "STALE_SNAPSHOT_LINK_S", 0.0)
    with writable_copy(store_path):
        pass
    assert leftovers(store_path) == []
