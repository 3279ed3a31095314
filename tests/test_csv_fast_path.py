"""The CSV fast paths (pyarrow) read exactly what the csv module path reads.

``read_csv`` takes ``read_plain_csv`` (pyarrow's CSV parser) when a file is plain, else
``read_simple_csv`` (pyarrow string kernels) when it is simple, else ``read_csv_text`` (the csv
module, which words every problem). All must give the same headers, cells, line numbers and
encoding label: the fast paths are optimisations, never a second reading of the rules.
"""

from __future__ import annotations

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dui_metrics.errors import ExportError
from dui_metrics.ingest.readers import (
    _is_simple,
    read_csv,
    read_csv_text,
    read_plain_csv,
    read_simple_csv,
    sniff_separator,
)

# Cells made of what real exports hold; some files also hold characters that send them to the
# csv module path (quote, no-break space).
USUAL = "09AB-/ \t,;éÉx"
UNUSUAL = USUAL + '\xa0"\r'  # a CR alone ends a line for the csv module
NEWLINE = st.sampled_from(["\n", "\r\n"])


@st.composite
def csv_texts(draw) -> tuple[str, str]:
    sep = draw(st.sampled_from([";", "\t", ","]))
    cell = st.text(alphabet=draw(st.sampled_from([USUAL, USUAL, USUAL, UNUSUAL])), max_size=6)
    width = draw(st.integers(1, 4))
    header = [draw(st.text(alphabet="abcdéf_ ", min_size=1, max_size=5)) for _ in range(width)]
    lines = [sep.join(header)]
    for _ in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(["row"] * 6 + ["blank", "short", "long"]))
        if kind == "blank":
            lines.append(draw(st.sampled_from(["", " ", sep * 2, " \t"])))
            continue
        n = {"row": width, "short": max(width - 1, 1), "long": width + 1}[kind]
        lines.append(sep.join(draw(cell) for _ in range(n)))
    newline = draw(NEWLINE)
    text = newline.join(lines) + draw(st.sampled_from(["", newline]))
    if draw(st.booleans()):
        text = draw(st.sampled_from(["\n", " \n", "\r\n"])) + text  # leading blank line
    return text, sep


def _slow(text: str, sep: str):
    try:
        return read_csv_text(text, sep, "f.csv", "UTF-8")
    except ExportError:
        return None


def _same(fast, slow) -> None:
    assert fast.headers == slow.headers
    assert fast.encoding == slow.encoding
    assert fast.table.schema == slow.table.schema
    assert fast.table.equals(slow.table)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(csv_texts())
def test_fast_path_reads_what_the_csv_module_reads(case):
    text, sep = case
    fast = read_simple_csv(text, sep, "f.csv", "UTF-8")
    if fast is None:
        return  # not simple: the csv module path is the only reader
    slow = _slow(text, sep)
    assert slow is not None, "the fast path accepted a file the csv module path refuses"
    _same(fast, slow)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(csv_texts())
def test_plain_path_reads_what_the_csv_module_reads(case):
    text, sep = case
    if not _is_simple(text):
        return  # read_csv never offers such a text to the plain path
    plain = read_plain_csv(text, sep, "f.csv", "UTF-8")
    if plain is None:
        return
    slow = _slow(text, sep)
    assert slow is not None, "the plain path accepted a file the csv module path refuses"
    _same(plain, slow)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(csv_texts())
def test_read_csv_whatever_the_path_taken(tmp_path_factory, case):
    text, sep = case
    path = tmp_path_factory.mktemp("csv") / "f.csv"
    path.write_bytes(text.encode("utf-8"))
    # The separator is sniffed from the first non-blank line (see sniff_separator).
    lines = [ln for ln in text.splitlines() if ln.strip()]
    try:
        got = read_csv(path, "f.csv")
    except ExportError as exc:
        got = exc
    try:
        want = read_csv_text(text, sniff_separator(lines[0] if lines else ""), "f.csv", "UTF-8")
    except ExportError as exc:
        assert isinstance(got, ExportError)
        assert got.problems == exc.problems
        return
    assert not isinstance(got, ExportError), got
    _same(got, want)


def test_fast_path_on_a_usual_export_by_hand():
    text = (
        "\r\nFINESS ET;Période;Indicateur;Valeur;\r\n"
        "690000013;03/2025;Dossiers actifs;62;\r\n"
        " ; ; \r\n"
        "690000013 ;04/2025; Dossiers actifs;\r\n"
    )
    raw = read_simple_csv(text, ";", "f.csv", "Windows-1252")
    assert raw is not None
    assert raw.headers == ["FINESS ET", "Période", "Indicateur", "Valeur"]
    assert raw.encoding == "Windows-1252, « ; »"
    assert raw.table.column("_line").to_pylist() == [3, 5]
    assert raw.table.column("c0").to_pylist() == ["690000013", "690000013"]
    assert raw.table.column("c2").to_pylist() == ["Dossiers actifs", "Dossiers actifs"]
    assert raw.table.column("c3").to_pylist() == ["62", None]
    assert raw.table.column("c3").type == pa.string()


@pytest.mark.parametrize(
    "text",
    [
        'finess_et;periode;valeur\n"690000013";2025-03;5\n',  # quotes: the csv module decides
        "finess_et;periode;valeur\n690000013;2025-03;1\xa0062\n",  # no-break space
        "finess_et;periode;valeur\r690000013;2025-03;5\r",  # lone CR line ends
        "finess_et;periode;valeur\n690000013;2025-03;5\r6\n",  # a CR alone within a line
        "finess_et;periode;valeur\r\n690000013;2025-03;5\r",  # a CR alone at the very end
        "finess_et;periode;valeur\n690000013;2025-03\n",  # short row: a worded problem
        "finess_et;periode;valeur\n690000013;2025-03;5;x\n",  # extra non-blank cell
        "finess_et;periode;valeur\n",  # header only
    ],
)
def test_unusual_files_take_the_csv_module_path(text):
    assert read_simple_csv(text, ";", "f.csv", "UTF-8") is None


def test_plain_path_on_a_usual_export_by_hand():
    text = (
        "FINESS ET;Période;Indicateur;Valeur;\r\n"
        "690000013;03/2025;Dossiers actifs;62;\r\n"
        " ; ; ; ;\r\n"
        "690000013 ;04/2025; Dossiers actifs;\t;\r\n"
    )
    assert _is_simple(text)
    raw = read_plain_csv(text, ";", "f.csv", "Windows-1252")
    assert raw is not None
    assert raw.headers == ["FINESS ET", "Période", "Indicateur", "Valeur"]
    assert raw.encoding == "Windows-1252, « ; »"
    assert raw.table.column_names == ["c0", "c1", "c2", "c3", "_line"]
    assert raw.table.column("_line").to_pylist() == [2, 4]
    assert raw.table.column("c0").to_pylist() == ["690000013", "690000013"]
    assert raw.table.column("c2").to_pylist() == ["Dossiers actifs", "Dossiers actifs"]
    assert raw.table.column("c3").to_pylist() == ["62", None]


@pytest.mark.parametrize(
    "text",
    [
        "finess_et;periode;valeur\n\n690000013;2025-03;5\n",  # empty line: numbers shift
        "\nfiness_et;periode;valeur\n690000013;2025-03;5\n",  # header not on line 1
        "finess_et;periode;valeur\n690000013;2025-03\n",  # a line of another width
        "finess_et;periode;valeur;\n690000013;2025-03;5;x\n",  # extra non-blank cell
    ],
)
def test_irregular_files_leave_the_plain_path(text):
    assert read_plain_csv(text, ";", "f.csv", "UTF-8") is None
