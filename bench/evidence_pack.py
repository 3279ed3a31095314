"""Evidence pack of an OG of 300 ESMS on the national store, against `dui-metrics va` in the same run.

Usage (from the repository root; the national store comes from ``bench/national.py`` then
``dui-metrics ingest``):

    .venv/bin/python bench/national.py /tmp/dui-national
    .venv/bin/dui-metrics ingest --store /tmp/dui-national.store.duckdb /tmp/dui-national
    .venv/bin/python bench/evidence_pack.py                    # 300 ESMS, 3 runs of each part
    .venv/bin/python bench/evidence_pack.py --repeat 5 --esms 300 --store /tmp/x.duckdb
    .venv/bin/python bench/evidence_pack.py --profile          # + cProfile of the pack (top 25)

The national OGs have 1 to 50 ESMS, so the bench makes one of 300. Preparation (timed, and
printed apart from the figures): the store is copied into a scratch folder under /tmp (the
original is only read, by the copy; its size and mtime are checked unchanged at the end);
``--esms`` ESMS with usage data, evenly spaced in FINESS ET order (so across départements,
editors and formats: the pack lists the files of all of them), are given to a new OG
(FINESS EJ ``999000011``, order ``CMD-BENCH-300``) by an établissements CSV written as
``bench/national.py`` writes the reference (`;`, UTF-8, French headers), imported into the
copy with ``ingest_paths`` inside ``writable_copy``, as ``dui-metrics ingest`` does (a
reference file replaces the rows of its ESMS, by finess_et).

Parts, each run ``--repeat`` times in its own child process (its peak RSS is its own, read
with ``os.wait4``), the parts interleaved within each round so that the load of the machine
weighs on all of them alike:
- baseline, library: ``va.readiness_table`` of that OG and order (the checks behind
  ``dui-metrics va --og X --commande Y``, and the pack's own first step);
- ``evidence.build_pack`` (the pack's data: checks, 12 monthly values per indicator, the
  usage rows with their import, the sources, the fingerprint);
- ``evidence_xlsx.render`` and ``evidence_pdf.render`` of that pack, each alone (the pack is
  built first in the same child, untimed; the peak RSS includes it);
- baseline, command: ``dui-metrics va --store COPY --og X --commande Y`` (CSV to a file);
- the command a user runs: ``dui-metrics preuves --store COPY --og X --commande Y --sortie
  TMP`` (wall time, Python start-up and imports included), with the two files' sizes and the
  PDF's page count (pypdf).
Library parts are timed around the call only (store already open, modules imported);
commands by their wall time. Table: median, min and max seconds, peak RSS (largest of the
runs). Target (issue 13): the whole command under 20 s for 300 ESMS (its median). The load
average is printed: other processes share the CPUs (on a shared VM the same run can vary by
a quarter from one minute to the next: compare parts of the same run). The scratch folder is
deleted at the end.
"""

from __future__ import annotations

import argparse
import csv
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

from child import wait_child  # noqa: E402  (bench/child.py, beside this script)

TARGET_S = 20.0
OG = "99900001"  # + Luhn check digit: a FINESS EJ that no national OG has
COMMANDE = "CMD-BENCH-{n}"
OG_NAME = "Association nationale (banc d'essai, {n} ESMS)"
PARTS = ("va", "pack", "xlsx", "pdf", "cmd-va", "cmd")
LABELS = {
    "va": "va.readiness_table (baseline)",
    "pack": "evidence.build_pack",
    "xlsx": "evidence_xlsx.render",
    "pdf": "evidence_pdf.render",
    "cmd-va": "dui-metrics va (baseline)",
    "cmd": "dui-metrics preuves",
}
# The console script, as a user runs it (else the module, from the same interpreter).
_SCRIPT = Path(sys.executable).with_name("dui-metrics")
CLI = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "dui_metrics.cli"]


def og_code() -> str:
    from dui_metrics.finess import luhn_check_digit

    return OG + luhn_check_digit(OG)


# --- preparation ------------------------------------------------------------------------------
def prepare(original: Path, scratch: Path, n_esms: int) -> tuple[Path, dict]:
    """Copy the store into ``scratch`` and give ``n_esms`` of its ESMS to one new OG and order.
    Returns the copy and facts about the OG made."""
    from dui_metrics import referentiel
    from dui_metrics.demo import REFERENCE_HEADER
    from dui_metrics.ingest import LOADED, ingest_paths
    from dui_metrics.store import Store
    from dui_metrics.writer import writable_copy

    copy = scratch / original.name
    shutil.copyfile(original, copy)
    wal = original.with_name(original.name + ".wal")
    if wal.exists():  # not checkpointed: the copy needs it too
        shutil.copyfile(wal, copy.with_name(copy.name + ".wal"))
    og, commande = og_code(), COMMANDE.format(n=n_esms)
    with Store(copy, read_only=True) as s:
        if s.scalar("select count(*) from establishments where finess_ej = ?", [og]):
            sys.exit(f"le FINESS EJ {og} existe déjà dans {original}")
        candidates = s.execute(
            "select finess_et, raison_sociale, categorie, departement, region, editeur, "
            "logiciel, date_deploiement, finess_ej from establishments "
            "where finess_et in (select distinct finess_et from usage) order by finess_et"
        ).fetchall()
    if len(candidates) < n_esms:
        sys.exit(f"{len(candidates)} ESMS avec des données d'usage, moins que --esms {n_esms}")
    # Evenly spaced in FINESS order: across départements, editors and their formats.
    chosen = [candidates[i * len(candidates) // n_esms] for i in range(n_esms)]
    reference = scratch / "etablissements-og-bench.csv"
    with reference.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=";", lineterminator="\n")
        writer.writerow(REFERENCE_HEADER)
        for finess_et, name, cat, dep, region, editor, software, deployed, _ in chosen:
            writer.writerow(
                [
                    finess_et,
                    og,
                    name,
                    OG_NAME.format(n=n_esms),
                    cat,
                    dep,
                    region,
                    editor,
                    software,
                    commande,
                    "" if deployed is None else f"{deployed:%d/%m/%Y}",
                ]
            )
    with writable_copy(copy) as store:
        results = ingest_paths(store, [reference], referentiel.default())
    if [r.status for r in results] != [LOADED]:
        sys.exit(f"import de {reference} : {[(r.status, r.error) for r in results]}")
    with Store(copy, read_only=True) as s:
        mine = s.scalar(
            "select count(*) from establishments where finess_ej = ? and commande = ?",
            [og, commande],
        )
        months = s.scalar(
            "select count(distinct periode) from usage u join establishments e using (finess_et) "
            "where e.finess_ej = ?",
            [og],
        )
    if mine != n_esms:
        sys.exit(f"{mine} ESMS dans l'OG {og} après import, {n_esms} attendus")
    return copy, {
        "og": og,
        "commande": commande,
        "esms": mine,
        "replaced": results[0].rows_replaced,
        "warnings": len(results[0].warnings),
        "editors": len({c[5] for c in chosen}),
        "departements": len({c[3] for c in chosen}),
        "former_ogs": len({c[8] for c in chosen}),
        "months": months,
    }


# --- one part, in a child ---------------------------------------------------------------------
def run_part(part: str, store_path: Path, og: str, commande: str, out: Path) -> dict:
    from dui_metrics import evidence, referentiel, va
    from dui_metrics.store import Store

    ref = referentiel.default()
    with Store(store_path, read_only=True) as store:
        if part == "va":
            start = time.perf_counter()
            table = va.readiness_table(store, ref, og=og, commande=commande)
            seconds = time.perf_counter() - start
            return {"seconds": seconds, "what": f"{table.num_rows:,} checks"}
        start = time.perf_counter()
        pack = evidence.build_pack(store, ref, og, commande)
        seconds = time.perf_counter() - start
    if part == "pack":
        return {
            "seconds": seconds,
            "what": (
                f"{len(pack.esms)} ESMS, {len(pack.checks):,} checks, {len(pack.monthly):,} "
                f"monthly values, {len(pack.rows):,} usage rows, {len(pack.sources)} sources; "
                f"{pack.verdict_text}"
            ),
        }
    from dui_metrics import evidence_pdf, evidence_xlsx

    render = evidence_xlsx.render if part == "xlsx" else evidence_pdf.render
    start = time.perf_counter()
    data = render(pack)
    seconds = time.perf_counter() - start
    out.write_bytes(data)
    what = f"{len(data) / 2**20:.2f} MiB"
    if part == "pdf":
        what += f", {pdf_pages(out)} pages"
    return {"seconds": seconds, "what": what}


def pdf_pages(path: Path) -> int:
    from pypdf import PdfReader

    return len(PdfReader(path).pages)


def profile_pack(store_path: Path, og: str, commande: str, top: int) -> None:
    """cProfile of build_pack, then of each render: the functions taking the most time."""
    import cProfile
    import pstats

    from dui_metrics import evidence, evidence_pdf, evidence_xlsx, referentiel
    from dui_metrics.store import Store

    ref = referentiel.default()
    with Store(store_path, read_only=True) as store:
        profiler = cProfile.Profile()
        pack = profiler.runcall(evidence.build_pack, store, ref, og, commande)
    steps = [("evidence.build_pack", profiler)]
    for name, render in (
        ("evidence_xlsx.render", evidence_xlsx.render),
        ("evidence_pdf.render", evidence_pdf.render),
    ):
        profiler = cProfile.Profile()
        profiler.runcall(render, pack)
        steps.append((name, profiler))
    for name, profiler in steps:
        stats = pstats.Stats(profiler)
        print(f"\n=== cProfile: {name} (total {stats.total_tt:.2f} s under the profiler) ===")
        print(f"--- by cumulative time (top {top})")
        stats.sort_stats("cumulative").print_stats(top)
        print(f"--- by own time (top {top})")
        stats.sort_stats("tottime").print_stats(top)


def child(part: str, store: Path, og: str, commande: str, scratch: Path, timeout: float):
    """Result (or why it failed), wall seconds and peak RSS (MiB) of one run of ``part``."""
    out = scratch / f"run-{part}"
    if part == "cmd":
        shutil.rmtree(out, ignore_errors=True)
        command = [*CLI, "preuves", "--store", str(store), "--og", og]
        command += ["--commande", commande, "--sortie", str(out)]
    elif part == "cmd-va":
        command = [*CLI, "va", "--store", str(store), "--og", og, "--commande", commande]
    else:
        command = [sys.executable, __file__, "--part", part, "--store", str(store)]
        command += ["--og", og, "--commande", commande, "--out", str(out)]
    stdout, stderr = scratch / f"{part}.stdout", scratch / f"{part}.stderr"
    start = time.perf_counter()
    with stdout.open("wb") as handle, stderr.open("wb") as errors:
        proc = subprocess.Popen(command, stdout=handle, stderr=errors, cwd=ROOT)
    code, rss, killed = wait_child(proc, timeout)
    wall = time.perf_counter() - start
    if killed:
        return f"stopped after {timeout:g} s", wall, rss
    if code:
        tail = stderr.read_text(errors="replace").strip().splitlines()[-3:]
        return f"failed (exit {code}): {' | '.join(tail)}", wall, rss
    if part == "cmd":
        files = sorted(out.iterdir())
        sizes = ", ".join(f"{p.suffix[1:]} {p.stat().st_size / 2**20:.2f} MiB" for p in files)
        pdf = next(p for p in files if p.suffix == ".pdf")
        said = stderr.read_text().splitlines()
        return (
            {"seconds": wall, "what": f"{sizes}, {pdf_pages(pdf)} pages", "said": said},
            wall,
            rss,
        )
    if part == "cmd-va":
        lines = stdout.read_bytes().count(b"\n")
        return {"seconds": wall, "what": f"{lines - 1:,} CSV rows"}, wall, rss
    return json.loads(stdout.read_text().strip().splitlines()[-1]), wall, rss


# --- main -------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--store", type=Path, default=Path("/tmp/dui-national.store.duckdb"),
        help="national store (only read: copied first); default /tmp/dui-national.store.duckdb",
    )  # fmt: skip
    parser.add_argument("--esms", type=int, default=300, help="ESMS of the OG (default 300)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each part (default 3)")
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS))
    parser.add_argument(
        "--profile", action="store_true", help="then cProfile build_pack and both renders"
    )
    parser.add_argument("--top", type=int, default=25, help="functions listed by --profile")
    parser.add_argument(
        "--timeout", type=float, default=300.0, help="seconds after which a run is stopped"
    )
    parser.add_argument("--part", choices=PARTS, help=argparse.SUPPRESS)
    parser.add_argument("--profile-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--og", help=argparse.SUPPRESS)
    parser.add_argument("--commande", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.part:
        print(json.dumps(run_part(args.part, args.store, args.og, args.commande, args.out)))
        return
    if args.profile_child:
        profile_pack(args.store, args.og, args.commande, args.top)
        return
    original = args.store.resolve()
    if not original.exists():
        sys.exit(
            f"{original} introuvable : bench/national.py /tmp/dui-national puis dui-metrics "
            f"ingest --store {original} /tmp/dui-national d'abord"
        )
    before = original.stat()
    print(
        f"store {original} ({before.st_size / 2**20:.0f} MiB), OG of {args.esms} ESMS, "
        f"{args.repeat} run(s) per part; load average {os.getloadavg()[0]:.2f} "
        f"({os.cpu_count()} CPUs)"
    )
    scratch = Path(tempfile.mkdtemp(prefix="dui-bench-evidence-", dir="/tmp"))
    try:
        start = time.perf_counter()
        copy, facts = prepare(original, scratch, args.esms)
        print(
            f"preparation (not measured below): {time.perf_counter() - start:.1f} s: store "
            f"copied to {scratch}, OG {facts['og']} order {facts['commande']}: "
            f"{facts['esms']} ESMS ({facts['replaced']} reference rows replaced, "
            f"{facts['warnings']} warnings), taken from {facts['former_ogs']} OGs, "
            f"{facts['editors']} editors, {facts['departements']} départements, "
            f"{facts['months']} months of usage"
        )
        results: dict[str, list] = {part: [] for part in args.parts}
        for round_ in range(args.repeat):
            line = []
            for part in args.parts:
                run = child(part, copy, facts["og"], facts["commande"], scratch, args.timeout)
                results[part].append(run)
                line.append(f"{part} {run[1]:.1f} s")
            print(f"  run {round_ + 1}/{args.repeat} (wall): {', '.join(line)}", flush=True)
        load_after = os.getloadavg()
        print(f"load average after {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}\n")
        report(results, args.repeat)
        if args.profile:
            print("\ncProfile (one run, in a child; the profiler slows Python code down):")
            sys.stdout.flush()
            command = [sys.executable, __file__, "--profile-child", "--store", str(copy)]
            command += ["--og", facts["og"], "--commande", facts["commande"]]
            command += ["--top", str(args.top)]
            subprocess.run(command, check=True, cwd=ROOT)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    after = original.stat()
    same = (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    print(
        f"\noriginal store {'unchanged' if same else 'CHANGED'} (size {after.st_size:,} bytes, "
        f"mtime {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(after.st_mtime))})"
    )


def report(results: dict[str, list], repeat: int) -> None:
    print(f"{'':<31} {'median s':>8} {'min s':>7} {'max s':>7} {'peak RSS':>10}  output (last run)")
    medians = {}
    for part, runs in results.items():
        failed = [r for r, _, _ in runs if isinstance(r, str)]
        rss = max(m for _, _, m in runs)
        if failed:
            print(f"{LABELS[part]:<31} {failed[0]}, peak RSS {rss:.0f} MiB")
            continue
        seconds = [r["seconds"] for r, _, _ in runs]
        medians[part] = statistics.median(seconds)
        print(
            f"{LABELS[part]:<31} {medians[part]:>8.2f} {min(seconds):>7.2f} {max(seconds):>7.2f} "
            f"{rss:>6.0f} MiB  {runs[-1][0]['what']}"
        )
    if "cmd" in medians:
        said = results["cmd"][-1][0]["said"]
        print("\ndui-metrics preuves said (last run, stderr):")
        for text in said:
            print(f"  {text}")
    print()
    if "cmd" in medians:
        worst = max(r["seconds"] for r, _, _ in results["cmd"])
        verdict = "ok" if medians["cmd"] < TARGET_S else "missed"
        print(
            f"whole command (dui-metrics preuves, median of {repeat}): "
            f"{medians['cmd']:.1f} s (max {worst:.1f} s), "
            f"< {TARGET_S:g} s: {verdict}"
        )
    ratios = []
    if "pack" in medians and "va" in medians:
        ratios.append(f"build_pack / readiness_table {medians['pack'] / medians['va']:.1f}×")
    if "cmd" in medians and "cmd-va" in medians:
        ratios.append(
            f"dui-metrics preuves / dui-metrics va {medians['cmd'] / medians['cmd-va']:.1f}×"
        )
    if ratios:
        print("ratio pack / baseline (medians): " + "; ".join(ratios))


if __name__ == "__main__":
    main()
