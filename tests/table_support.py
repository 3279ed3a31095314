"""The tables a page shows, read back under AppTest: the grids (``st.dataframe``, their frame)
and the text tables (`ui.text_table`: Markdown tables), parsed back to frames of text."""

from __future__ import annotations

import re
from urllib.parse import unquote

import pandas as pd

_PIPE = re.compile(r"(?<!\\)\|")
_ESCAPED = re.compile(r"\\(.)")
_LINK = re.compile(r"\[(?P<word>(?:[^\]\\]|\\.)*)\]\((?P<url>[^)]*)\)")


def is_markdown_table(text: str) -> bool:
    lines = text.splitlines()
    return len(lines) >= 2 and lines[0].startswith("| ") and set(lines[1]) <= set("|:-")


def _cell(raw: str) -> object:
    raw = raw.strip()
    link = _LINK.fullmatch(raw)
    if link:  # what the grid's link column held: the address
        return unquote(link["url"])
    # a short cell's spaces are no-break ones (it never wraps): read as spaces
    return _ESCAPED.sub(r"\1", raw).replace("\u00a0", " ")


def parse_markdown_table(text: str) -> pd.DataFrame:
    """A Markdown table of `ui.markdown_table` as a frame of the texts it shows: escapes
    undone (a missing value reads « — »), a link as its address."""
    lines = text.splitlines()

    def cells(line: str) -> list[str]:
        return _PIPE.split(line.strip())[1:-1]

    header = [_cell(c) for c in cells(lines[0])]
    rows = [[_cell(c) for c in cells(line)] for line in lines[2:]]
    return pd.DataFrame(rows, columns=header, dtype=object)


def text_tables(node) -> list[pd.DataFrame]:
    """The text tables under ``node`` (an AppTest, a tab, an expander), in page order."""
    return [parse_markdown_table(m.value) for m in node.markdown if is_markdown_table(m.value)]


def screen_tables(node) -> list[pd.DataFrame]:
    """Every table under ``node``: the text tables in page order, then the grids."""
    return text_tables(node) + [d.value for d in node.dataframe]
