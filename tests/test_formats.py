"""dui_metrics.formats: French numbers and rates, rounded as a spreadsheet shows them.

Expected texts worked out by hand: a half is rounded up on the number as written, so the
screen, the VA's detail text (va_checks.sql, tests/test_va.py) and a spreadsheet cell showing
the file's fraction with « 0,0 % » read the same figure.
"""

from __future__ import annotations

import math
from decimal import Decimal

import pytest

from dui_metrics.formats import NNBSP, fr_number, fr_percent, fr_signed, fr_signed_points, fr_size
from dui_metrics.ui import metric_arrow


@pytest.mark.parametrize(
    "fraction, text",
    [
        (73 / 80, "91,3"),  # 0.9125: 91,25 %, half-way, up (Python's .1f gave 91,2)
        (57 / 2000, "2,9"),  # 0.0285 * 100 is 2.8499999999999996 in binary: read as 2,85
        (100 / 1600, "6,3"),  # 0.0625: 6,25 %
        (1 / 8, "12,5"),
        (1 / 3, "33,3"),
        (2 / 3, "66,7"),
        (1.0, "100,0"),
        (0.0, "0,0"),
        (12.3456, "1\u202f234,6"),  # more than 100 %: thousands separated
    ],
)
def test_fr_percent(fraction: float, text: str) -> None:
    assert fr_percent(fraction) == f"{text}{NNBSP}%"


def test_fr_number_rounds_half_up_and_groups_thousands() -> None:
    assert fr_number(2.25) == "2,3"
    assert fr_number(2.675, 2) == "2,68"  # 2.67499999999999982… in binary: read as written
    assert fr_number(-2.25) == "-2,3"  # away from zero, as a spreadsheet
    assert fr_number(1234567.891, 2) == f"1{NNBSP}234{NNBSP}567,89"
    assert fr_number(0.5, 0) == "1"
    assert fr_number(Decimal("7.05")) == "7,1"


def test_missing_values_are_empty() -> None:
    assert fr_percent(None) == "" and fr_percent(math.nan) == ""
    assert fr_number(None) == "" and fr_number(math.nan) == ""


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (1, "1 octet"),
        (211, "211 octets"),
        (300_008, f"300{NNBSP}008 octets"),
        (1_048_575, f"1{NNBSP}048{NNBSP}575 octets"),  # 1 Mo - 1 octet
        (1_048_576, "1,0 Mo"),
        (1_572_864, "1,5 Mo"),  # 1.5 × 1 048 576
        (1_500 * 1_048_576, f"1{NNBSP}500,0 Mo"),
    ],
)
def test_file_sizes_read_in_octets_then_mo(size: int, text: str) -> None:
    assert fr_size(size) == text


@pytest.mark.parametrize(
    ("number", "text"),
    [(1234, f"+1{NNBSP}234"), (-53, "\u221253"), (0, "+0"), (-1234, f"\u22121{NNBSP}234")],
)
def test_signed_counts_use_a_true_minus(number: int, text: str) -> None:
    assert fr_signed(number) == text


@pytest.mark.parametrize(
    ("change", "text"),
    [
        (0.028, "+2,8 pts"),
        (-0.028, "\u22122,8 pts"),
        (-0.08333, "\u22128,3 pts"),
        # Halves as written, rounded away from zero (0.0125 * 100 is 1.25 in binary, which
        # Python's .1f gives as 1,2; 0.0045 * 100 is 0.44999999999999996).
        (0.0125, "+1,3 pts"),
        (-0.0045, "\u22120,5 pts"),
        # Shown as zero: no sign of a drop.
        (-0.0004, "+0,0 pts"),
        (0.0, "+0,0 pts"),
    ],
)
def test_signed_points_half_up_never_minus_zero(change: float, text: str) -> None:
    assert fr_signed_points(change) == text


@pytest.mark.parametrize(
    ("delta", "arrow"),
    [
        ("+5", "up"),
        ("\u22123", "down"),
        ("\u22128,3 pts", "down"),
        ("+0", "off"),
        ("+0,0 pts", "off"),
        ("+0,1 pts", "up"),
        (None, "off"),
    ],
)
def test_card_arrow_follows_the_change_as_written(delta: str | None, arrow: str) -> None:
    assert metric_arrow(delta) == arrow
