"""Properties of the indicators over generated exports (Hypothesis).

Each example writes its own CSV files in a fresh temporary folder and ingests them into a fresh
in-memory store, so examples never share state. Generated counts respect numerator <= denominator
within a month (what ingestion accepts); any indicator may be missing in any month.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections import defaultdict
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dui_metrics import indicators, referentiel
from dui_metrics.ingest import LOADED, SKIPPED, describe, ingest_paths
from dui_metrics.store import Store

REF = referentiel.default()
SETTINGS = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

OG_OF = {  # Luhn-valid FINESS numbers, two OGs
    "010000016": "010000099",
    "010000024": "010000099",
    "010000032": "010000099",
    "750000010": "750001000",
    "750000028": "750001000",
}
MONTHS = ["2025-01", "2025-02", "2025-03", "2025-04"]
DU, AU = dt.date(2025, 1, 1), dt.date(2025, 4, 1)
COUNT_CODES = [c.code for c in REF.counts]
REFERENCE_TEXT = "finess_et;finess_ej;raison_sociale\n" + "".join(
    f"{et};{ej};ESMS {et}\n" for et, ej in OG_OF.items()
)


@st.composite
def month_counts(draw) -> dict[str, int]:
    """Counts of one ESMS and month: a non-empty subset of the 8 base counts, numerators
    never above their denominators (personnes >= dossiers_actifs >= pp, evenement, ins)."""
    personnes = draw(st.integers(0, 60))
    actifs = draw(st.integers(0, personnes))
    values = {
        "personnes_accompagnees": personnes,
        "dossiers_actifs": actifs,
        "dossiers_actifs_avec_pp": draw(st.integers(0, actifs)),
        "dossiers_actifs_avec_evenement": draw(st.integers(0, actifs)),
        "ins_qualifiees": draw(st.integers(0, actifs)),
        "dmp_documents_envoyes": draw(st.integers(0, 5000)),
        "mss_messages_envoyes": draw(st.integers(0, 50)),
        "mss_messages_recus": draw(st.integers(0, 50)),
    }
    present = draw(st.sets(st.sampled_from(COUNT_CODES), min_size=1))
    return {code: value for code, value in values.items() if code in present}


usage_rows = st.dictionaries(
    keys=st.tuples(st.sampled_from(sorted(OG_OF)), st.sampled_from(MONTHS)),
    values=month_counts(),
    min_size=1,
    max_size=10,
).map(
    lambda data: [
        (finess_et, periode, code, value)
        for (finess_et, periode), counts in sorted(data.items())
        for code, value in counts.items()
    ]
)


def long_csv(rows, header: str = "finess_et;periode;indicateur;valeur") -> str:
    return "\n".join([header, *(";".join(map(str, r)) for r in rows)]) + "\n"


def ingest(store: Store, *paths: Path) -> list:
    results = ingest_paths(store, list(paths), REF)
    assert all(r.ok for r in results), [describe(r) for r in results]
    return results


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_bytes(text.encode("utf-8"))
    return path


def in_unit_interval_or_none(value) -> bool:
    return value is None or pd.isna(value) or 0.0 <= float(value) <= 1.0


@SETTINGS
@given(rows=usage_rows)
def test_monthly_rates_in_unit_interval_or_none(rows):
    with tempfile.TemporaryDirectory() as tmp, Store(":memory:") as store:
        results = ingest(store, write(Path(tmp), "usages.csv", long_csv(rows)))
        assert [r.status for r in results] == [LOADED]
        rates = [r for r in indicators.monthly(store, REF) if r[6]]
        for finess_et, periode, code, valeur, num, den, _ in rates:
            assert in_unit_interval_or_none(valeur), (finess_et, periode, code, num, den)
            # None exactly when the denominator is 0
            assert (valeur is None) == (den == 0)


@SETTINGS
@given(rows=usage_rows)
def test_period_and_rollup_rates_in_unit_interval_or_none(rows):
    with tempfile.TemporaryDirectory() as tmp, Store(":memory:") as store:
        folder = Path(tmp)
        ingest(
            store,
            write(folder, "etablissements.csv", REFERENCE_TEXT),
            write(folder, "usages.csv", long_csv(rows)),
        )
        period = indicators.period_values(store, REF, DU, AU)
        for row in period[period.est_taux].itertuples(index=False):
            assert in_unit_interval_or_none(row.valeur), (
                f"{row.finess_et} {row.indicateur} over 01..04/2025 = "
                f"{row.numerateur} / {row.denominateur} = {row.valeur}"
            )
        rolled = indicators.rollup(store, REF, "og", DU, AU)
        rate_codes = set(REF.rate_codes)
        for row in rolled[rolled.indicateur.isin(rate_codes)].itertuples(index=False):
            for value in (row.valeur, row.q1, row.mediane, row.q3):
                assert in_unit_interval_or_none(value), (row.groupe, row.indicateur, value)


@SETTINGS
@given(rows=usage_rows)
def test_og_rollup_equals_sum_of_its_esms(rows):
    with tempfile.TemporaryDirectory() as tmp, Store(":memory:") as store:
        folder = Path(tmp)
        ingest(
            store,
            write(folder, "etablissements.csv", REFERENCE_TEXT),
            write(folder, "usages.csv", long_csv(rows)),
        )
        period = indicators.period_values(store, REF, DU, AU)
        expected: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
        for row in period.itertuples(index=False):
            total = expected[(OG_OF[row.finess_et], row.indicateur)]
            if row.est_taux:
                total[1] += int(row.numerateur)
                total[2] += int(row.denominateur)
            else:
                total[0] += int(row.valeur)
            total[3] += 1  # nb_esms
        rolled = indicators.rollup(store, REF, "og", DU, AU)
        got = {}
        for row in rolled.itertuples(index=False):
            if row.indicateur in REF.rate_codes:
                got[(row.groupe, row.indicateur)] = [
                    0,
                    int(row.numerateur),
                    int(row.denominateur),
                    int(row.nb_esms),
                ]
            else:
                got[(row.groupe, row.indicateur)] = [int(row.valeur), 0, 0, int(row.nb_esms)]
        # counts: OG value = sum of its ESMS period values; rates: OG numerator and
        # denominator = sums of its ESMS period numerators and denominators
        assert got == dict(expected)


@SETTINGS
@given(rows=usage_rows)
def test_reingesting_same_content_is_idempotent(rows):
    with tempfile.TemporaryDirectory() as tmp, Store(":memory:") as store:
        folder = Path(tmp)
        text = long_csv(rows)
        first = ingest(store, write(folder, "usages.csv", text))
        assert [r.status for r in first] == [LOADED]
        before = indicators.monthly(store, REF)

        # same bytes under another name: skipped as already imported
        copy = ingest(store, write(folder, "usages-copie.csv", text))
        assert [r.status for r in copy] == [SKIPPED]
        assert indicators.monthly(store, REF) == before

        # same values, new bytes (rows reversed, French headers): loaded, nothing changes
        reordered = long_csv(rows[::-1], header="FINESS ET;Période;Indicateur;Valeur")
        assert reordered != text
        again = ingest(store, write(folder, "usages-bis.csv", reordered))
        assert [r.status for r in again] == [LOADED]
        assert again[0].rows_loaded == len(rows)
        assert indicators.monthly(store, REF) == before
