"""Record tables through the real ``dui-metrics ingest`` (issue 14): the whole command against
DuckDB's own ``read_csv`` of the same files (target ≤ 2 ×, peak RSS < 4 GB), then re-counting
after one ESMS's events are replaced (target < 1 s: only the ESMS touched are counted again),
against counting every ESMS again, in the same run.

Usage (from the repository root):

    .venv/bin/python bench/recount.py                 # scale 0.05 of the issue's set
    .venv/bin/python bench/recount.py --scale 1       # the issue's full scale (10 M events)

Steps:
1. the record tables of ``bench/records.py`` (same generator, same folder and reuse rule);
2. ``dui-metrics ingest`` of the five files into a new store (a real command, timed whole:
   reading, checking, writing and counting; its peak RSS), against the baseline of
   ``bench/records.py`` (DuckDB ``read_csv`` of the five files into tables, in a child);
3. an ``evenements`` file holding one ESMS's events but its first (a new extract of that
   ESMS's events), imported with ``dui-metrics ingest`` (timed whole: the store is copied,
   the file checked and written, the ESMS counted again, the store renamed);
4. in one process, on that store: ``records_store.recount`` of that one ESMS (what step 3
   does after writing the file), against ``recount`` of every ESMS (the baseline), each
   ``--repeat`` times inside a transaction rolled back; medians.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

TARGET_S = 1.0


def command(*args: str) -> tuple[float, float]:
    """Run ``dui-metrics`` with ``args``: its wall time in seconds and peak RSS in MiB."""
    from child import wait_child

    exe = Path(sys.executable).with_name("dui-metrics")
    start = time.perf_counter()
    with tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen([str(exe), *args], stdout=subprocess.DEVNULL, stderr=err)
        code, rss, _ = wait_child(proc, 3600)
        elapsed = time.perf_counter() - start
        if code != 0:
            err.seek(0)
            sys.exit(f"dui-metrics {' '.join(args)} failed ({code}):\n{err.read()[-2000:]}")
    return elapsed, rss


def one_esms_events(folder: Path, out: Path) -> tuple[str, int]:
    """Write the events of the ESMS with the most events, but its first, to ``out``."""
    import duckdb

    con = duckdb.connect()
    source = str(folder / "evenements.csv")
    relation = f"read_csv('{source}', delim=';', header=true, all_varchar=true)"
    (finess,) = con.execute(
        f"select finess_et from {relation} group by 1 order by count(*) desc, 1 limit 1"
    ).fetchone()
    con.execute(
        f"copy (select * from {relation} where finess_et = ? offset 1) "
        f"to '{out}' (header, delimiter ';')",
        [finess],
    )
    rows = con.execute(f"select count(*) from read_csv('{out}', delim=';')").fetchone()[0]
    return finess, rows


def timed_recounts(store_path: Path, finess: str, repeat: int) -> dict[str, float]:
    from dui_metrics import records_store
    from dui_metrics.referentiel import default
    from dui_metrics.store import Store

    ref = default()
    times: dict[str, list[float]] = {"one": [], "all": []}
    with Store(store_path) as store:
        everyone = [
            f for (f,) in store.execute("select distinct finess_et from records_sejours").fetchall()
        ]
        for _ in range(repeat):
            for part, esms in (("one", [finess]), ("all", everyone)):
                store.execute("begin transaction")
                start = time.perf_counter()
                records_store.recount(store, ref, esms)
                times[part].append(time.perf_counter() - start)
                store.execute("rollback")
    return {part: statistics.median(values) for part, values in times.items()} | {
        "esms": len(everyone)
    }


def main() -> None:
    import records as bench_records  # bench/records.py

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.05)
    parser.add_argument("--esms", type=int, default=None)
    parser.add_argument("--seed", type=int, default=14)  # bench/records.py's: its files reused
    parser.add_argument("--out", type=Path, default=Path("/tmp/dui-records"))
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    esms = args.esms or max(1, round(4000 * args.scale))
    from child import generated

    sizes, _ = generated(  # the files of bench/records.py, reused when they match
        args.out,
        {"scale": args.scale, "esms": esms, "seed": args.seed},
        [args.out / name for name in bench_records.FILES],
        "sizes",
        lambda: bench_records.generate(args.out, args.scale, esms, args.seed),
    )
    print(f"record tables: {json.dumps(sizes)} over {esms} ESMS in {args.out}")
    work = Path(tempfile.mkdtemp(prefix="dui-recount-"))
    try:
        store = work / "store.duckdb"
        env_today = {"DUI_METRICS_TODAY": "2026-11-15"}
        os.environ.update(env_today)
        files = [str(args.out / f"{name}.csv") for name in bench_records.FULL]
        baseline, wall, base_rss = bench_records.child("baseline", args.out, 8.0, 1800.0, False)
        base = baseline["seconds"] if isinstance(baseline, dict) else float("nan")
        full, rss = command("ingest", "--store", str(store), "--taille-max", "4000", *files)
        ratio = full / base
        print(
            f"baseline, DuckDB read_csv of the five files: {base:.2f} s (peak RSS "
            f"{base_rss:.0f} MiB)\n"
            f"dui-metrics ingest of the five tables (one command: read, checked, written, "
            f"counted): {full:.2f} s = {ratio:.1f} × the baseline (target ≤ 2 ×: "
            f"{'met' if ratio <= 2 else 'MISSED'}), peak RSS {rss:.0f} MiB (target < 4096: "
            f"{'met' if rss < 4096 else 'MISSED'}); store {store.stat().st_size / 2**20:.0f} MiB"
        )
        finess, rows = one_esms_events(args.out, work / "evenements-esms.csv")
        replace, _ = command("ingest", "--store", str(store), str(work / "evenements-esms.csv"))
        print(
            f"ingest of one ESMS's events ({finess}, {rows} rows, replacing its events): "
            f"{replace:.2f} s for the whole command (store copied and renamed)"
        )
        timed = timed_recounts(store, finess, args.repeat)
        ratio = timed["all"] / timed["one"] if timed["one"] else float("nan")
        verdict = "met" if timed["one"] < TARGET_S else "MISSED"
        print(
            f"recount of that ESMS: {timed['one']:.3f} s (median of {args.repeat}); "
            f"baseline, recount of all {timed['esms']} ESMS: {timed['all']:.3f} s "
            f"({ratio:.0f} × longer); target < {TARGET_S:.0f} s: {verdict}"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
