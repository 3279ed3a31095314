"""Query times on a national store: `indicators` and `va` over every ESMS, against plain scans.

Usage (from the repository root; the store comes from ``bench/ingest.py --keep-store``):

    .venv/bin/python bench/national.py /tmp/dui-national
    .venv/bin/python bench/ingest.py /tmp/dui-national --keep-store
    .venv/bin/python bench/queries.py /tmp/dui-national.bench-library.duckdb

Each command runs in its own child process, as a user would run it, writing its output to a
file under /tmp (deleted at the end); the table gives the child's wall time (interpreter start
and imports included), the time inside the command, the output's rows and size, and the
child's peak RSS (``os.wait4``). Commands:
- ``dui-metrics indicators`` (CSV, every ESMS and month: counts and rates; and the same as
  Parquet with ``--format parquet --sortie``, rows counted from its metadata) and
  ``dui-metrics va`` (CSV, every ESMS, window ending with the latest month), through
  ``dui_metrics.cli.main`` exactly as the console script does;
- baselines on the same store, opened read-only the same way: ``select count(*), sum(valeur)
  from usage`` (a full scan), and DuckDB's own ``COPY (select * from usage order by …) TO
  'x.csv'`` (the same number of rows written as CSV, without rates);
- the library's computations behind them, in memory: ``indicators.monthly_arrow`` (every ESMS
  and month, counts and rates, as Arrow: what the trends read) and ``indicators.period_values``
  (every ESMS over the latest 12 months: what the VA and the roll-ups read); the ``lines``
  column then gives the rows computed.
Targets: < 5 s and < 4 GB per command. Guards, so that a command far off target cannot take the
machine down: ``--max-gib`` (address-space limit, default 8: beyond it the command fails with
MemoryError) and ``--timeout`` (default 300 s: the command is stopped). The load average is
printed: other processes share the CPUs.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from child import json_child  # noqa: E402  (bench/child.py, beside this script)

TARGET_S = 5.0
TARGET_RSS_MIB = 4096
PARTS = ("count", "copy", "va", "indicators", "parquet", "monthly", "period")
LABELS = {
    "count": "select count(*) (baseline)",
    "copy": "DuckDB COPY to CSV (baseline)",
    "va": "dui-metrics va",
    "indicators": "dui-metrics indicators",
    "parquet": "dui-metrics indicators parquet",
    "monthly": "indicators.monthly_arrow",
    "period": "indicators.period_values 12m",
}


def run_part(part: str, store: Path, out: Path, max_gib: float) -> dict:
    import resource

    limit = int(max_gib * 2**30)  # address space: fail with MemoryError rather than swap
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    start = time.perf_counter()
    if part in ("count", "copy"):
        from dui_metrics.store import Store

        with Store(store, read_only=True) as s:
            if part == "count":
                rows = s.one("select count(*), sum(valeur) from usage")[0]
                out.write_text(f"{rows}\n")
            else:
                s.execute(
                    "copy (select finess_et, strftime(periode, '%Y-%m') as periode, indicateur, "
                    "valeur from usage order by finess_et, periode, indicateur) to "
                    f"'{out}' (header)"
                ).fetchall()
    elif part in ("monthly", "period"):
        from dui_metrics import indicators, referentiel
        from dui_metrics.store import Store

        ref = referentiel.default()
        with Store(store, read_only=True) as s:
            if part == "monthly":
                rows = indicators.monthly_arrow(s, ref).num_rows
            else:
                latest = s.latest_month()
                du = indicators.add_months(latest, -11)
                rows = len(indicators.period_values(s, ref, du, latest))
        out.write_text(f"{rows}\n")
    elif part == "parquet":
        from dui_metrics.cli import main

        code = main(
            ["indicators", "--store", str(store), "--format", "parquet", "--sortie", str(out)]
        )
        if code:
            sys.exit(f"{part}: exit {code}")
        import pyarrow.parquet as pq

        seconds = time.perf_counter() - start
        rows = pq.ParquetFile(out).metadata.num_rows
        return {"seconds": seconds, "lines": rows, "bytes": out.stat().st_size}
    else:
        from dui_metrics.cli import main

        with (
            out.open("w", encoding="utf-8", newline="") as handle,
            contextlib.redirect_stdout(handle),
        ):
            code = main([part, "--store", str(store)])
        if code:
            sys.exit(f"{part}: exit {code}")
    seconds = time.perf_counter() - start
    if part in ("monthly", "period"):  # in memory: the rows computed
        return {"seconds": seconds, "lines": int(out.read_text()), "bytes": 0}
    with out.open("rb") as handle:
        lines = sum(block.count(b"\n") for block in iter(lambda: handle.read(1 << 20), b""))
    return {"seconds": seconds, "lines": lines, "bytes": out.stat().st_size}


def child(
    part: str, store: Path, out: Path, max_gib: float, timeout: float
) -> tuple[dict | str, float, float]:
    """Result (or why it failed), wall seconds and peak RSS (MiB) of one part in a child."""
    result_file = out.with_suffix(".json")
    command = [sys.executable, __file__, str(store), "--part", part, "--out", str(out)]
    command += ["--max-gib", str(max_gib)]
    return json_child(command, result_file, timeout, max_gib)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "store", nargs="?", type=Path, default=Path("/tmp/dui-national.bench-library.duckdb")
    )
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS))
    parser.add_argument(
        "--max-gib",
        type=float,
        default=8.0,
        help="address-space limit of each command (GiB, default 8): beyond it the command "
        "fails with MemoryError instead of exhausting the machine",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=300.0,
        help="seconds after which a command is stopped (default 300)",
    )
    parser.add_argument("--part", choices=PARTS, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.part:
        print(json.dumps(run_part(args.part, args.store, args.out, args.max_gib)))
        return
    if not args.store.exists():
        sys.exit(f"{args.store} introuvable : lancez bench/ingest.py … --keep-store d'abord")
    size = args.store.stat().st_size / 2**20
    print(
        f"store {args.store} ({size:.0f} MiB), load average {os.getloadavg()[0]:.2f} "
        f"({os.cpu_count()} CPUs)"
    )
    results = []
    for part in args.parts:
        out = Path(f"/tmp/dui-bench-queries-{os.getpid()}-{part}.out")
        try:
            result, wall, rss = child(part, args.store, out, args.max_gib, args.timeout)
        finally:
            out.unlink(missing_ok=True)
        results.append((part, result, wall, rss))
        print(f"  {part}: {wall:.1f} s", flush=True)
    print(f"load average after {os.getloadavg()[0]:.2f}\n")
    print(
        f"{'':<31} {'wall s':>7} {'in-cmd s':>8} {'lines':>12} {'MiB out':>8} {'peak RSS':>10}  target"
    )
    for part, r, wall, rss in results:
        if isinstance(r, str):
            print(f"{LABELS[part]:<31} {wall:>7.1f}  {r}, peak RSS {rss:.0f} MiB  MISSED")
            continue
        verdict = ""
        if part in ("va", "indicators", "parquet", "monthly", "period"):
            ok = wall < TARGET_S and rss < TARGET_RSS_MIB
            verdict = "ok" if ok else "MISSED"
        print(
            f"{LABELS[part]:<31} {wall:>7.1f} {r['seconds']:>8.1f} {r['lines']:>12,} "
            f"{r['bytes'] / 2**20:>8.1f} {rss:>6.0f} MiB  {verdict}"
        )


if __name__ == "__main__":
    main()
