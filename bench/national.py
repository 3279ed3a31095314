"""National-scale data set: 40,000 ESMS × 36 months of aggregated usage exports, as real files.

Usage (from the repository root; the folder must be outside the repository):

    .venv/bin/python bench/national.py                          # /tmp/dui-national, 40,000 ESMS
    .venv/bin/python bench/national.py /tmp/dui-4k --esms 4000  # a tenth, to try things quickly

Deterministic (same seed, same ``--esms``: same bytes). What it writes (domain.md §8):
- ``etablissements.csv``: the reference, `;`, UTF-8, French headers, one row per ESMS.
- About 3,000 organismes gestionnaires (OG) of 1–50 ESMS at 40,000 ESMS, each with one editor
  among 12; an editor exports for all its clients, in the format it always uses (as in
  ``dui_metrics/demo.py``):
  - long-form CSV (3 editors): `;`, Windows-1252, CRLF, ``MM/AAAA``, French indicator labels,
    one file per month;
  - wide CSV with French headers (3 editors): tab, UTF-8 with BOM, ``AAAA-MM``, one file per
    quarter; "Messages MSSanté reçus" empty (missing) in the first 4 months;
  - wide CSV with code headers (3 editors): `;`, UTF-8, ``JJ/MM/AAAA``, one file per quarter;
  - Parquet (3 editors): wide, ``periode`` date, counts int64, one file per quarter.
  Small OGs (1–5 ESMS, about one OG in a hundred) send their own wide XLSX, one per year.
- 36 months of the 8 base counts for every ESMS (2023-11 to 2026-10), numerators never above
  their denominators (dossiers_actifs ≤ personnes_accompagnees; avec_pp, avec_evenement,
  ins_qualifiees ≤ dossiers_actifs), so every file is accepted.

Prints progress, then the number of files, rows and bytes per format.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dui_metrics import referentiel  # noqa: E402
from dui_metrics.demo import (  # noqa: E402
    _FIXED_TIME,
    BASE_COUNTS,
    CAPACITY,
    REFERENCE_HEADER,
    _fixed_zip_times,
)
from dui_metrics.finess import luhn_check_digit, region_of_departement  # noqa: E402

SEED = 20261125
N_MONTHS = 36
FIRST_MONTH = dt.date(2023, 11, 1)
MONTHS = tuple(
    dt.date(
        FIRST_MONTH.year + (FIRST_MONTH.month - 1 + i) // 12,
        (FIRST_MONTH.month - 1 + i) % 12 + 1,
        1,
    )
    for i in range(N_MONTHS)
)
QUARTERS = tuple(range(0, N_MONTHS, 3))  # first month index of each 3-month file
LONG, WIDE_LABELS, WIDE_CODES, PARQUET, XLSX = (
    "long",
    "wide-labels",
    "wide-codes",
    "parquet",
    "xlsx",
)
# Editor, software, format. Shares of the OGs: Zipf-like, the first editors are the biggest.
EDITORS = (
    ("Logidom", "Logidom DUI 4", LONG),
    ("Médisoc", "Médisoc ESMS", WIDE_LABELS),
    ("Axiome Santé", "Axiome DUI", WIDE_CODES),
    ("Cariatide", "Cariatide Pro", PARQUET),
    ("Hestia Logiciels", "Hestia Suite", LONG),
    ("Osiris Social", "Osiris Dossier", WIDE_LABELS),
    ("Polaris", "Polaris Usager", WIDE_CODES),
    ("Sémaphore", "Sémaphore DUI", PARQUET),
    ("Tilia", "Tilia ESMS", LONG),
    ("Ubiqs", "Ubiqs Care", WIDE_LABELS),
    ("Vigie Médico-social", "Vigie DUI", WIDE_CODES),
    ("Zénith", "Zénith Dossier", PARQUET),
)
XLSX_EDITOR = ("Tableur maison", "Excel")
CATEGORIES = ("500", "183", "182", "354", "255", "246", "448", "209")
CATEGORY_WEIGHTS = (0.35, 0.12, 0.12, 0.12, 0.06, 0.1, 0.06, 0.07)
MISSING_RECUS_MONTHS = 4  # wide-labels editors: "reçus" empty in the first months


def log(message: str, start: float) -> None:
    print(f"[{time.perf_counter() - start:6.1f} s] {message}", flush=True)


def departements() -> list[str]:
    """Metropolitan départements with a numeric FINESS prefix (01–95, Corsica aside)."""
    return [f"{d:02d}" for d in range(1, 96) if d != 20]


class Population:
    """OGs and ESMS: who they are, which editor, their monthly counts (arrays ESMS × month)."""

    def __init__(self, n_esms: int, rng: np.random.Generator) -> None:
        deps = departements()
        # OG sizes 1..50, many small OGs and a few large ones (mean ≈ 13).
        sizes: list[int] = []
        while sum(sizes) < n_esms:
            sizes.append(int(min(50, max(1, round(rng.lognormal(2.0, 1.0))))))
        sizes[-1] -= sum(sizes) - n_esms
        if sizes[-1] <= 0:
            sizes.pop()
        self.n_og = len(sizes)
        og_of_esms = np.repeat(np.arange(self.n_og), sizes)
        weights = 1 / np.arange(1, len(EDITORS) + 1) ** 0.8
        og_editor = rng.choice(len(EDITORS), size=self.n_og, p=weights / weights.sum())
        # About one small OG in a hundred keeps its own spreadsheet (editor index -1).
        small = np.flatnonzero(np.asarray(sizes) <= 5)
        n_xlsx = max(3, self.n_og // 100)
        og_editor[rng.choice(small, size=min(n_xlsx, len(small)), replace=False)] = -1
        og_dep = rng.choice(len(deps), size=self.n_og)
        taken: set[str] = set()

        def new_finess(dep: str) -> str:
            while True:
                first8 = f"{dep}{int(rng.integers(10**6)):06d}"
                if first8 not in taken:
                    taken.add(first8)
                    return first8 + luhn_check_digit(first8)

        self.og_ej = [new_finess(deps[d]) for d in og_dep]
        self.og_name = [f"Organisme gestionnaire {i + 1:04d}" for i in range(self.n_og)]
        self.og_editor = og_editor
        self.og_sizes = sizes
        # Most ESMS in the OG's département, some in a neighbour's.
        esms_dep = og_dep[og_of_esms].copy()
        moved = rng.random(n_esms) < 0.15
        esms_dep[moved] = rng.choice(len(deps), size=int(moved.sum()))
        self.n = n_esms
        self.og = og_of_esms
        self.editor = og_editor[og_of_esms]
        self.dep = [deps[d] for d in esms_dep]
        self.finess = np.array([new_finess(d) for d in self.dep], dtype=object)
        self.category = rng.choice(len(CATEGORIES), size=n_esms, p=CATEGORY_WEIGHTS)
        # Deployment: most before the first month, the rest during the period; counts start
        # from month 0 anyway (exports cover the whole period), ramping with "age".
        age0 = rng.integers(-12, 30, size=n_esms)  # months since deployment at month 0
        self.deployed = [
            _add_months(FIRST_MONTH, -int(a)) + dt.timedelta(days=int(d))
            for a, d in zip(age0, rng.integers(0, 28, size=n_esms), strict=True)
        ]
        self.counts = _counts(rng, self.category, np.clip(age0, 0, None), self.editor)


def _add_months(month: dt.date, n: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + n
    return dt.date(index // 12, index % 12 + 1, 1)


def _part(total: np.ndarray, rate: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(total * rate), 0, total).astype(np.int64)


def _counts(
    rng: np.random.Generator, category: np.ndarray, age0: np.ndarray, editor: np.ndarray
) -> dict[str, np.ma.MaskedArray]:
    """The 8 base counts, arrays (ESMS, month); masked = missing (no row, empty cell)."""
    n = len(category)
    low = np.array([CAPACITY[c][0] for c in CATEGORIES])[category]
    high = np.array([CAPACITY[c][1] for c in CATEGORIES])[category]
    capacity = rng.integers(low, high + 1)[:, None]
    k = age0[:, None] + np.arange(N_MONTHS)[None, :]  # months since deployment
    rampe = rng.integers(6, 10, size=n)[:, None]
    progress = np.minimum(1.0, (k + 1) / rampe)
    shape = (n, N_MONTHS)
    personnes = np.maximum(1, capacity + rng.integers(-3, 4, size=shape))
    cible = rng.uniform(0.9, 0.97, size=(n, 1))
    actifs = _part(personnes, 0.2 + (cible - 0.2) * progress + rng.uniform(-0.02, 0.02, shape))
    pp_rate = rng.uniform(0.5, 0.9, (n, 1)) * np.minimum(1.0, (k + 1) / (rampe + 4))
    low_evt = rng.uniform(0.6, 0.75, (n, 1))
    evt_rate = low_evt + rng.uniform(0, 0.2, shape)
    ins_rate = 0.1 + (rng.uniform(0.7, 0.98, (n, 1)) - 0.1) * progress
    dmp_start = rng.integers(1, 4, size=(n, 1))
    dmp = np.where(
        k < dmp_start,
        0,
        np.maximum(
            1, np.rint(actifs * rng.uniform(0.4, 3.0, (n, 1)) * rng.uniform(0.8, 1.2, shape))
        ),
    ).astype(np.int64)
    mss_rate = rng.uniform(0.1, 0.8, (n, 1))
    mss_env = np.where(k < 1, 0, np.maximum(1, np.rint(actifs * mss_rate))).astype(np.int64)
    mss_env[rng.random(n) < 0.03] = 0  # MSSanté never used: a VA blocker
    mss_rec = np.maximum(1, np.rint(actifs * mss_rate * rng.uniform(1.1, 1.8, shape))).astype(
        np.int64
    )
    counts = {
        "personnes_accompagnees": personnes.astype(np.int64),
        "dossiers_actifs": actifs,
        "dossiers_actifs_avec_pp": _part(actifs, pp_rate),
        "dossiers_actifs_avec_evenement": _part(actifs, evt_rate),
        "ins_qualifiees": _part(actifs, ins_rate),
        "dmp_documents_envoyes": dmp,
        "mss_messages_envoyes": mss_env,
        "mss_messages_recus": mss_rec,
    }
    out = {code: np.ma.MaskedArray(v, mask=np.zeros(shape, bool)) for code, v in counts.items()}
    old_software = np.isin(editor, [i for i, e in enumerate(EDITORS) if e[2] == WIDE_LABELS])
    out["mss_messages_recus"].mask[old_software, :MISSING_RECUS_MONTHS] = True
    assert (out["dossiers_actifs"] <= out["personnes_accompagnees"]).all()
    for code in ("dossiers_actifs_avec_pp", "dossiers_actifs_avec_evenement", "ins_qualifiees"):
        assert (out[code] <= out["dossiers_actifs"]).all()
    return out


# --- writers ---------------------------------------------------------------------------------


def _block(pop: Population, rows: np.ndarray, months: range) -> tuple[np.ndarray, np.ndarray]:
    """(ESMS index, month index) of a file's rows, ordered by month then FINESS."""
    order = rows[np.argsort(pop.finess[rows])]
    m = np.repeat(np.array(months), len(order))
    e = np.tile(order, len(months))
    return e, m


def _csv_bytes(table: pa.Table, sep: str, eol: str) -> bytes:
    sink = io.BytesIO()
    options = pacsv.WriteOptions(include_header=False, delimiter=sep, eol=eol, quoting_style="none")
    pacsv.write_csv(table, sink, options)
    return sink.getvalue()


def write_long(path: Path, pop: Population, e: np.ndarray, m: np.ndarray, labels) -> int:
    """Long form, `;`, Windows-1252, CRLF, MM/AAAA, French labels (as Logidom in the demo)."""
    periods = np.array([f"{d:%m/%Y}" for d in MONTHS], dtype=object)
    parts = []
    for code in BASE_COUNTS:
        values = pop.counts[code][e, m]
        keep = ~np.ma.getmaskarray(values)
        parts.append((keep, code, values.data))
    # Row order: month, FINESS, then indicator (interleave the 8 blocks).
    n = len(e)
    idx = np.arange(n)
    finess_col, period_col, label_col, value_col, order_col = [], [], [], [], []
    for j, (keep, code, values) in enumerate(parts):
        finess_col.append(pop.finess[e[keep]])
        period_col.append(periods[m[keep]])
        label_col.append(np.full(int(keep.sum()), labels[code], dtype=object))
        value_col.append(values[keep])
        order_col.append(idx[keep] * 8 + j)
    order = np.argsort(np.concatenate(order_col), kind="stable")
    table = pa.table(
        {
            "f": pa.array(np.concatenate(finess_col)[order], pa.string()),
            "p": pa.array(np.concatenate(period_col)[order], pa.string()),
            "i": pa.array(np.concatenate(label_col)[order], pa.string()),
            "v": pa.array(np.concatenate(value_col)[order], pa.int64()),
        }
    )
    header = "FINESS ET;Période;Indicateur;Valeur\r\n"
    text = header + _csv_bytes(table, ";", "\r\n").decode("utf-8")
    path.write_bytes(text.encode("cp1252"))
    return table.num_rows


def _wide_table(pop: Population, e: np.ndarray, m: np.ndarray, periods: pa.Array) -> dict:
    columns = {"finess_et": pa.array(pop.finess[e], pa.string()), "periode": periods}
    for code in BASE_COUNTS:
        values = pop.counts[code][e, m]
        columns[code] = pa.array(values.data, pa.int64(), mask=np.ma.getmaskarray(values))
    return columns


def write_wide_csv(
    path: Path, pop, e, m, labels, *, sep: str, period_format: str, encoding: str
) -> int:
    periods = np.array([d.strftime(period_format) for d in MONTHS], dtype=object)
    table = pa.table(_wide_table(pop, e, m, pa.array(periods[m], pa.string())))
    if labels:
        header = ["FINESS ET", "Période", *(labels[c] for c in BASE_COUNTS)]
    else:
        header = ["finess_et", "periode", *BASE_COUNTS]
    body = _csv_bytes(table, sep, "\n")
    path.write_bytes((sep.join(header) + "\n").encode(encoding) + body)
    return int(sum(table.column(c).length() - table.column(c).null_count for c in BASE_COUNTS))


def write_parquet(path: Path, pop, e, m) -> int:
    periods = pa.array(np.array(MONTHS, dtype=object)[m], pa.date32())
    table = pa.table(_wide_table(pop, e, m, periods))
    pq.write_table(table, path)
    return int(sum(table.column(c).length() - table.column(c).null_count for c in BASE_COUNTS))


def write_xlsx(path: Path, pop, e, m, labels) -> int:
    """A small OG's own spreadsheet: wide, French headers, real dates in `Période`."""
    import zipfile

    import openpyxl
    from openpyxl.packaging.core import DocumentProperties
    from openpyxl.writer.excel import ExcelWriter

    wb = openpyxl.Workbook(write_only=True)
    wb.properties = DocumentProperties(
        creator="bench/national.py", created=_FIXED_TIME, modified=_FIXED_TIME
    )
    ws = wb.create_sheet("Usages")
    ws.append(["FINESS ET", "Période", *(labels[c] for c in BASE_COUNTS)])
    for esms, month in zip(e.tolist(), m.tolist(), strict=True):
        ws.append(
            [pop.finess[esms], MONTHS[month]]
            + [int(pop.counts[c].data[esms, month]) for c in BASE_COUNTS]
        )
    # As in demo.py: ExcelWriter (save() stamps the current time) and fixed zip entry times.
    buffer = io.BytesIO()
    ExcelWriter(wb, zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED)).save()
    path.write_bytes(_fixed_zip_times(buffer.getvalue()))
    return len(e) * len(BASE_COUNTS)


def write_reference(path: Path, pop: Population) -> int:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\n")
    writer.writerow(REFERENCE_HEADER)
    for i in range(pop.n):
        og = int(pop.og[i])
        ed = int(pop.editor[i])
        editor, software = XLSX_EDITOR if ed < 0 else EDITORS[ed][:2]
        writer.writerow(
            [
                pop.finess[i],
                pop.og_ej[og],
                f"{_category_name(CATEGORIES[pop.category[i]])} {i + 1:05d}",
                pop.og_name[og],
                CATEGORIES[pop.category[i]],
                pop.dep[i],
                region_of_departement(pop.dep[i])[0],
                editor,
                software,
                f"BC-{og:04d}-{ed % 100:02d}",
                f"{pop.deployed[i]:%d/%m/%Y}",
            ]
        )
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return pop.n


def _category_name(code: str) -> str:
    return {
        "500": "EHPAD",
        "183": "IME",
        "182": "SESSAD",
        "354": "SSIAD",
        "255": "MAS",
        "246": "ESAT",
        "448": "EAM",
        "209": "SAD",
    }[code]


def generate(folder: Path, n_esms: int) -> None:
    start = time.perf_counter()
    if ROOT in folder.resolve().parents or folder.resolve() == ROOT:
        sys.exit(f"refusé : {folder} est dans le dépôt ; choisissez un dossier hors du dépôt")
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.iterdir():
        if old.is_file():
            old.unlink()
    rng = np.random.default_rng(SEED)
    pop = Population(n_esms, rng)
    labels = {i.code: i.label for i in referentiel.default().counts}
    log(f"{pop.n} ESMS, {pop.n_og} OG (1–{max(pop.og_sizes)} ESMS), counts generated", start)
    stats: dict[str, list[int]] = {}

    def done(kind: str, path: Path, rows: int) -> None:
        s = stats.setdefault(kind, [0, 0, 0])
        s[0] += 1
        s[1] += rows
        s[2] += path.stat().st_size

    done(
        "reference",
        folder / "etablissements.csv",
        write_reference(folder / "etablissements.csv", pop),
    )
    log("etablissements.csv written", start)
    for ed, (name, _, kind) in enumerate(EDITORS):
        rows = np.flatnonzero(pop.editor == ed)
        if len(rows) == 0:
            continue
        slug = name.split()[0].lower().replace("é", "e")
        if kind == LONG:
            for mi, month in enumerate(MONTHS):
                e, m = _block(pop, rows, range(mi, mi + 1))
                path = folder / f"{slug}_usages_{month:%Y-%m}.csv"
                done(kind, path, write_long(path, pop, e, m, labels))
        else:
            for q in QUARTERS:
                e, m = _block(pop, rows, range(q, q + 3))
                tag = f"{MONTHS[q]:%Y-%m}_{MONTHS[q + 2]:%Y-%m}"
                if kind == PARQUET:
                    path = folder / f"{slug}_export_{tag}.parquet"
                    done(kind, path, write_parquet(path, pop, e, m))
                elif kind == WIDE_LABELS:
                    path = folder / f"{slug}_export_{tag}.csv"
                    done(
                        kind,
                        path,
                        write_wide_csv(
                            path,
                            pop,
                            e,
                            m,
                            labels,
                            sep="\t",
                            period_format="%Y-%m",
                            encoding="utf-8-sig",
                        ),
                    )
                else:
                    path = folder / f"{slug}_export_{tag}.csv"
                    done(
                        kind,
                        path,
                        write_wide_csv(
                            path,
                            pop,
                            e,
                            m,
                            None,
                            sep=";",
                            period_format="%d/%m/%Y",
                            encoding="utf-8",
                        ),
                    )
        log(f"{name} ({kind}, {len(rows)} ESMS) written", start)
    for og in np.flatnonzero(pop.og_editor == -1):
        rows = np.flatnonzero(pop.og == og)
        for year_start in range(0, N_MONTHS, 12):
            e, m = _block(pop, rows, range(year_start, year_start + 12))
            path = folder / f"og_{pop.og_ej[og]}_usages_{MONTHS[year_start]:%Y-%m}.xlsx"
            done(XLSX, path, write_xlsx(path, pop, e, m, labels))
    log(f"{int((pop.og_editor == -1).sum())} small OGs' XLSX written", start)
    print(f"\n{'format':<12} {'files':>6} {'long rows':>12} {'MiB':>9}")
    total = [0, 0, 0]
    for kind, (files, rows, size) in stats.items():
        print(f"{kind:<12} {files:>6} {rows:>12,} {size / 2**20:>9.1f}")
        total = [total[0] + files, total[1] + rows, total[2] + size]
    print(f"{'total':<12} {total[0]:>6} {total[1]:>12,} {total[2] / 2**20:>9.1f}")
    log(f"done: {folder}", start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", nargs="?", type=Path, default=Path("/tmp/dui-national"))
    parser.add_argument("--esms", type=int, default=40_000, help="number of ESMS (default 40,000)")
    args = parser.parse_args()
    generate(args.folder, args.esms)


if __name__ == "__main__":
    main()
