"""Record tables (issue 14): reading, checking and counting against DuckDB's own ``read_csv``.

Usage (from the repository root):

    .venv/bin/python bench/records.py                      # scale 0.05, /tmp/dui-records
    .venv/bin/python bench/records.py --scale 1            # the issue's full scale
    .venv/bin/python bench/records.py --repeat 3 --out /tmp/x --esms 500
    .venv/bin/python bench/records.py --profile read       # + cProfile of one part (top 25)

Data: a deterministic generator (numpy, ``--seed``) writes the five record tables as CSV
(``;``, UTF-8, canonical headers, French dates ``JJ/MM/AAAA``, accented statuses) into
``--out`` (outside the repository): ``dossiers.csv`` (finess_et, dossier_id, date_entree,
date_sortie, ins_statut, date_statut_ins), ``evenements.csv`` (finess_et, dossier_id,
date_evenement, type, statut: 3 % annulé, 3 % planifié), ``projets_personnalises.csv``,
``documents_dmp.csv`` (statut envoyé / accepté / erreur / refusé) and ``messages_mss.csv``
(sens envoyé / reçu), over ``--esms`` ESMS (valid FINESS, Luhn key; default 4,000 × scale) and
the 24 months 2024-11 … 2026-10. Full scale (``--scale 1``, the issue's figures): 200,000
dossiers, 10 M events, 150,000 PP, 1 M DMP documents, 2 M MSSanté messages. The folder is
reused when its ``bench.json`` says it holds the same scale, ESMS and seed (``--regenerate``
writes it again).

Parts, each run ``--repeat`` times in its own child process (its own peak RSS, ``os.wait4``),
interleaved within each round; times are medians, taken around the calls only (imports done):
- baseline: DuckDB's own ``read_csv`` of the five files into tables of a fresh in-memory
  connection (``dateformat '%d/%m/%Y'``: dates typed as dates), then ``select count(*)`` of
  each;
- ``read``: ``record_tables.read_record_table`` of each file, timed in its two halves:
  ``readers.read`` (the text cells) and ``detect_kind`` + ``check`` (checked and typed column
  by column: pyarrow, Python once per distinct value), then ``records_of`` (the
  `records.Records` of the checked Arrow tables), timed apart;
- ``count``: ``records.count_base`` on a new store file (``store.Store``, under /tmp, deleted),
  the records read first in the same child, untimed (its peak RSS is the whole pipeline's).
Targets (issue 14): (read + records_of + count) ≤ 2 × baseline; peak RSS < 4 GB. Guards:
``--max-gib`` (address-space limit of each child, default 8) and ``--timeout`` (default 1800 s).
The load average is printed: other processes share the CPUs (DuckDB uses all of them, the
reader mostly one).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from child import add_part_options, generated, part_child  # noqa: E402  (bench/child.py, beside this script)

TARGET_RATIO = 2.0
TARGET_RSS_MIB = 4096
FULL = {  # the full scale
    "dossiers": 200_000,
    "evenements": 10_000_000,
    "projets_personnalises": 150_000,
    "documents_dmp": 1_000_000,
    "messages_mss": 2_000_000,
}
FULL_ESMS = 4_000
FILES = tuple(f"{name}.csv" for name in FULL)
FIRST_MONTH, LAST_DAY = dt.date(2024, 11, 1), dt.date(2026, 10, 31)  # 24 months
PARTS = ("baseline", "read", "count")
LABELS = {
    "baseline": "DuckDB read_csv (baseline)",
    "read": "read_record_table × 5",
    "raw": "  of which readers.read",
    "check": "  of which detect_kind+check",
    "records_of": "records_of",
    "count": "count_base (store file)",
}


# --- data ----------------------------------------------------------------------------------


def finess_numbers(n: int) -> list[str]:
    """``n`` distinct valid FINESS ET numbers, spread over départements 01 … 95."""
    from dui_metrics.finess import luhn_check_digit

    departements = [d for d in range(1, 96) if d != 20]  # 20: Corsica is 2A / 2B
    out = []
    for i in range(n):
        first8 = f"{departements[i % len(departements)]:02d}{i // len(departements):06d}"
        out.append(first8 + luhn_check_digit(first8))
    return out


def generate(folder: Path, scale: float, esms: int, seed: int) -> dict[str, int]:
    """Write the five record tables into ``folder``; their row counts."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    rng = np.random.default_rng(seed)
    sizes = {name: max(1, round(full * scale)) for name, full in FULL.items()}
    folder.mkdir(parents=True, exist_ok=True)
    epoch = dt.date(1970, 1, 1)
    start, end = (FIRST_MONTH - epoch).days, (LAST_DAY - epoch).days
    finess = np.array(finess_numbers(esms), dtype=object)

    def dates(days: np.ndarray, missing: np.ndarray | None = None) -> pa.Array:
        array = pa.array(days.astype("int32"), pa.int32(), mask=missing).cast(pa.date32())
        return pc.strftime(array.cast(pa.timestamp("s")), format="%d/%m/%Y")

    def write(name: str, columns: dict[str, object]) -> None:
        table = pa.table(
            {k: v if isinstance(v, pa.Array) else pa.array(v) for k, v in columns.items()}
        )
        # no quotes (pyarrow quotes every header and text by default), as DUIs export
        options = pacsv.WriteOptions(include_header=False, delimiter=";", quoting_style="none")
        with pa.OSFile(str(folder / f"{name}.csv"), "wb") as sink:
            sink.write((";".join(columns) + "\n").encode())
            pacsv.write_csv(table, sink, options)

    def pick(weights: np.ndarray, size: int) -> np.ndarray:
        return rng.choice(len(weights), size=size, p=weights / weights.sum())

    # dossiers: ESMS of uneven sizes; entries from 2022 (séjours already open in 2024-11),
    # 40 % still open, others leave after some months (never after the last day)
    n = sizes["dossiers"]
    esms_weight = rng.lognormal(0.0, 0.6, esms)
    of_esms = pick(esms_weight, n)
    first = (dt.date(2022, 1, 1) - epoch).days
    entree = rng.integers(first, end + 1, n)
    stay = rng.exponential(400.0, n).astype(int) + 1
    sortie = entree + stay
    open_ = (rng.random(n) < 0.4) | (sortie > end)
    sortie = np.where(open_, end, sortie)
    ins_kinds = np.array(["Qualifiée", "validée", "récupérée", "provisoire", ""], dtype=object)
    ins = ins_kinds[rng.choice(5, n, p=[0.6, 0.15, 0.1, 0.1, 0.05])]
    no_ins = ins == ""
    ins_date = np.minimum(entree + rng.integers(0, 91, n), end)
    ids = np.array([f"D{i:07d}" for i in range(n)], dtype=object)
    write(
        "dossiers",
        {
            "finess_et": finess[of_esms],
            "dossier_id": ids,
            "date_entree": dates(entree),
            "date_sortie": dates(sortie, open_),
            "ins_statut": pa.array(ins, pa.string(), mask=no_ins),
            "date_statut_ins": dates(ins_date, no_ins),
        },
    )
    # what happens to a dossier happens while its séjour is open and within the 24 months
    lo, hi = np.maximum(entree, start), sortie
    seen = hi >= lo

    def in_stay(size: int) -> tuple[np.ndarray, np.ndarray]:
        who = pick(seen.astype(float), size)
        days = lo[who] + (rng.random(size) * (hi[who] - lo[who] + 1)).astype(int)
        return who, days

    who, days = in_stay(sizes["evenements"])
    types = np.array(["Intervention", "Rendez-vous", "Transmission", "Soin"], dtype=object)
    statuses = np.array(["réalisé", "annulé", "planifié"], dtype=object)
    write(
        "evenements",
        {
            "finess_et": finess[of_esms[who]],
            "dossier_id": ids[who],
            "date_evenement": dates(days),
            "type": types[rng.integers(0, len(types), len(who))],
            "statut": statuses[rng.choice(3, len(who), p=[0.94, 0.03, 0.03])],
        },
    )
    who, days = in_stay(sizes["projets_personnalises"])
    write(
        "projets_personnalises",
        {"finess_et": finess[of_esms[who]], "dossier_id": ids[who], "date_pp": dates(days)},
    )
    who, days = in_stay(sizes["documents_dmp"])
    dmp = np.array(["envoyé", "accepté", "erreur", "refusé"], dtype=object)
    write(
        "documents_dmp",
        {
            "finess_et": finess[of_esms[who]],
            "dossier_id": ids[who],
            "date_envoi": dates(days),
            "statut": dmp[rng.choice(4, len(who), p=[0.7, 0.22, 0.05, 0.03])],
        },
    )
    m = sizes["messages_mss"]
    write(
        "messages_mss",
        {
            "finess_et": finess[pick(esms_weight, m)],
            "date_message": dates(rng.integers(start, end + 1, m)),
            "sens": np.array(["envoyé", "reçu"], dtype=object)[rng.integers(0, 2, m)],
        },
    )
    return sizes


# --- parts (in a child) ----------------------------------------------------------------------


def read_all(folder: Path) -> tuple[object, int, float, float, float]:
    """The records of the five files, the rows read, seconds in ``readers.read``, seconds in
    ``detect_kind`` + ``check`` (together: ``read_record_table``), seconds in records_of."""
    from dui_metrics.ingest import readers
    from dui_metrics.ingest.record_tables import check, detect_kind, records_of

    caps = readers.Caps(rows=10**9, cells=10**10)  # above the full scale ($DUI_METRICS_MAX_ROWS)
    raw_seconds = check_seconds = 0.0
    tables = {}
    for name in FILES:  # read_record_table's steps, timed apart (it raises on no kind)
        start = time.perf_counter()
        raw = readers.read(folder / name, name, caps=caps)
        middle = time.perf_counter()
        kind, names, problems = detect_kind(name, raw.headers)
        assert kind and not problems, problems
        tables[kind] = check(raw, kind, names)
        del raw  # as read_record_table: the text cells go before the next file
        raw_seconds += middle - start
        check_seconds += time.perf_counter() - middle
    start = time.perf_counter()
    records = records_of(tables)
    rows = sum(table.num_rows for table in tables.values())
    return records, rows, raw_seconds, check_seconds, time.perf_counter() - start


def run_part(part: str, folder: Path, max_gib: float) -> dict:
    import resource

    limit = int(max_gib * 2**30)  # address space: fail with MemoryError rather than swap
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    if part == "baseline":
        import duckdb

        con = duckdb.connect()
        start = time.perf_counter()
        rows = 0
        for i, name in enumerate(FILES):
            con.execute(
                f"create table t{i} as select * from read_csv(?, delim=';', header=true, "
                "dateformat='%d/%m/%Y')",
                [str(folder / name)],
            )
            rows += con.execute(f"select count(*) from t{i}").fetchone()[0]
        return {"seconds": time.perf_counter() - start, "rows": rows}
    records, rows, raw, checking, build = read_all(folder)
    read = raw + checking
    if part == "read":
        return {"seconds": read, "raw": raw, "check": checking, "records_of": build, "rows": rows}
    from dui_metrics import referentiel
    from dui_metrics.records import count_base
    from dui_metrics.store import Store

    path = Path(f"/tmp/dui-bench-records-{os.getpid()}.duckdb")
    try:
        with Store(path) as store:
            ref = referentiel.default()
            start = time.perf_counter()
            counts = count_base(store, ref, records)
            seconds = time.perf_counter() - start
    finally:
        for leftover in (path, path.with_name(path.name + ".wal")):
            leftover.unlink(missing_ok=True)
    months = counts["periode"].nunique()
    return {
        "seconds": seconds,
        "read": read,
        "records_of": build,
        "rows": len(counts),
        "esms": int(counts["finess_et"].nunique()),
        "months": int(months),
    }


def child(
    part: str, folder: Path, max_gib: float, timeout: float, profile: bool
) -> tuple[dict | str, float, float]:
    """Result (or why it failed), wall seconds and peak RSS (MiB) of one part in a child."""
    return part_child(__file__, "records", folder, part, max_gib, timeout, profile)


# --- main ----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("/tmp/dui-records"))
    parser.add_argument("--scale", type=float, default=0.05, help="1 = the issue's full scale")
    parser.add_argument("--esms", type=int, help="ESMS (default 4,000 × scale)")
    add_part_options(parser, PARTS)
    parser.add_argument(
        "--profile", choices=PARTS, help="also run this part once under cProfile (top 25)"
    )
    args = parser.parse_args()
    if args.part:
        if args.profile:
            import cProfile
            import pstats

            profiler = cProfile.Profile()
            result = profiler.runcall(run_part, args.part, args.out, args.max_gib)
            stats = pstats.Stats(profiler, stream=sys.stderr)
            stats.sort_stats("tottime").print_stats(25)
        else:
            result = run_part(args.part, args.out, args.max_gib)
        print(json.dumps(result))
        return

    esms = args.esms or max(1, round(FULL_ESMS * args.scale))
    start = time.perf_counter()
    sizes, reused = generated(
        args.out,
        {"scale": args.scale, "esms": esms, "seed": args.seed},
        [args.out / name for name in FILES],
        "sizes",
        lambda: generate(args.out, args.scale, esms, args.seed),
        args.regenerate,
    )
    print(
        f"{'reused' if reused else 'generated'} {args.out} in {time.perf_counter() - start:.1f} s:"
        f" scale {args.scale:g}, {esms:,} ESMS, 24 months {FIRST_MONTH:%Y-%m} … {LAST_DAY:%Y-%m}"
    )
    for name, rows in sizes.items():
        size = (args.out / f"{name}.csv").stat().st_size / 2**20
        print(f"  {name + '.csv':<27} {rows:>12,} rows {size:>9.1f} MiB")
    print(f"load average {os.getloadavg()[0]:.2f} ({os.cpu_count()} CPUs)")

    runs: dict[str, list] = {part: [] for part in args.parts}
    for round_ in range(args.repeat):
        for part in args.parts:
            result, wall, rss = child(part, args.out, args.max_gib, args.timeout, False)
            runs[part].append((result, wall, rss))
            print(f"  round {round_ + 1} {part}: {wall:.1f} s wall, {rss:.0f} MiB", flush=True)
    print(f"load average after {os.getloadavg()[0]:.2f}\n")

    def median(part: str, key: str = "seconds") -> float | None:
        values = [r[key] for r, _, _ in runs.get(part, []) if isinstance(r, dict)]
        return statistics.median(values) if values else None

    def peak(part: str) -> float:
        return max((rss for _, _, rss in runs.get(part, [])), default=0.0)

    print(f"{'':<28} {'median s':>9} {'child wall s':>13} {'rows':>12} {'peak RSS':>10}")
    for part in args.parts:
        failed = [r for r, _, _ in runs[part] if isinstance(r, str)]
        walls = statistics.median(w for _, w, _ in runs[part])
        if failed:
            print(f"{LABELS[part]:<28} {failed[0]}, peak RSS {peak(part):.0f} MiB")
            continue
        rows = runs[part][0][0]["rows"]
        print(
            f"{LABELS[part]:<28} {median(part):>9.2f} {walls:>13.1f} {rows:>12,} "
            f"{peak(part):>6.0f} MiB"
        )
        if part == "read":
            for key in ("raw", "check", "records_of"):
                print(f"{LABELS[key]:<28} {median(part, key):>9.2f}")
    if "count" in runs and isinstance(runs["count"][0][0], dict):
        r = runs["count"][0][0]
        print(f"  (count_base: {r['esms']:,} ESMS × {r['months']} months; its child read too:")
        print(
            f"   read_record_table × 5 {median('count', 'read'):.2f} s, records_of "
            f"{median('count', 'records_of'):.2f} s there)"
        )
    base = median("baseline")
    read = median("read") if "read" in runs else median("count", "read")
    build = median("read", "records_of") if "read" in runs else median("count", "records_of")
    count = median("count")
    if None not in (base, read, build, count):
        total = read + build + count
        ratio = total / base
        verdict = "ok" if ratio <= TARGET_RATIO else "MISSED"
        print(
            f"\nread + records_of + count = {total:.2f} s = {ratio:.1f} × baseline "
            f"({base:.2f} s); target ≤ {TARGET_RATIO:g} ×: {verdict}"
        )
    if {"read", "count"} & set(runs):
        rss = max(peak(p) for p in ("read", "count") if p in runs)
        verdict = "ok" if rss < TARGET_RSS_MIB else "MISSED"
        print(f"peak RSS (read, count) {rss:.0f} MiB; target < 4 GB: {verdict}")
    if args.profile:
        print(f"\ncProfile of {args.profile} (top 25 by own time, on stderr):", flush=True)
        result, wall, rss = child(args.profile, args.out, args.max_gib, args.timeout, True)
        print(f"  profiled {args.profile}: {wall:.1f} s wall (profiler overhead included)")


if __name__ == "__main__":
    main()
