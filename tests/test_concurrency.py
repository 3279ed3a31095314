"""Concurrent use, with real processes on a real DuckDB file: readers never fail and never see
half a command while ingests run; writers queue behind the writers' lock and all land.

Readers are separate processes looping until told to stop: a fresh read-only ``Store`` per
query (as ``indicators``/``va`` do), the dashboard's way (one ``Store.snapshot`` kept until the
file's ``version_key`` changes, see ``ui._snapshot``), and the console script itself.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

from concurrency_support import LONG, SCRIPT, finess, leftovers, lock_is_free, wide_file

from dui_metrics import indicators, referentiel, uploads
from dui_metrics.ingest import LOADED, ingest_paths
from dui_metrics.store import Store
from dui_metrics.writer import writable_copy

N_ESMS = 20
ESMS = [finess(i) for i in range(N_ESMS)]


def month_file(month: str, accompanied: int = 50, active: int = 40) -> str:
    """Wide form: 2 rows of usage per ESMS for ``month``."""
    return wide_file(ESMS, [month], accompanied, active)


def replace_file(month: str, active: int) -> str:
    """Long form: replaces dossiers_actifs of every ESMS for ``month`` (1 row per ESMS)."""
    return LONG + "".join(f"{f};{month};dossiers_actifs;{active}\n" for f in ESMS)


def fingerprint(store: Store, ref) -> list[int]:
    """What a reader computes from one state. A complete state has usage rows = rows loaded −
    rows replaced over the ingestion log (each import's rows either add or replace)."""
    usage_rows, total = store.one("select count(*), coalesce(sum(valeur), 0) from usage")
    n_imports, last_id, loaded, replaced = store.one(
        "select count(*), max(import_id), coalesce(sum(rows_loaded), 0), "
        "coalesce(sum(rows_replaced), 0) from imports"
    )
    monthly = indicators.monthly(store, ref)
    counts = sum(int(v) for _, _, _, v, _, _, is_rate in monthly if not is_rate)
    return [usage_rows, int(total), n_imports, last_id, int(loaded), int(replaced)] + [
        len(monthly),
        counts,
    ]


READER = r"""
import json, subprocess, sys, time
from pathlib import Path
from dui_metrics import referentiel
from dui_metrics.store import Store, version_key
sys.path.insert(0, sys.argv[6])
from test_concurrency import fingerprint

store_path, mode, states_file, stop_file, ready_file = sys.argv[1:6]
states = [tuple(s) for s in json.loads(Path(states_file).read_text())]
full, cli = set(states), {s[6:] for s in states}  # the CLI sees (monthly rows, sum of counts)
ref = referentiel.default()
queries, errors, half, seen = 0, [], [], set()
snap = None
while True:
    stop = Path(stop_file).exists()  # one more query after the stop: the final state
    try:
        if mode == "open":  # as indicators / va: a fresh read-only Store per command
            with Store(store_path, read_only=True) as s:
                fp = tuple(fingerprint(s, ref))
            ok = fp in full and fp[0] == fp[4] - fp[5]
        elif mode == "snapshot":  # as the dashboard: keep the snapshot until the file changes
            if snap is None or snap.version_key != version_key(store_path):
                if snap is not None:
                    snap.close()
                snap = Store.snapshot(store_path)
            cur = snap.cursor()  # one cursor per session
            fp = tuple(fingerprint(cur, ref))
            cur.close()
            ok = fp in full and fp[0] == fp[4] - fp[5]
        else:  # the console script
            out = subprocess.run(
                [mode, "indicators", "--format", "json", "--store", store_path],
                capture_output=True, text=True, timeout=60,
            )
            if out.returncode != 0:
                raise RuntimeError(out.stderr[-500:])
            rows = json.loads(out.stdout)
            fp = (len(rows), sum(r["valeur"] for r in rows if r["numerateur"] is None))
            ok = fp in cli
        queries += 1
        seen.add(fp)
        if not ok:
            half.append(fp)
        Path(ready_file).touch()
    except Exception as exc:
        errors.append(f"{type(exc).__name__}: {exc}")
    if stop:
        break
    # Leave CPU to the writers (2 cores): the point is overlap, not load.
    time.sleep(0.01 if mode in ("open", "snapshot") else 1.0)
print(json.dumps({"queries": queries, "errors": errors[:5], "n_errors": len(errors),
                  "half": half[:5], "n_half": len(half), "states_seen": len(seen)}))
"""


def start_readers(tmp_path: Path, store_path: Path, states: list[list[int]], modes: list[str]):
    (tmp_path / "states.json").write_text(json.dumps(states))
    script = tmp_path / "reader.py"
    script.write_text(READER)
    readers = []
    for n, mode in enumerate(modes):
        args = [str(store_path), mode, str(tmp_path / "states.json"), str(tmp_path / "stop")]
        args += [str(tmp_path / f"ready{n}"), str(Path(__file__).parent)]
        readers.append(
            subprocess.Popen(
                [sys.executable, str(script), *args], stdout=subprocess.PIPE, text=True
            )
        )
    deadline = time.monotonic() + 60
    while not all((tmp_path / f"ready{n}").exists() for n in range(len(modes))):
        assert all(r.poll() is None for r in readers), "a reader died before its first query"
        assert time.monotonic() < deadline, "readers never answered"
        time.sleep(0.05)
    return readers


def stop_readers(tmp_path: Path, readers) -> list[dict]:
    (tmp_path / "stop").touch()
    reports = []
    for reader in readers:
        out, _ = reader.communicate(timeout=60)
        assert reader.returncode == 0
        reports.append(json.loads(out))
    return reports


def cli(*args: str, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [SCRIPT, "ingest", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_readers_see_whole_states_while_ten_ingests_run(tmp_path: Path) -> None:
    ref = referentiel.default()
    files = tmp_path / "in"
    files.mkdir()
    # Step 0: 2024-01. Odd steps k add a month (2024-02 … 2024-06); even steps k replace
    # dossiers_actifs of the month added at k − 1 by 40 − k.
    contents = [month_file("2024-01")]
    for k in range(1, 11):
        added = f"2024-{1 + (k + 1) // 2:02d}"
        contents.append(month_file(added) if k % 2 else replace_file(added, 40 - k))
    paths = []
    for k, text in enumerate(contents):
        paths.append(files / f"step{k:02d}.csv")
        paths[-1].write_text(text, encoding="utf-8")

    # The complete states 0…10, from the same files ingested one after the other elsewhere.
    states = []
    reference = tmp_path / "reference" / "store.duckdb"
    for path in paths:
        with writable_copy(reference) as s:
            assert [r.status for r in ingest_paths(s, [path], ref)] == [LOADED]
        with Store.snapshot(reference) as s:
            states.append(fingerprint(s, ref))
    assert len({tuple(s) for s in states}) == 11

    store_path = tmp_path / "store.duckdb"
    first = cli("--store", str(store_path), str(paths[0]), cwd=tmp_path)
    assert first.wait(timeout=60) == 0
    readers = start_readers(tmp_path, store_path, states, ["open", "snapshot", SCRIPT])
    try:
        for path in paths[1:]:
            writer = cli("--store", str(store_path), str(path), cwd=tmp_path)
            assert writer.wait(timeout=60) == 0, writer.stderr.read()
    finally:
        reports = stop_readers(tmp_path, readers)

    print("readers:", reports)  # shown with -s: queries run, states seen
    for report in reports:
        assert report["n_errors"] == 0, report["errors"]
        assert report["n_half"] == 0, report["half"]
        assert report["queries"] >= 2
    assert sum(r["queries"] for r in reports) > 20
    # Final totals by hand. Rows: 20 ESMS × 2 indicators × 6 months = 240.
    # Sum: 6 months × 20 × (50 + 40) = 10 800, minus 20 × (2 + 4 + 6 + 8 + 10) = 600 for the
    # replaced dossiers_actifs (40 → 40 − k): 10 200. Log: 11 imports; loaded 6 × 40 + 5 × 20 =
    # 340, of which replaced 5 × 20 = 100 (340 − 100 = 240 rows). Monthly: 240 counts + one
    # taux_dossiers_actifs per ESMS and month (120) = 360 rows; the counts sum to 10 200.
    with Store.snapshot(store_path) as s:
        assert fingerprint(s, ref) == [240, 10_200, 11, 11, 340, 100, 360, 10_200] == states[-1]
    assert lock_is_free(store_path)
    assert leftovers(store_path) == []


def test_two_ingest_commands_started_together_both_land(tmp_path: Path) -> None:
    ref = referentiel.default()
    store_path = tmp_path / "store.duckdb"
    names = []
    for round_ in range(3):  # three pairs of simultaneous writers
        pair = []
        for side in range(2):
            month = f"2023-{2 * round_ + side + 1:02d}"
            name = f"r{round_}_{side}.csv"
            (tmp_path / name).write_text(month_file(month), encoding="utf-8")
            pair.append(cli("--store", str(store_path), name, cwd=tmp_path))
            names.append(name)
        for writer in pair:
            assert writer.wait(timeout=60) == 0, writer.stderr.read()
    with Store.snapshot(store_path) as s:
        log = s.imports()
        # 6 files × 20 ESMS × 2 indicators = 240 rows, one month each: 2023-01 … 2023-06.
        assert sorted(r["file_name"] for r in log) == sorted(names)
        assert [r["rows_loaded"] for r in log] == [40] * 6
        assert s.scalar("select count(*) from usage") == 240
        assert s.scalar("select count(distinct periode) from usage") == 6
        assert len(indicators.monthly(s, ref)) == 360
    assert lock_is_free(store_path)
    assert leftovers(store_path) == []


def test_several_users_of_the_upload_page_at_once(tmp_path: Path) -> None:
    """Threads of one process (as Streamlit sessions) importing at once, while another thread
    reads the dashboard's way: every file lands exactly once, the reader sees whole imports."""
    ref = referentiel.default()
    store_path = tmp_path / "store.duckdb"
    n_users, per_user = 4, 2
    batches = []
    for user in range(n_users):
        texts = [
            (f"u{user}_{n}.csv", month_file(f"2022-{user * per_user + n + 1:02d}"))
            for n in range(per_user)
        ]
        batches.append(
            uploads.save_uploads(
                [(name, text.encode()) for name, text in texts], tmp_path / f"user{user}"
            )
        )
    start = threading.Barrier(n_users + 1)
    results: dict[int, list] = {}
    failures: list[BaseException] = []
    stop = threading.Event()
    reads = {"queries": 0, "bad": []}

    def user(n: int) -> None:
        try:
            start.wait()
            results[n] = uploads.ingest_uploads(store_path, batches[n], ref)
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    def reader() -> None:
        from dui_metrics.store import version_key

        snap = None
        start.wait()
        while not stop.is_set() or reads["queries"] == 0:
            try:
                if not store_path.exists():
                    continue
                if snap is None or snap.version_key != version_key(store_path):
                    snap = Store.snapshot(store_path)
                cur = snap.cursor()
                rows, n_imports = cur.one(
                    "select (select count(*) from usage), (select count(*) from imports)"
                )
                cur.close()
                reads["queries"] += 1
                if rows != 40 * n_imports:  # each file brings 40 rows
                    reads["bad"].append((rows, n_imports))
            except BaseException as exc:  # noqa: BLE001 - reported below
                reads["bad"].append(repr(exc))
        if snap is not None:
            snap.close()

    threads = [threading.Thread(target=user, args=(n,)) for n in range(n_users)]
    watcher = threading.Thread(target=reader)
    for t in [*threads, watcher]:
        t.start()
    for t in threads:
        t.join(timeout=120)
    stop.set()
    watcher.join(timeout=60)
    assert not failures, failures
    assert all(not t.is_alive() for t in [*threads, watcher])
    assert [r.status for n in range(n_users) for r in results[n]] == [LOADED] * 8
    assert reads["bad"] == [] and reads["queries"] > 0
    with Store.snapshot(store_path) as s:
        landed = [r["file_name"] for r in s.imports()]
        assert sorted(landed) == sorted(f"u{u}_{n}.csv" for u in range(n_users) for n in range(2))
        # 8 files × 40 rows, months 2022-01 … 2022-08, each once.
        assert s.scalar("select count(*) from usage") == 320
        assert s.scalar("select count(distinct periode) from usage") == 8
    assert lock_is_free(store_path)
    assert leftovers(store_path) == []


def test_threads_opening_snapshots_at_once(tmp_path: Path) -> None:
    """Sessions of one process taking snapshots of the same version at the same moment (a
    link named after the pid only was shared by the threads: FileExistsError, or a link
    removed under another thread's open)."""
    store_path = tmp_path / "store.duckdb"
    (tmp_path / "a.csv").write_text(month_file("2024-01"), encoding="utf-8")
    with writable_copy(store_path) as s:
        ingest_paths(s, [tmp_path / "a.csv"])
    start = threading.Barrier(4)
    counts: list[int] = []
    failures: list[str] = []

    def session() -> None:
        start.wait()
        for _ in range(25):
            try:
                with Store.snapshot(store_path) as s:
                    counts.append(s.scalar("select count(*) from usage"))
            except Exception as exc:  # noqa: BLE001 - reported below
                failures.append(repr(exc))

    threads = [threading.Thread(target=session) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert failures == []
    assert counts == [40] * 100
    assert leftovers(store_path) == []
