"""text: header words, names cleaned for one line, and escaping for Markdown and Plotly."""

from __future__ import annotations

import re
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dui_metrics.text import clean_name, escape_markdown, escape_plotly, shown, words


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        pytest.param("Prénom(s)", ["prenom", "s"], id="parentheses"),
        pytest.param("dateOfBirth", ["date", "of", "birth"], id="camel-case"),
        pytest.param("NIRUsager", ["nir", "usager"], id="acronym-then-word"),
        pytest.param("n° sécu", ["n", "secu"], id="degree-sign-accent"),
        pytest.param("INS-NIR", ["ins", "nir"], id="hyphen"),
        pytest.param("nom_d'usage", ["nom", "d", "usage"], id="underscore-apostrophe"),
        pytest.param("prenom2", ["prenom", "2"], id="letters-digits"),
        pytest.param("\ufeffÉditeur", ["editeur"], id="bom-capital-accent"),
    ],
)
def test_words(header, expected) -> None:
    assert words(header) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # U+202E (right-to-left override) before the FINESS: shown "318821196" in a browser
        pytest.param("\u202e691128813", "691128813", id="rlo"),
        pytest.param("EHPAD\u2066 A\u2069\u200f", "EHPAD A", id="isolates-and-marks"),
        pytest.param("EHPAD\r\nLes Tilleuls", "EHPAD Les Tilleuls", id="crlf"),
        pytest.param("EHPAD \n\n Les\tTilleuls ", "EHPAD Les Tilleuls", id="runs-and-tab"),
        pytest.param("A\u2028B\x85C", "A B C", id="unicode-line-separators"),
        pytest.param("Résidence l'Oasis", "Résidence l'Oasis", id="untouched"),
    ],
)
def test_clean_name(raw, expected) -> None:
    assert clean_name(raw) == expected


def unescape_markdown(text: str) -> str:
    """CommonMark's reading of backslash escapes: "\\X" is X for ASCII punctuation X."""
    return re.sub(r"\\([" + re.escape(string.punctuation) + "])", r"\1", text)


def test_escape_markdown_of_the_issue_example() -> None:
    name = "# TITRE :red[x] ![i](http://example.invalid/i.png)"
    assert escape_markdown(name) == (
        r"\# TITRE \:red\[x\] \!\[i\]\(http\:\/\/example\.invalid\/i\.png\)"
    )
    assert escape_markdown("**gras** $x$ <b>") == r"\*\*gras\*\* \$x\$ \<b\>"


@given(st.text())
def test_escaped_markdown_reads_back_as_the_cleaned_text(text) -> None:
    escaped = escape_markdown(text)
    # every ASCII punctuation character is escaped: no Markdown syntax is left
    assert not re.search(
        r"(?<!\\)(?:\\\\)*[" + re.escape(string.punctuation.replace("\\", "")) + "]", escaped
    )
    assert unescape_markdown(escaped) == clean_name(text)
    assert "\n" not in escaped


def test_escape_plotly() -> None:
    assert escape_plotly("<b>A & B</b><br>") == "&lt;b&gt;A &amp; B&lt;/b&gt;&lt;br&gt;"
    assert escape_plotly("EHPAD\n\u202eA") == "EHPAD A"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("a\x1b[31mb.csv", "a?[31mb.csv", id="escape-sequence"),
        pytest.param("x\ry\tz", "x?y?z", id="cr-tab"),
        pytest.param("ligne 1\n  ligne 2", "ligne 1\n  ligne 2", id="line-breaks-kept"),
        pytest.param("69\u202e3188", "69?3188", id="bidi-override"),
        pytest.param("Établissement « œ »", "Établissement « œ »", id="french-kept"),
    ],
)
def test_messages_for_a_terminal_show_control_characters_as_question_marks(text, expected) -> None:
    assert shown(text) == expected


def test_ingest_progress_never_sends_a_file_name_s_escape_sequence(tmp_path, capsys) -> None:
    from dui_metrics import cli

    name = "usages\x1b[2J\x1b[31m.csv"
    (tmp_path / name).write_text(
        "finess_et;periode;indicateur;valeur\n690000013;2025-01;ins_qualifiees;3\n",
        encoding="utf-8",
    )
    code = cli.main(["ingest", "--store", str(tmp_path / "s.duckdb"), str(tmp_path / name)])
    out = capsys.readouterr()
    assert code == 0
    assert "\x1b" not in out.out + out.err
    assert "usages?[2J?[31m.csv" in out.err
