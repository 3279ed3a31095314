"""Re-counting after one ESMS's events are replaced (issue 14: target < 1 s, only the ESMS
touched are counted again), against counting every ESMS again in the same run.

Usage (from the repository root):

    .venv/bin/python bench/recount.py                 # scale 0.05 of the issue's set
    .venv/bin/python bench/recount.py --scale 1       # the issue's full scale (10 M events)

Steps:
1. the record tables of ``bench/records.py`` (same generator, same folder and reuse rule);
2. ``dui-metrics ingest`` of the five files into a new store (a real command, timed whole:
   reading, checking, writing and counting);
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


def command(*args: str) -> float:
    """Run ``dui-metrics`` with ``args``; its wall time in seconds."""
    exe = Path(sys.executable).with_name("dui-metrics")
    start = time.perf_counter()
    done = subprocess.run([str(exe), *args], capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"dui-metrics {' '.join(args)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return elapsed


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
    parser.add_argument("--seed", type=int, default=20261101)
    parser.add_argument("--out", type=Path, default=Path("/tmp/dui-records"))
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    esms = args.esms or max(1, round(4000 * args.scale))
    sizes = bench_records.generate(args.out, args.scale, esms, args.seed)
    print(f"record tables: {json.dumps(sizes)} over {esms} ESMS in {args.out}")
    work = Path(tempfile.mkdtemp(prefix="dui-recount-"))
    try:
        store = work / "store.duckdb"
        env_today = {"DUI_METRICS_TODAY": "2026-11-15"}
        os.environ.update(env_today)
        files = [str(args.out / f"{name}.csv") for name in bench_records.FULL]
        full = command("ingest", "--store", str(store), "--taille-max", "4000", *files)
        print(f"ingest of the five tables (one command, counted): {full:.2f} s")
        finess, rows = one_esms_events(args.out, work / "evenements-esms.csv")
        replace = command("ingest", "--store", str(store), str(work / "evenements-esms.csv"))
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
