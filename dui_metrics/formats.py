"""French formats for numbers, rates and months (screen and human messages, never data files)."""

from __future__ import annotations

import datetime as dt
import math
from decimal import ROUND_HALF_UP, Decimal

NNBSP = "\u202f"  # narrow no-break space: thousands separator and before "%"
MONTHS_SHORT = (
    "janv.", "févr.", "mars", "avr.", "mai", "juin",
    "juil.", "août", "sept.", "oct.", "nov.", "déc.",
)  # fmt: skip


def fr_int(value: float | int | None) -> str:
    """``1234`` → ``1 234``; None → empty."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{round(value):,}".replace(",", NNBSP)


def fr_number(value: float | Decimal | None, decimals: int = 1) -> str:
    """``12.5`` → ``12,5``; ``2.25`` → ``2,3``: a half is rounded up, on the number as it is
    written (``repr``), as a spreadsheet rounds what it shows (Python's own ``.1f`` rounds
    the binary value half to even: ``91.25`` gave ``91,2`` where Excel shows ``91,3``)."""
    if value is None or (not isinstance(value, Decimal) and math.isnan(value)):
        return ""
    exact = value if isinstance(value, Decimal) else Decimal(repr(float(value)))
    exact = exact.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    text = f"{exact:,.{decimals}f}".replace(",", "\x00").replace(".", ",")
    return text.replace("\x00", NNBSP)


MEBIBYTE = 1024 * 1024  # "1 Mo" as file managers count


def fr_size(size: float) -> str:
    """A file size: ``211 octets``, ``300 008 octets`` below 1 Mo, then ``1,5 Mo``."""
    if size < MEBIBYTE:
        return f"{fr_int(int(size))} octet{'s' if size > 1 else ''}"
    return f"{fr_number(size / MEBIBYTE)} Mo"


def fr_percent(fraction: float | None, decimals: int = 1) -> str:
    """A rate (fraction in [0, 1]) on screen: ``0.125`` → ``12,5 %``."""
    if fraction is None or (isinstance(fraction, float) and math.isnan(fraction)):
        return ""
    # scaled as written: 0.0285 is 2,9 % (0.0285 * 100 is 2.8499999999999996 in binary)
    return f"{fr_number(Decimal(repr(float(fraction))).scaleb(2), decimals)}{NNBSP}%"


def column_letters(index: int) -> str:
    """A spreadsheet column's letters (1: A, 27: AA, 16 384: XFD)."""
    letters = ""
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def month_numeric(month: dt.date) -> str:
    """``2025-02-01`` → ``02/2025``."""
    return month.strftime("%m/%Y")


def month_short(month: dt.date) -> str:
    """``2025-01-01`` → ``janv. 2025``."""
    return f"{MONTHS_SHORT[month.month - 1]} {month.year}"


def fr_date(day: dt.date) -> str:
    """``2025-01-31`` → ``31/01/2025``."""
    return day.strftime("%d/%m/%Y")


def month_range(start: dt.date, end: dt.date) -> str:
    """``02/2025–04/2025``, or a single month."""
    if start == end:
        return month_numeric(end)
    return f"{month_numeric(start)}–{month_numeric(end)}"


MINUS = "\u2212"  # −, the typographic minus of the tables, not a hyphen


def fr_signed(number: int) -> str:
    """A signed count, thousands separated by a narrow no-break space: ``+1 234``, ``−53``
    (a true minus sign, as in the tables: st.metric, which reads a direction from a leading
    hyphen only, is given its arrow explicitly)."""
    return ("+" if number >= 0 else MINUS) + fr_int(abs(number))


def fr_signed_points(change: float) -> str:
    """A change of rate (a difference of fractions) in percentage points, one decimal, a half
    rounded away from zero on the number as written, as `fr_number` and `fr_percent` do:
    ``0.0125`` → ``+1,3 pts``, ``-0.028`` → ``−2,8 pts``, ``-0.0004`` → ``+0,0 pts`` (never
    ``−0,0``)."""
    exact = Decimal(repr(float(change))).scaleb(2)
    shown = fr_number(abs(exact), 1)
    negative = exact < 0 and shown.strip("0,") != ""  # a change shown as 0,0 has no sign
    return f"{MINUS if negative else '+'}{shown} pts"
