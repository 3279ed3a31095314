"""TDDUI FHIR bundles as NDJSON: `ingest.fhir.iter_chunks` against DuckDB's own NDJSON reader.

Usage (from the repository root):

    .venv/bin/python bench/tddui.py                        # 100,000 bundles, /tmp/dui-tddui
    .venv/bin/python bench/tddui.py --scale 0.1            # 10,000 bundles
    .venv/bin/python bench/tddui.py --repeat 3 --parts baseline parse
    .venv/bin/python bench/tddui.py --profile parse        # + cProfile of one part (top 25)

Data: a deterministic generator (``random.Random(--seed)``) writes ``--bundles`` × ``--scale``
TDDUI bundles (default 100,000), one per line, compact JSON, into ``--out`` (outside the
repository). Each bundle, as the ANS IG 2.2.0 shapes it (``transaction``, RESTful fullUrls,
relative references): an Organization (idNatSt ``1`` + FINESS, one of ``--esms`` ESMS, default
4,000), a Patient ``tddui-patient-ins`` (PI identifier ``3`` + FINESS ``/`` local id,
identityReliability PROV / RECUP / VALI / QUAL with a validationDate, an INS-NIR for VALI and
QUAL, a made-up name, birth date and address that the reader must skip), an Encounter séjour
(60 % closed), 1 to 12 Encounter événements (serviceProvider, ``partOf`` the séjour,
date-times with offsets; 3 % cancelled, 3 % planned) and a CarePlan projet personnalisé with
``period.start``. The file is reused when its ``bench.json`` says it holds the same bundles,
ESMS and seed (``--regenerate`` writes it again).

Parts, each run ``--repeat`` times in its own child process (its own peak RSS, ``os.wait4``),
interleaved within each round; times are medians, around the calls only (imports done):
- ``baseline``: DuckDB ``select count(*) from read_ndjson_objects(path)`` (the brief's
  baseline: splits lines, parses little);
- ``duckdb_parse``: DuckDB ``select sum(json_array_length(json, '$.entry')) from
  read_ndjson_objects(path)``: every bundle parsed (for scale: what parsing costs there);
- ``json``: the file read line by line, each line through the stdlib's ``json.loads``, and
  nothing else: the floor of any reader that parses each bundle with it;
- ``parse``: ``iter_chunks`` over the whole file, every chunk consumed, rows counted;
- ``ingest``: ``dui-metrics ingest --store <new file> --taille-max <above the file>
  bundles.ndjson``, the whole command (records written to the store and counted).
Measured 2026-12-02 (2 CPUs, load 0.8, default scale, medians of 2): baseline 0.96 s,
DuckDB parsing every bundle 1.73 s, json.loads alone 12.7 s (13 ×), iter_chunks 26.5 s (28 ×,
peak RSS 135 MiB), dui-metrics ingest 38.2 s (40 ×, peak RSS 1,000 MiB). The stdlib's
json.loads alone is 13 × the baseline: a reader that decodes each bundle with it cannot reach
3 ×; the per-bundle mapping costs about as much again.
Target: parse (and ingest) ≤ 3 × the baseline. Guards: ``--max-gib`` (address-space limit
of each child, default 8) and ``--timeout`` (default 1800 s). The load average is printed:
other processes share the CPUs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from child import add_part_options, generated, part_child, wait_child  # noqa: E402
from records import finess_numbers  # noqa: E402  (bench/records.py: the same FINESS numbers)  (bench/child.py, beside this script)

TARGET_RATIO = 3.0
FULL_BUNDLES = 100_000
FULL_ESMS = 4_000
PARTS = ("baseline", "duckdb_parse", "json", "parse", "ingest")
LABELS = {
    "baseline": "DuckDB read_ndjson_objects count(*)",
    "duckdb_parse": "DuckDB json_array_length(entry)",
    "json": "json.loads per line (no mapping)",
    "parse": "iter_chunks (all chunks)",
    "ingest": "dui-metrics ingest (CLI)",
}
IG = "https://interop.esante.gouv.fr/ig/fhir/tddui/StructureDefinition/"
BASE = "https://dui.example.fr/fhir/"
FIRST_DAY, LAST_DAY = dt.date(2024, 11, 1), dt.date(2026, 10, 31)


# --- data ----------------------------------------------------------------------------------


def coding(system: str, code: str, display: str | None = None) -> dict:
    found = {"system": system, "code": code}
    return {**found, "display": display} if display else found


def bundle(rng: random.Random, number: int, finess: str) -> dict:
    """One bundle: Organization, Patient INS, séjour, événements, projet personnalisé."""
    org_id, pat_id, sej_id = f"org-{finess}", f"pat-{number}", f"sej-{number}"
    local = f"3{finess}/U{number:08d}"
    first, last = FIRST_DAY.toordinal() - 700, LAST_DAY.toordinal()
    entree = rng.randint(first, last)
    closed = rng.random() < 0.6
    sortie = min(entree + int(rng.expovariate(1 / 300)) + 1, last)
    lo, hi = max(entree, FIRST_DAY.toordinal()), sortie if closed else last
    lo = min(lo, hi)
    status = rng.choices(("PROV", "RECUP", "VALI", "QUAL"), (0.1, 0.1, 0.2, 0.6))[0]
    identifiers = [
        {
            "use": "usual",
            "type": {"coding": [coding("http://terminology.hl7.org/CodeSystem/v2-0203", "PI")]},
            "system": "https://identifiant-medicosocial-localusager.esante.gouv.fr",
            "value": local,
        }
    ]
    if status in ("VALI", "QUAL"):
        identifiers.append(
            {
                "use": "official",
                "type": {
                    "coding": [
                        coding(
                            "https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-v2-0203", "INS-NIR"
                        )
                    ]
                },
                "system": "urn:oid:1.2.250.1.213.1.4.8",
                "value": f"{rng.choice('12')}{rng.randrange(10**14):014d}",
            }
        )
    patient = {
        "resourceType": "Patient",
        "id": pat_id,
        "meta": {"profile": [IG + "tddui-patient-ins"]},
        "extension": [
            {
                "url": "https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-identity-reliability",
                "extension": [
                    {
                        "url": "identityStatus",
                        "valueCoding": coding(
                            "https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-v2-0445", status
                        ),
                    },
                    {
                        "url": "validationDate",
                        "valueDate": dt.date.fromordinal(
                            min(entree + rng.randint(0, 60), last)
                        ).isoformat(),
                    },
                    {
                        "url": "validationMode",
                        "valueCoding": coding(
                            "https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-v2-0445", "CN"
                        ),
                    },
                ],
            }
        ],
        "identifier": identifiers,
        "name": [{"use": "official", "family": f"NOM{number}", "given": ["Prénom"]}],
        "gender": rng.choice(("male", "female")),
        "birthDate": dt.date.fromordinal(rng.randint(700_000, 740_000)).isoformat(),
        "address": [
            {"line": [f"{number} rue de l'Exemple"], "city": "Ville", "postalCode": "75001"}
        ],
    }
    org = {
        "resourceType": "Organization",
        "id": org_id,
        "meta": {"profile": [IG + "tddui-organization"]},
        "identifier": [
            {
                "use": "official",
                "type": {
                    "coding": [
                        coding("https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-v2-0203", "IDNST")
                    ]
                },
                "system": "urn:oid:1.2.250.1.71.4.2.2",
                "value": "1" + finess,
            }
        ],
        "name": f"ESMS {finess}",
    }
    period = {"start": dt.date.fromordinal(entree).isoformat()}
    if closed:
        period["end"] = dt.date.fromordinal(sortie).isoformat()
    sejour = {
        "resourceType": "Encounter",
        "id": sej_id,
        "meta": {"profile": [IG + "tddui-encounter-sejour"]},
        "identifier": [
            {
                "type": {
                    "coding": [
                        coding(
                            "https://interop.esante.gouv.fr/ig/fhir/tddui/CodeSystem/"
                            "tddui-encounter-identifier",
                            "SEJ",
                        )
                    ]
                },
                "system": "https://identifiant-medicosocial-sejour.esante.gouv.fr",
                "value": f"{local}-SEJOUR-1",
            }
        ],
        "status": "finished" if closed else "in-progress",
        "class": coding("http://terminology.hl7.org/CodeSystem/v3-ActCode", "HH"),
        "subject": {"reference": f"Patient/{pat_id}"},
        "period": period,
        "serviceProvider": {"reference": f"Organization/{org_id}"},
    }
    resources = [patient, org, sejour]
    for k in range(rng.randint(1, 12)):
        day = dt.date.fromordinal(rng.randint(lo, hi)).isoformat()
        hour = rng.randint(7, 19)
        offset = "+02:00" if day[5:7] in ("04", "05", "06", "07", "08", "09", "10") else "+01:00"
        resources.append(
            {
                "resourceType": "Encounter",
                "id": f"evn-{number}-{k}",
                "meta": {"profile": [IG + "tddui-encounter-evenement"]},
                "identifier": [
                    {
                        "system": "https://identifiant-medicosocial-evenement.esante.gouv.fr",
                        "value": f"{local}-EVN-{k}",
                    }
                ],
                "status": rng.choices(("finished", "cancelled", "planned"), (0.94, 0.03, 0.03))[0],
                "class": coding("http://terminology.hl7.org/CodeSystem/v3-ActCode", "HH"),
                "type": [
                    {
                        "coding": [
                            coding(
                                "https://smt.esante.gouv.fr/fhir/CodeSystem/terminologie-cisis",
                                "MED-1298",
                                "Intervention d'un infirmer salarié",
                            )
                        ]
                    }
                ],
                "subject": {"reference": f"Patient/{pat_id}"},
                "period": {
                    "start": f"{day}T{hour:02d}:30:00{offset}",
                    "end": f"{day}T{hour:02d}:55:00{offset}",
                },
                "partOf": {"reference": f"Encounter/{sej_id}"},
                "serviceProvider": {"reference": f"Organization/{org_id}"},
            }
        )
    resources.append(
        {
            "resourceType": "CarePlan",
            "id": f"pp-{number}",
            "meta": {"profile": [IG + "tddui-careplan-projet-personnalise"]},
            "identifier": [
                {
                    "system": "https://identifiant-medicosocial-projetpersonnalise.esante.gouv.fr",
                    "value": f"{local}-PPER-1",
                }
            ],
            "status": "active",
            "intent": "plan",
            "title": "Projet personnalisé",
            "subject": {"reference": f"Patient/{pat_id}"},
            "period": {"start": dt.date.fromordinal(rng.randint(lo, hi)).isoformat()},
        }
    )
    return {
        "resourceType": "Bundle",
        "id": f"bundle-{number}",
        "meta": {"profile": [IG + "tddui-bundle"]},
        "type": "transaction",
        "entry": [
            {
                "fullUrl": f"{BASE}{r['resourceType']}/{r['id']}",
                "resource": r,
                "request": {"method": "POST", "url": r["resourceType"]},
            }
            for r in resources
        ],
    }


def generate(path: Path, bundles: int, esms: int, seed: int) -> int:
    """Write ``bundles`` bundles into ``path`` (NDJSON); their resource count."""
    rng = random.Random(seed)
    numbers = finess_numbers(esms)
    weights = [rng.lognormvariate(0.0, 0.6) for _ in numbers]
    of_bundle = rng.choices(range(esms), weights, k=bundles)
    resources = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for number in range(1, bundles + 1):
            data = bundle(rng, number, numbers[of_bundle[number - 1]])
            resources += len(data["entry"])
            handle.write(json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n")
    return resources


# --- parts (in a child) ----------------------------------------------------------------------


def run_part(part: str, path: Path, max_gib: float) -> dict:
    import resource

    limit = int(max_gib * 2**30)  # address space: fail with MemoryError rather than swap
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    if part in ("baseline", "duckdb_parse"):
        import duckdb

        con = duckdb.connect()
        query = (
            "select count(*) from read_ndjson_objects(?)"
            if part == "baseline"
            else "select sum(json_array_length(json, '$.entry')) from read_ndjson_objects(?)"
        )
        start = time.perf_counter()
        rows = con.execute(query, [str(path)]).fetchall()[0][0]
        return {"seconds": time.perf_counter() - start, "rows": int(rows)}
    if part == "json":
        start = time.perf_counter()
        entries = 0
        with path.open("rb") as handle:
            for line in handle:
                if line.strip():
                    entries += len(json.loads(line)["entry"])
        return {"seconds": time.perf_counter() - start, "rows": entries}
    from dui_metrics.ingest.fhir import iter_chunks

    start = time.perf_counter()
    rows: dict[str, int] = {}
    for chunk in iter_chunks(path, path.name):
        for name, table in chunk.items():
            rows[name] = rows.get(name, 0) + table.num_rows
    return {"seconds": time.perf_counter() - start, "rows": sum(rows.values()), "tables": rows}


def ingest_child(path: Path, max_gib: float, timeout: float) -> tuple[dict | str, float, float]:
    """The whole ``dui-metrics ingest`` command on a new store file, in a child."""
    store = Path(f"/tmp/dui-bench-tddui-{os.getpid()}.duckdb")
    command = [str(ROOT / ".venv" / "bin" / "dui-metrics"), "ingest", "--store", str(store)]
    # above the file (the default limit, 500 MB, refuses the full scale's 871 MB)
    command += ["--taille-max", str(int(path.stat().st_size / 2**20) + 1)]
    start = time.perf_counter()
    out = Path(f"/tmp/dui-bench-tddui-{os.getpid()}-ingest.out")
    try:
        with out.open("w") as handle:
            proc = subprocess.Popen(command + [str(path)], stdout=handle, stderr=subprocess.STDOUT)
        code, rss, killed = wait_child(proc, timeout, poll=0.05)
        wall = time.perf_counter() - start
        text = out.read_text()
    finally:
        out.unlink(missing_ok=True)
        for leftover in store.parent.glob(store.name + "*"):  # .wal, .lock
            leftover.unlink(missing_ok=True)
    if killed:
        return f"stopped after {timeout:g} s", wall, rss
    if code:
        return f"failed (exit {code}): {text.strip().splitlines()[-1:]}", wall, rss
    return {"seconds": wall, "rows": 0, "output": text.strip().splitlines()[-3:]}, wall, rss


def child(
    part: str, path: Path, max_gib: float, timeout: float, profile: bool
) -> tuple[dict | str, float, float]:
    """Result (or why it failed), wall seconds and peak RSS (MiB) of one part in a child."""
    if part == "ingest":
        return ingest_child(path, max_gib, timeout)
    return part_child(__file__, "tddui", path.parent, part, max_gib, timeout, profile)


# --- main ----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("/tmp/dui-tddui"))
    parser.add_argument("--scale", type=float, default=1.0, help="× 100,000 bundles")
    parser.add_argument("--esms", type=int, default=FULL_ESMS)
    add_part_options(parser, PARTS)
    parser.add_argument("--profile", choices=("parse",), help="also run it under cProfile")
    args = parser.parse_args()
    path = args.out / "bundles.ndjson"
    if args.part:
        if args.profile:
            import cProfile
            import pstats

            profiler = cProfile.Profile()
            result = profiler.runcall(run_part, args.part, path, args.max_gib)
            stats = pstats.Stats(profiler, stream=sys.stderr)
            stats.sort_stats("tottime").print_stats(25)
        else:
            result = run_part(args.part, path, args.max_gib)
        print(json.dumps(result))
        return

    bundles = max(1, round(FULL_BUNDLES * args.scale))
    start = time.perf_counter()
    resources, reused = generated(
        args.out,
        {"bundles": bundles, "esms": args.esms, "seed": args.seed},
        [path],
        "resources",
        lambda: generate(path, bundles, args.esms, args.seed),
        args.regenerate,
    )
    print(
        f"{'reused' if reused else 'generated'} {path} in {time.perf_counter() - start:.1f} s: "
        f"{bundles:,} bundles, {resources:,} resources, {args.esms:,} ESMS, "
        f"{path.stat().st_size / 2**20:.1f} MiB"
    )
    print(f"load average {os.getloadavg()[0]:.2f} ({os.cpu_count()} CPUs)")

    runs: dict[str, list] = {part: [] for part in args.parts}
    for round_ in range(args.repeat):
        for part in args.parts:
            result, wall, rss = child(part, path, args.max_gib, args.timeout, False)
            runs[part].append((result, wall, rss))
            print(f"  round {round_ + 1} {part}: {wall:.1f} s wall, {rss:.0f} MiB", flush=True)
    print(f"load average after {os.getloadavg()[0]:.2f}\n")

    def median(part: str) -> float | None:
        values = [r["seconds"] for r, _, _ in runs.get(part, []) if isinstance(r, dict)]
        return statistics.median(values) if values else None

    print(f"{'':<36} {'median s':>9} {'child wall s':>13} {'rows':>12} {'peak RSS':>10}")
    for part in args.parts:
        failed = [r for r, _, _ in runs[part] if isinstance(r, str)]
        walls = statistics.median(w for _, w, _ in runs[part])
        peak = max(rss for _, _, rss in runs[part])
        if failed:
            print(f"{LABELS[part]:<36} {failed[0]}, peak RSS {peak:.0f} MiB")
            continue
        result = runs[part][0][0]
        print(
            f"{LABELS[part]:<36} {median(part):>9.2f} {walls:>13.1f} {result['rows']:>12,} "
            f"{peak:>6.0f} MiB"
        )
        if part == "parse":
            print("  " + ", ".join(f"{k} {v:,}" for k, v in result["tables"].items()))
        if part == "ingest":
            for line in result["output"]:
                print(f"  | {line}")
    base = median("baseline")
    for part in ("parse", "ingest"):
        seconds = median(part)
        if base and seconds is not None:
            ratio = seconds / base
            verdict = "ok" if ratio <= TARGET_RATIO else "MISSED"
            print(
                f"{part} = {seconds:.2f} s = {ratio:.1f} × baseline ({base:.2f} s); "
                f"target ≤ {TARGET_RATIO:g} ×: {verdict}"
            )
    parsed, loads = median("duckdb_parse"), median("json")
    if parsed and median("parse") is not None:
        print(
            f"parse = {median('parse') / parsed:.1f} × DuckDB parsing every bundle ({parsed:.2f} s)"
        )
    if base and loads is not None:
        print(f"json.loads alone = {loads:.2f} s = {loads / base:.1f} × baseline")
    if args.profile:
        print(f"\ncProfile of {args.profile} (top 25 by own time, on stderr):", flush=True)
        result, wall, rss = child(args.profile, path, args.max_gib, args.timeout, True)
        print(f"  profiled {args.profile}: {wall:.1f} s wall (profiler overhead included)")


if __name__ == "__main__":
    main()
