"""Figures of `charts` read from fig.layout and fig.data, without Streamlit: French numbers,
honest axes, the blocking criterion in red with the VA threshold, the VA window's shading.
(The distribution and the maps are tested on the tiny store of test_compare.py.)"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from dui_metrics import charts

NNBSP = "\u202f"
NAN = float("nan")
MONTHS = [dt.date(2025, m, 1) for m in range(1, 7)]  # janv. 2025 … juin 2025
WINDOW = (dt.date(2025, 4, 1), dt.date(2025, 6, 1))  # the 3-month VA window ending 06/2025


def series(*values: float) -> pd.DataFrame:
    return pd.DataFrame({"periode": MONTHS[: len(values)], "valeur": list(values)})


def shapes_by_kind(fig) -> dict[str, list]:
    """hline (a horizontal line across the plot: xref paper) and vrect (a shaded band: yref
    paper) shapes of ``fig``."""
    out: dict[str, list] = {"hline": [], "vrect": []}
    for shape in fig.layout.shapes:
        if shape.type == "line" and shape.xref == "x domain":
            out["hline"].append(shape)
        elif shape.type == "rect" and shape.yref == "y domain":
            out["vrect"].append(shape)
    return out


def test_french_separators_and_month_ticks() -> None:
    fig = charts.indicator_trend(series(1200, 2000, 2500), "INS qualifiées", is_rate=False)
    # Decimal comma first, then the narrow no-break space between thousands: 2 000, 12,5.
    assert fig.layout.separators == "," + NNBSP
    assert fig.layout.yaxis.tickformat == ",d"
    assert fig.layout.xaxis.ticktext == ("janv. 2025", "févr. 2025", "mars 2025")
    assert fig.layout.title.text == "INS qualifiées"


def test_hover_in_french_and_gaps_stay_gaps() -> None:
    fig = charts.indicator_trend(series(1234, NAN, 0), "INS qualifiées", is_rate=False)
    [line] = fig.data
    # 1234 -> « 1 234 » (narrow no-break space); a month without data is a gap, not 0.
    assert line.customdata == (
        f"janv. 2025 : 1{NNBSP}234",
        "févr. 2025 : aucune donnée",
        "mars 2025 : 0",
    )
    assert line.y[1] is None or line.y[1] != line.y[1]  # NaN: a gap
    assert line.connectgaps is False


@pytest.mark.parametrize(
    "values",
    [
        pytest.param((0, 0, 0), id="all-zero"),
        pytest.param((0,), id="single-zero"),
        pytest.param((NAN, NAN), id="all-missing"),
    ],
)
def test_count_axis_from_zero_even_when_every_value_is_zero(values) -> None:
    fig = charts.indicator_trend(series(*values), "Documents DMP", is_rate=False)
    # Plotly would frame a flat 0 on −1…1: the axis is 0…1 instead, ticks 0 and 1.
    assert fig.layout.yaxis.range == (0, 1)
    assert fig.layout.yaxis.tickvals == (0, 1)
    assert fig.layout.yaxis.rangemode == "tozero"


def test_small_counts_get_whole_number_ticks() -> None:
    # Largest value 3 (< 5): a tick every 1 from 0, never « 0,5 message ».
    axis = charts.indicator_trend(series(1, 3, 2), "MSSanté", is_rate=False).layout.yaxis
    assert (axis.tick0, axis.dtick, axis.range) == (0, 1, None)
    # Largest 40: Plotly's own ticks, from 0.
    axis = charts.indicator_trend(series(10, 40), "MSSanté", is_rate=False).layout.yaxis
    assert (axis.dtick, axis.rangemode) == (None, "tozero")


def test_rates_in_percent_on_a_0_to_100_axis() -> None:
    fig = charts.indicator_trend(series(0.125, 0.5, 1.0), "Taux de dossiers actifs", is_rate=True)
    [line] = fig.data
    assert list(line.y) == [12.5, 50.0, 100.0]  # fractions on screen as percentages
    assert fig.layout.yaxis.range == (0, 100)
    assert fig.layout.yaxis.ticktext == tuple(f"{t}{NNBSP}%" for t in (0, 25, 50, 75, 100))
    # 0.125 -> « 12,5 % »: decimal comma, narrow no-break space before %.
    assert line.customdata[0] == f"janv. 2025 : 12,5{NNBSP}%"


def test_blocking_criterion_in_red_with_the_va_threshold() -> None:
    fig = charts.indicator_trend(
        series(5, 0, 0), "INS qualifiées", is_rate=False, criterion=True, blocking=True
    )
    assert fig.data[0].line.color == charts.RED == "#D55E00"
    [threshold] = shapes_by_kind(fig)["hline"]
    assert (threshold.y0, threshold.y1) == (0, 0)
    assert threshold.line.color == charts.RED
    assert [a.text for a in fig.layout.annotations] == ["seuil VA : > 0"]


def test_criterion_that_passes_is_blue_and_keeps_the_threshold() -> None:
    fig = charts.indicator_trend(
        series(5, 7, 9), "INS qualifiées", is_rate=False, criterion=True, blocking=False
    )
    assert fig.data[0].line.color == charts.BLUE
    assert len(shapes_by_kind(fig)["hline"]) == 1
    assert fig.layout.annotations[0].text == charts.THRESHOLD_TEXT


def test_not_a_criterion_has_no_threshold() -> None:
    fig = charts.indicator_trend(series(5, 7), "Personnes accompagnées", is_rate=False)
    assert shapes_by_kind(fig)["hline"] == [] and not fig.layout.annotations
    assert fig.data[0].line.color == charts.BLUE


def test_va_window_shaded_half_a_month_beyond_its_months() -> None:
    fig = charts.indicator_trend(
        series(1, 2, 3, 4, 5, 6), "Dossiers actifs", is_rate=False, window=WINDOW
    )
    [band] = shapes_by_kind(fig)["vrect"]
    # 01/04/2025 − 15 days = 17/03/2025; 01/06/2025 + 15 days = 16/06/2025.
    assert (str(band.x0)[:10], str(band.x1)[:10]) == ("2025-03-17", "2025-06-16")
    assert band.fillcolor == charts.WINDOW_COLOR


def test_target_line_in_green_at_the_target_percentage() -> None:
    fig = charts.indicator_trend(series(0.5, 0.6), "Taux", is_rate=True, target=0.8)
    [target] = shapes_by_kind(fig)["hline"]
    assert target.y0 == 80 and target.line.color == charts.GREEN
    assert fig.layout.annotations[0].text == f"cible 80{NNBSP}%"


def test_month_ticks_at_most_max_ticks() -> None:
    # 6 months, at most 3 ticks: every second month from the first.
    fig = charts.indicator_trend(series(1, 2, 3, 4, 5, 6), "X", is_rate=False, max_ticks=3)
    assert fig.layout.xaxis.ticktext == ("janv. 2025", "mars 2025", "mai 2025")


def test_a_label_from_a_file_is_shown_as_text() -> None:
    fig = charts.indicator_trend(series(1), "<b>x</b>", is_rate=False)
    assert fig.layout.title.text == "&lt;b&gt;x&lt;/b&gt;"


def test_a_card_curve_is_an_svg_on_a_zero_based_axis_in_its_trend_colour() -> None:
    # 300 × 44 px, 3 px margins: y = 3 + 38 − 38 × value / max; x steps 300 / 2 = 150
    svg = charts.sparkline_svg([0, 5, 10], 1)
    assert 'points="0.0,41.0 150.0,22.0 300.0,3.0"' in svg
    assert 'points="0,44 0.0,41.0 150.0,22.0 300.0,3.0 300,44"' in svg  # the area under it
    assert f'stroke="{charts.GREEN}"' in svg and "<script" not in svg
    # all zero: a flat line at the bottom (not centred), grey when flat; a missing month is 0
    flat = charts.sparkline_svg([0, float("nan"), 0], 0)
    assert 'points="0.0,41.0 150.0,41.0 300.0,41.0"' in flat
    assert f'stroke="{charts.GREY}"' in flat
    assert f'stroke="{charts.RED}"' in charts.sparkline_svg([4, 2], -1)


def test_a_card_curve_is_shown_as_an_image_with_its_words() -> None:
    import base64

    shown = charts.sparkline_html([1, 2], -1)
    data = shown.split('src="data:image/svg+xml;base64,')[1].split('"')[0]
    assert base64.b64decode(data).decode() == charts.sparkline_svg([1, 2], -1)
    assert 'alt="Courbe des 2 derniers mois, en baisse"' in shown
