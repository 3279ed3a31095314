"""`ui.markdown_table`: the text tables of the pages (short tables: `ui.TEXT_ROWS` rows at
most), written out by hand here, and read back by `table_support` as the tests read them."""

from __future__ import annotations

import pandas as pd
from table_support import parse_markdown_table

from dui_metrics import ui


def test_a_table_is_written_as_markdown_text_escaped_and_in_french() -> None:
    frame = pd.DataFrame(
        {
            "Statut": ["❌ zéro", "✅ ok"],
            "Nom": ["EHPAD *Les* [Tilleuls](http://x.invalid)", "a|b <b>c</b>"],
            "n": [1234, 5],
            "Taux": ["91,3\u202f%", "−2,5 pts"],
            "FINESS ET": ["067850362", "690000021"],
            "x": [None, 1.5],
            "Fiche": ["etablissement?finess_et=067850362&au=2026-10-01", None],
        }
    )
    assert ui.markdown_table(frame, {"Fiche": "Ouvrir"}) == (
        "| Statut | Nom | n | Taux | FINESS ET | x | Fiche |\n"
        # text left; numbers and numbers written in French right; a FINESS is an identifier
        "|:--|:--|--:|--:|:--|--:|:--|\n"
        # a cell of 12 characters at most keeps its spaces unbreakable (never wraps)
        "| ❌\u00a0zéro | EHPAD \\*Les\\* \\[Tilleuls\\]\\(http\\:\\/\\/x\\.invalid\\) | 1\u202f234 "
        "| 91,3\u202f% | 067850362 | — "
        "| [Ouvrir](etablissement?finess_et=067850362&au=2026-10-01) |\n"
        "| ✅\u00a0ok | a\\|b \\<b\\>c\\<\\/b\\> | 5 | −2,5 pts | 690000021 | 1,50 | — |"
    )


def test_a_line_break_or_a_pipe_in_a_name_keeps_the_table_whole() -> None:
    frame = pd.DataFrame({"Nom": ["EHPAD\r\nLes | Tilleuls"], "Éditeur": ["Ed\tB"]})
    text = ui.markdown_table(frame)
    assert text.count("\n") == 2  # header, delimiter, one row
    assert text.splitlines()[2] == "| EHPAD Les \\| Tilleuls | Ed\u00a0B |"
    back = parse_markdown_table(text)
    assert back.to_dict("records") == [{"Nom": "EHPAD Les | Tilleuls", "Éditeur": "Ed B"}]


def test_a_link_address_is_percent_encoded_and_cannot_close_the_link() -> None:
    frame = pd.DataFrame({"Fiche": ["etablissement?x=a b)(c"]})
    assert ui.markdown_table(frame, {"Fiche": "Ouvrir"}).splitlines()[2] == (
        "| [Ouvrir](etablissement?x=a%20b%29%28c) |"
    )


def test_dates_and_booleans_read_in_french() -> None:
    import datetime as dt

    frame = pd.DataFrame({"Déployé le": [dt.date(2025, 3, 1)], "Actif": [True]})
    assert ui.markdown_table(frame).splitlines()[2] == "| 01/03/2025 | oui |"


def test_a_column_of_numbers_with_masked_or_missing_cells_is_still_right_aligned() -> None:
    frame = pd.DataFrame(
        {"Rang": ["1", "—"], "Dossiers actifs": ["53", "< 5"], "Remarque": ["—", "—"]}
    )
    # « — » alone is not a number: Remarque stays left
    assert ui.markdown_table(frame).splitlines()[1] == "|--:|--:|:--|"
