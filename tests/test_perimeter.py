"""The perimeter in the library (issue 16): every public function returning ESMS data takes
``perimeter=`` and returns nothing of an ESMS outside it, for each role.

`test_every_function_returning_esms_data_takes_the_perimeter` lists the library's public
functions whose first parameter is the store: a new one without the perimeter fails it,
unless it is named in `EXEMPT` with the reason. The others call each function of `CALLS` on a
real DuckDB store (6 ESMS in 2 OGs, 2 régions, 2 editors, one ESMS known from usage only:
tests/test_access.py) as each user of its access file, and look for every outsider's FINESS
and name in everything returned.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

import dui_metrics
from dui_metrics import (
    access,
    compare,
    drilldown,
    evidence,
    indicators,
    overview,
    quality,
    uploads,
    va,
)
from dui_metrics.access import OutsidePerimeter
from dui_metrics.store import Store
from tests.conftest import build_store
from tests.test_access import (
    E1,
    E2,
    E3,
    E4,
    E5,
    E6,
    E7,
    EXPECTED,
    OG_A,
    OG_B,
    REFERENCE,
    ROLE_FILE,
    usage_csv,
    write,
)

NAMES = {
    E1: "EHPAD Un",
    E2: "IME Deux",
    E3: "SSIAD Trois",
    E4: "EHPAD Quatre",
    E5: "MAS Cinq",
    E6: "FAM Six",
}
EVERY_ESMS = (E1, E2, E3, E4, E5, E6, E7)
UNKNOWN = "130000029"  # a FINESS in no file: what a user learns of an ESMS they may not see
MARCH = dt.date(2025, 3, 1)

# Public functions whose first parameter is the store and that need no perimeter, with why.
EXEMPT = {
    "dui_metrics.access.perimeter_of": "computes the perimeter itself",
    "dui_metrics.access.for_user": "computes the perimeter itself",
    "dui_metrics.access.scoped": "applies the perimeter",
    "dui_metrics.access.scoped_cursor": "applies the perimeter",
    "dui_metrics.indicators.register_definitions": "the référentiel's definitions, no ESMS",
    "dui_metrics.va.va_window": "the store's calendar: the same VA window for every viewer",
    "dui_metrics.records.count_base": "ingestion: counts the records of a file being imported",
}
# Ingestion: these modules write the store from files, and serve no user.
WRITERS = ("dui_metrics.ingest", "dui_metrics.records_store", "dui_metrics.writer")


def _store_functions() -> dict[str, object]:
    found = {}
    for info in pkgutil.walk_packages(dui_metrics.__path__, "dui_metrics."):
        if info.name.startswith(WRITERS) or info.name in ("dui_metrics.ui", "dui_metrics.login"):
            continue  # ui and login read through ui.store(), scoped to the session's perimeter
        module = importlib.import_module(info.name)
        for name, func in vars(module).items():
            if name.startswith("_") or not inspect.isfunction(func):
                continue
            if func.__module__ != info.name:
                continue
            params = list(inspect.signature(func).parameters)
            if params and params[0] in ("store", "cur", "cursor", "con"):
                found[f"{info.name}.{name}"] = func
    return found


def test_every_function_returning_esms_data_takes_the_perimeter() -> None:
    functions = _store_functions()
    without = sorted(
        name
        for name, func in functions.items()
        if name not in EXEMPT
        and not (
            getattr(func, "takes_perimeter", False)
            and "perimeter" in inspect.signature(func).parameters
        )
    )
    assert without == [], f"functions returning ESMS data without the perimeter: {without}"
    # Every one is exercised below, as each user.
    tested = {f"{f.__module__}.{f.__name__}" for f in CALLS}
    assert sorted(set(functions) - set(EXEMPT) - tested) == []
    assert sorted(name for name in EXEMPT if name not in functions) == []  # no stale exemption


# function → its arguments after the store (ref is the référentiel fixture).
CALLS = {
    compare.esms_frame: lambda ref: ((), {}),
    compare.filter_options: lambda ref: ((ref,), {}),
    compare.perimeter_spans_several_ogs: lambda ref: ((ref,), {}),
    compare.esms_rates: lambda ref: ((ref, MARCH, MARCH, "taux_dossiers_actifs"), {}),
    compare.rate_frame: lambda ref: ((ref, MARCH, MARCH, "taux_dossiers_actifs"), {}),
    evidence.build_pack: lambda ref: ((ref, OG_B), {"au": MARCH}),
    indicators.monthly: lambda ref: ((ref,), {}),
    indicators.monthly_arrow: lambda ref: ((ref,), {}),
    indicators.monthly_frame: lambda ref: ((ref,), {}),
    indicators.period_values: lambda ref: ((ref, MARCH, MARCH), {}),
    indicators.period_rates: lambda ref: ((ref, MARCH, MARCH), {}),
    indicators.esms_dimensions: lambda ref: ((ref,), {}),
    indicators.rollup: lambda ref: ((ref, "og", MARCH, MARCH), {}),
    indicators.trends: lambda ref: ((ref,), {}),
    indicators.monthly_rollup: lambda ref: ((ref, None, MARCH, MARCH), {}),
    indicators.scope_rollup: lambda ref: ((ref, OG_B), {"du": MARCH, "au": MARCH}),
    indicators.freshness: lambda ref: ((ref,), {}),
    indicators.peer_percentiles: lambda ref: ((ref, E1, MARCH, MARCH), {}),
    indicators.monthly_export_batches: lambda ref: ((ref,), {}),
    overview.store_overview: lambda ref: ((ref,), {}),
    overview.editors: lambda ref: ((ref,), {}),
    quality.flags: lambda ref: ((ref,), {}),
    uploads.history: lambda ref: ((ref,), {}),
    uploads.quality_flags: lambda ref: ((ref,), {}),
    va.readiness: lambda ref: ((ref, MARCH), {}),
    va.readiness_table: lambda ref: ((ref, MARCH), {}),
}
# Functions about one ESMS: called for each ESMS, and for a FINESS in no file.
PER_ESMS = {
    drilldown.has_records: lambda ref, code: ((code,), {}),
    drilldown.known_esms: lambda ref, code: ((code,), {}),
    drilldown.missing_dossiers: lambda ref, code: ((ref, code, MARCH, "ins"), {}),
    drilldown.month_sources: lambda ref, code: ((code,), {}),
    drilldown.record_status: lambda ref, code: ((ref, code), {}),
}
CALLS.update({f: None for f in PER_ESMS})


def as_text(result: object) -> str:
    """Everything ``result`` holds, as text (frames and Arrow data in full)."""
    if isinstance(result, pa.RecordBatchReader):
        result = result.read_all()
    if isinstance(result, pa.Table):
        result = result.to_pandas()
    if isinstance(result, pd.DataFrame):
        if not isinstance(result.index, pd.RangeIndex):
            result = result.reset_index()
        return result.to_csv(index=False)
    if dataclasses.is_dataclass(result) and not isinstance(result, type):
        return " ".join(as_text(getattr(result, f.name)) for f in dataclasses.fields(result))
    if isinstance(result, dict):
        return " ".join(f"{as_text(k)}={as_text(v)}" for k, v in result.items())
    if isinstance(result, (list, tuple, set, frozenset)):
        return " ".join(as_text(item) for item in result)
    return repr(result)


OG_OF = {E1: OG_A, E2: OG_A, E3: OG_A, E4: OG_B, E5: OG_B, E6: OG_B}
OG_NAMES = {OG_A: "OG A", OG_B: "OG B"}


def outsiders(text: str, seen: set[str]) -> list[str]:
    """FINESS and names of ESMS outside ``seen`` that ``text`` holds, and the FINESS EJ and
    names of OGs none of whose ESMS is in ``seen``."""
    found = [code for code in EVERY_ESMS if code not in seen and code in text]
    found += [name for code, name in NAMES.items() if code not in seen and name in text]
    for og, name in OG_NAMES.items():
        if not any(OG_OF[code] == og for code in seen):
            found += [marker for marker in (og, name) if marker in text]
    return found


def only(text: str, codes: set[str]) -> str:
    """The CSV ``text`` with its header and the lines of ``codes`` only."""
    head, *lines = text.splitlines(keepends=True)
    return head + "".join(line for line in lines if line.split(";", 1)[0] in codes)


@pytest.fixture(scope="module")
def stores(tmp_path_factory) -> dict[str, Path]:
    """The whole store (key ""), and per user a store holding only its perimeter's rows."""
    folder = tmp_path_factory.mktemp("perimeter")
    built = {"": build_store(folder / "all", REFERENCE, usage_csv())}
    for n, (email, codes) in enumerate(EXPECTED.items()):
        if codes:
            built[email] = build_store(
                folder / f"u{n}", only(REFERENCE, codes), only(usage_csv(), codes)
            )
    return built


@pytest.fixture(scope="module")
def perimeters(stores, tmp_path_factory) -> dict[str, access.Perimeter]:
    path = write(tmp_path_factory.mktemp("acces"), ROLE_FILE)
    with Store(stores[""], read_only=True) as store:
        return {email: access.for_user(store, path, email) for email in EXPECTED}


USERS = [pytest.param(e, id=e.split("@")[0]) for e in EXPECTED]
FUNCTIONS = [pytest.param(f, id=f"{f.__module__.split('.')[-1]}.{f.__name__}") for f in CALLS]
# Checked for outsiders only: the evidence pack holds its own time and digest; the import log
# lists each file holding an ESMS of the perimeter as it was imported (its rows, its digest).
NOT_COMPARED = {evidence.build_pack, uploads.history}


@pytest.mark.parametrize("func", [f for f in FUNCTIONS if f.values[0] not in PER_ESMS])
@pytest.mark.parametrize("email", USERS)
def test_each_function_returns_only_the_perimeter(
    stores, perimeters, ref, email: str, func
) -> None:
    """Nothing of an outsider in the result; and the result is the function's on a store that
    holds only the perimeter's rows (so totals, counts of ESMS, medians and quartiles are
    the perimeter's: a total cannot be worked back into an outsider's value)."""
    perimeter, seen = perimeters[email], EXPECTED[email]
    args, kwargs = CALLS[func](ref)
    with Store(stores[""], read_only=True) as store:
        everything = as_text(func(store, *args, **kwargs))
        try:
            result = as_text(func(store, *args, **kwargs, perimeter=perimeter))
        except OutsidePerimeter as exc:  # the evidence pack of an OG the user cannot see
            assert func is evidence.build_pack and not (seen & {E4, E5, E6}), str(exc)
            return
    assert outsiders(result, seen) == []
    if email in stores and func not in NOT_COMPARED:
        with Store(stores[email], read_only=True) as alone:
            expected = as_text(func(alone, *args, **kwargs))
        assert sorted(comparable(result)) == sorted(comparable(expected))
    if email == "directrice@og-a.example" and func is not uploads.history:
        # The whole store's result differs: the checks above can fail. (The import log is
        # the same: each of its two files holds ESMS of every user.)
        assert everything != result


def comparable(text: str) -> list[str]:
    """The lines of ``text`` without the import times and the stores' folders."""
    text = re.sub(r"datetime\.datetime\([^)]*\)", "TIME", text)
    text = re.sub(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(\.\d+)?", "TIME", text)
    text = re.sub(r"\d\d/\d\d/\d{4} \d\d:\d\d", "TIME", text)
    return re.sub(r"/perimeter\d*/(all|u\d+)/", "/STORE/", text).splitlines()


@pytest.mark.parametrize("func", [f for f in FUNCTIONS if f.values[0] in PER_ESMS])
@pytest.mark.parametrize("email", USERS)
def test_an_esms_outside_the_perimeter_reads_as_unknown(
    stores,
    perimeters,
    ref,
    email: str,
    func,
) -> None:
    """Asked about an ESMS outside the perimeter, a function refuses (OutsidePerimeter) or
    answers exactly as for a FINESS in no file: nothing tells whether it exists."""
    perimeter, seen = perimeters[email], EXPECTED[email]
    with Store(stores[""], read_only=True) as store:

        def answer(code: str) -> str:
            args, kwargs = PER_ESMS[func](ref, code)
            try:
                return as_text(func(store, *args, **kwargs, perimeter=perimeter)).replace(
                    code, "CODE"
                )
            except OutsidePerimeter:
                return "refusé"

        unknown = answer(UNKNOWN)
        for code in EVERY_ESMS:
            if code not in seen:
                assert answer(code) in (unknown, "refusé"), code
        # Inside the perimeter the ESMS is known (or there is none to ask about).
        if func is drilldown.known_esms:
            assert all(answer(code) == "True" for code in seen)
            assert unknown == "False"


def test_scoped_store_keeps_the_store_calendar(stores, perimeters) -> None:
    """An empty perimeter sees no ESMS, yet the same months: the VA window is the store's."""
    nobody = perimeters["nulle-part@og-c.example"]
    with Store(stores[""], read_only=True) as store:
        with access.scoped(store, nobody) as seen:
            assert seen.scalar("select count(*) from usage") == 0
            assert seen.scalar("select count(*) from establishments") == 0
            assert seen.scalar("select count(*) from imports") == 0
            assert seen.months() == [MARCH] and seen.latest_month() == MARCH
        # the store itself is untouched: 7 ESMS × 5 indicators
        assert store.scalar("select count(*) from usage") == 35


def test_arrow_stream_is_read_after_the_scope_is_left(stores, perimeters, ref) -> None:
    og_a = perimeters["directrice@og-a.example"]
    with Store(stores[""], read_only=True) as store:
        reader = indicators.monthly_export_batches(store, ref, batch_rows=1, perimeter=og_a)
        codes = {row["finess_et"] for batch in reader for row in batch.to_pylist()}
    assert codes == {E1, E2, E3}
