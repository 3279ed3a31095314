"""Where the header of a file is: its first row, or the first row below a title.

Spreadsheets put a title above the header (« Export usages DUI — mars 2025 », a blank row,
then the header). The header is the first row, within the first ``MAX_TITLE_ROWS`` non-blank
rows, whose cells name at least two known columns (usage exports, référentiel, record
tables); the rows above it are ignored with a warning if none of them has the shape of a data
row. Otherwise the first non-blank row is the header, as it always was, and its columns
tell what is wrong.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from dui_metrics.errors import Problem

MAX_TITLE_ROWS = 20
# A cell shaped like a FINESS number (9 characters, or 8 digits that lost their zero).
_FINESS_SHAPED = re.compile(r"\d{8,9}|2[AB]\d{7}", re.IGNORECASE)


def known_columns(cells: Iterable[str | None]) -> int:
    """How many cells name a known column of any input file."""
    from dui_metrics.ingest.columns import canonical
    from dui_metrics.ingest.record_tables import column_of  # imports readers: not at load

    return sum(1 for cell in cells if cell and (canonical(cell) or column_of(cell)))


def _looks_like_data(cells: list[str | None]) -> bool:
    """A row that could be data, not a title: three filled cells or more, or a FINESS."""
    filled = [c for c in cells if c]
    return len(filled) >= 3 or any(_FINESS_SHAPED.fullmatch(c.strip()) for c in filled)


def header_index(rows: list[list[str | None]]) -> int:
    """The index in ``rows`` (the first non-blank rows of a file, in order, at most
    ``MAX_TITLE_ROWS``) of its header: 0 unless a later row names two known columns or more
    while the first does not, and no row above that one looks like data."""
    if not rows or known_columns(rows[0]) >= 2:
        return 0
    for i, row in enumerate(rows[1:MAX_TITLE_ROWS], start=1):
        if known_columns(row) >= 2:
            return 0 if any(_looks_like_data(above) for above in rows[:i]) else i
    return 0


def title_warning(file: str, header_line: int) -> Problem:
    """« lignes 1–2 ignorées (titre au-dessus de l'en-tête) », header on ``header_line``."""
    lines = "ligne 1 ignorée" if header_line == 2 else f"lignes 1–{header_line - 1} ignorées"
    return Problem(file, None, None, f"{lines} (titre au-dessus de l'en-tête)")
