"""Ingestion throughput on the national data set, against DuckDB's raw readers in the same run.

Usage (from the repository root, after ``bench/national.py`` wrote the data set):

    .venv/bin/python bench/national.py /tmp/dui-4k --esms 4000
    .venv/bin/python bench/ingest.py /tmp/dui-4k
    .venv/bin/python bench/ingest.py /tmp/dui-4k --profile   # + cProfile (slower; top 25)
    .venv/bin/python bench/ingest.py /tmp/dui-national --keep-store   # store for queries.py
    .venv/bin/python bench/ingest.py /tmp/dui-national --repeat 3    # median of 3 pairs

Each part runs in its own child process (its peak RSS is its own, read with ``os.wait4``):
- library: ``ingest_paths`` of the folder inside ``writable_copy`` on a new store, as
  ``dui-metrics ingest`` does (reading, checks, writes, copy-and-rename of the store);
- baseline: the same files, in the same order, into one table each of a new DuckDB file with
  DuckDB's own ``read_csv`` (auto-detected dialect and types; ``latin-1`` for files that are
  not UTF-8) and ``read_parquet``; XLSX read with openpyxl (read-only) for both, since DuckDB
  cannot read them offline.
After the table: the library's time by phase (light timers around the readers, the checks and
the writes) and by SQL statement: what bounds the ingest. Two worker threads read and check
files ahead of the one being written, so the phases may add up to more than the total.
Rows: "file rows" are the lines (CSV, XLSX) or records (Parquet) under the header; "long rows"
are the usage values they hold (ESMS × month × indicator, what the store keeps). Targets: the
library ≤ 1.5 × the baseline's time, peak RSS < 4 GB. Stores are written next to the data set
(``<folder>.bench-*.duckdb``) and deleted at the end. The machine's load average is printed:
other processes share the CPUs.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET_RATIO = 1.5
TARGET_RSS_MIB = 4096
# Library functions timed by light wrappers (what bounds the ingest): module, function, label.
# Wrappers, not cProfile: cProfile inflates the per-row Python loop of the CSV reader (×2.5).
PHASES = (
    ("dui_metrics.ingest.readers", "read_csv", "read CSV"),
    ("dui_metrics.ingest.readers", "decode", "  of which decode bytes → text"),
    ("dui_metrics.ingest.readers", "read_plain_csv", "  of which pyarrow CSV parser"),
    ("dui_metrics.ingest.workbooks", "read_workbook", "read XLSX (calamine)"),
    ("dui_metrics.ingest.readers", "read_parquet", "read Parquet (pyarrow)"),
    ("dui_metrics.ingest", "detect_layout", "detect layout"),
    ("dui_metrics.ingest", "sha256_of", "SHA-256 of files"),
    ("dui_metrics.ingest.reference", "check", "reference: check rows (Python)"),
    ("dui_metrics.ingest.reference", "write", "reference: write"),
    ("dui_metrics.ingest.usage", "check_alone", "usage: checks of the file alone (workers)"),
    ("dui_metrics.ingest.usage", "pending_rows", "usage: checked rows, as usage columns"),
    ("dui_metrics.ingest.usage", "stage", "usage: checks with stored values (replacing)"),
    ("dui_metrics.ingest", "_usage_warnings", "usage: Luhn / unknown ESMS warnings"),
    ("dui_metrics.ingest.Session", "flush", "usage: batched writes of new keys"),
    ("dui_metrics.ingest.usage", "write", "usage: delete + insert (replacing files)"),
    ("dui_metrics.store.Store", "transaction", "  commits"),
)


def _timed(phases: dict, label: str, func):
    import functools

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return func(*args, **kwargs)
        finally:
            phases[label] = phases.get(label, 0.0) + time.perf_counter() - start

    return wrapper


def _install_timers(phases: dict, statements: dict) -> None:
    """Wrap the PHASES functions, and Store.execute / Store.one by SQL statement."""
    import contextlib
    import importlib
    import re

    from dui_metrics import store as store_mod

    for module_name, func, label in PHASES:
        if module_name.endswith(".Store"):
            continue
        if module_name.endswith(".Session"):  # a method of ingest.Session
            owner = importlib.import_module(module_name.rsplit(".", 1)[0]).Session
        else:
            owner = importlib.import_module(module_name)
        setattr(owner, func, _timed(phases, label, getattr(owner, func)))
    original_transaction = store_mod.Store.transaction

    @contextlib.contextmanager
    def transaction(self):
        with original_transaction(self):
            yield
            start = time.perf_counter()  # the commit runs when this block exits
        phases["  commits"] = phases.get("  commits", 0.0) + time.perf_counter() - start

    store_mod.Store.transaction = transaction

    def key(statement: str) -> str:
        named = re.search(r"-- (\w+):", statement)
        return named.group(1) if named else " ".join(statement.split())[:60]

    for method in ("execute", "one"):
        original = getattr(store_mod.Store, method)

        def wrapper(self, statement, params=None, _original=original):
            start = time.perf_counter()
            try:
                return _original(self, statement, params)
            finally:
                k = key(statement)
                statements[k] = statements.get(k, 0.0) + time.perf_counter() - start

        setattr(store_mod.Store, method, wrapper)


def library(folder: Path, store: Path, profile: bool) -> dict:
    from dui_metrics import referentiel

    phases: dict[str, float] = {}
    statements: dict[str, float] = {}
    _install_timers(phases, statements)
    from dui_metrics.ingest import LOADED, ingest_paths
    from dui_metrics.writer import writable_copy

    ref = referentiel.default()
    for leftover in store.parent.glob(store.name + "*"):
        leftover.unlink()
    started = time.perf_counter()
    last = [started]

    def progress(done: int, total: int, result) -> None:
        now = time.perf_counter()
        if done == 1 or done == total or done % 25 == 0 or now - last[0] > 30:
            print(
                f"  library [{done}/{total}] {now - started:6.1f} s {Path(result.file).name}",
                file=sys.stderr,
                flush=True,
            )
            last[0] = now

    def run() -> list:
        with writable_copy(store) as s:
            return ingest_paths(s, [folder], ref, progress=progress)

    profiler = cProfile.Profile() if profile else None
    start = time.perf_counter()
    results = profiler.runcall(run) if profiler else run()
    seconds = time.perf_counter() - start
    bad = [r for r in results if r.status != LOADED]
    for r in bad[:5]:
        print(f"  not loaded: {r.file}: {r.status} {r.error}", file=sys.stderr)
    out = {
        "files": len(results),
        "long_rows": sum(r.rows_loaded for r in results if r.kind != "etablissements"),
        "rejected": len(bad),
        "seconds": seconds,
        "store_mib": store.stat().st_size / 2**20,
        "phases": [(label, phases.get(label, 0.0)) for _, _, label in PHASES],
        "statements": sorted(statements.items(), key=lambda kv: -kv[1])[:12],
    }
    if profiler:
        path = store.with_suffix(".prof")
        profiler.dump_stats(path)
        out["profile_file"] = str(path)
        stats = pstats.Stats(profiler, stream=sys.stderr)
        print("\n--- cProfile, top 25 by own time ---", file=sys.stderr)
        stats.sort_stats("tottime").print_stats(25)
    return out


def baseline(folder: Path, store: Path) -> dict:
    import duckdb
    import openpyxl
    import pyarrow as pa

    from dui_metrics.ingest import expand

    for leftover in store.parent.glob(store.name + "*"):
        leftover.unlink()
    files = [path for path, _ in expand([folder])]
    start = time.perf_counter()
    con = duckdb.connect(str(store))
    rows = 0
    for i, path in enumerate(files):
        table = f"f{i:04d}"
        suffix = path.suffix.lower()
        if suffix == ".parquet":
            con.execute(f"create table {table} as select * from read_parquet(?)", [str(path)])
        elif suffix == ".xlsx":
            wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
            values = list(wb.worksheets[0].iter_rows(values_only=True))
            wb.close()
            header, body = values[0], values[1:]
            arrow = pa.table({str(h): [r[j] for r in body] for j, h in enumerate(header)})
            con.register("xlsx_rows", arrow)
            con.execute(f"create table {table} as select * from xlsx_rows")
            con.unregister("xlsx_rows")
        else:
            with path.open("rb") as handle:
                head = handle.read(1 << 16)
            try:
                head.decode("utf-8")
                encoding = "utf-8"
            except UnicodeDecodeError:
                encoding = "latin-1"
            con.execute(
                f"create table {table} as select * from read_csv(?, header = true, encoding = ?)",
                [str(path), encoding],
            )
        rows += con.execute(f"select count(*) from {table}").fetchall()[0][0]
    con.close()  # checkpoint, as the library's store is closed
    seconds = time.perf_counter() - start
    return {
        "files": len(files),
        "file_rows": rows,
        "seconds": seconds,
        "store_mib": store.stat().st_size / 2**20,
    }


def child(part: str, folder: Path, store: Path, profile: bool) -> tuple[dict, float]:
    """Run one part in a child process; its result and its peak RSS (MiB)."""
    command = [sys.executable, __file__, str(folder), "--part", part, "--store", str(store)]
    if profile:
        command.append("--profile")
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    out = proc.stdout.read()  # type: ignore[union-attr]
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        sys.exit(f"{part} failed (exit {proc.returncode})")
    return json.loads(out.strip().splitlines()[-1]), usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", nargs="?", type=Path, default=Path("/tmp/dui-national"))
    parser.add_argument(
        "--profile", action="store_true", help="also cProfile the library run (slows it)"
    )
    parser.add_argument("--keep-store", action="store_true", help="keep the library's store")
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="baseline/library pairs run in alternation (default 1); the median ratio is shown",
    )
    parser.add_argument("--part", choices=("library", "baseline"), help=argparse.SUPPRESS)
    parser.add_argument("--store", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    folder = args.folder.resolve()
    if args.part == "library":
        print(json.dumps(library(folder, args.store, args.profile)))
        return
    if args.part == "baseline":
        print(json.dumps(baseline(folder, args.store)))
        return

    lib_store = folder.with_name(folder.name + ".bench-library.duckdb")
    base_store = folder.with_name(folder.name + ".bench-baseline.duckdb")
    load_before = os.getloadavg()
    print(f"data set {folder}, load average before {load_before[0]:.2f} ({os.cpu_count()} CPUs)")
    pairs = []  # (baseline, its RSS, library, its RSS), run in alternation
    for run in range(1, args.repeat + 1):
        base, base_rss = child("baseline", folder, base_store, False)
        print(f"run {run}: baseline done in {base['seconds']:.1f} s", flush=True)
        lib, lib_rss = child("library", folder, lib_store, args.profile)
        print(f"run {run}: library done in {lib['seconds']:.1f} s", flush=True)
        pairs.append((base, base_rss, lib, lib_rss))
    # The pair with the median ratio is shown; the machine is shared, so every pair is listed.
    pairs.sort(key=lambda pair: pair[2]["seconds"] / pair[0]["seconds"])
    base, base_rss, lib, lib_rss = pairs[len(pairs) // 2]
    load_after = os.getloadavg()

    print(f"\nload average after {load_after[0]:.2f} (1 min), {load_after[1]:.2f} (5 min)")
    head = f"{'':<26} {'files':>6} {'rows':>12} {'seconds':>9} {'rows/s':>10} {'ratio':>6} "
    print(head + f"{'peak RSS':>10} {'store':>9}")
    rows = lib["long_rows"]
    print(
        f"{'DuckDB read_* (baseline)':<26} {base['files']:>6} {base['file_rows']:>12,} "
        f"{base['seconds']:>9.1f} {base['file_rows'] / base['seconds']:>10,.0f} {'1.00':>6} "
        f"{base_rss:>6.0f} MiB {base['store_mib']:>5.0f} MiB"
    )
    ratio = lib["seconds"] / base["seconds"]
    print(
        f"{'dui_metrics ingest_paths':<26} {lib['files']:>6} {rows:>12,} {lib['seconds']:>9.1f} "
        f"{rows / lib['seconds']:>10,.0f} {ratio:>6.2f} {lib_rss:>6.0f} MiB "
        f"{lib['store_mib']:>5.0f} MiB"
    )
    print(
        f"(baseline rows: file rows; library rows: long rows loaded; "
        f"{lib['rejected']} file(s) not loaded)"
    )
    if len(pairs) > 1:
        listed = ", ".join(
            f"{lb['seconds']:.1f}/{b['seconds']:.1f} s = {lb['seconds'] / b['seconds']:.2f}"
            for b, _, lb, _ in pairs
        )
        print(f"{len(pairs)} runs (library/baseline), median shown: {listed}")
    print(
        f"targets: ratio ≤ {TARGET_RATIO} {'ok' if ratio <= TARGET_RATIO else 'MISSED'}; "
        f"peak RSS < 4 GB {'ok' if lib_rss < TARGET_RSS_MIB else 'MISSED'}"
    )
    profiled = " (under cProfile: inflated Python time)" if args.profile else ""
    print(f"\nlibrary time by phase{profiled}, of {lib['seconds']:.1f} s")
    for label, seconds in lib["phases"]:
        print(f"  {label:<44} {seconds:>8.1f} s {100 * seconds / lib['seconds']:>5.1f} %")
    print("SQL statements (Store.execute / Store.one), top 12 by time")
    for statement, seconds in lib["statements"]:
        print(f"  {statement:<60} {seconds:>8.1f} s")
    if "profile_file" in lib:
        print(f"cProfile: {lib['profile_file']} (python -m pstats)")
    for path in base_store.parent.glob(base_store.name + "*"):
        path.unlink()
    if not args.keep_store:
        for path in lib_store.parent.glob(lib_store.name + "*"):
            path.unlink()
    else:
        print(f"store kept: {lib_store}")


if __name__ == "__main__":
    main()
