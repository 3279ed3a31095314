"""Every Plotly figure of the dashboard: a frame in, a figure out. Pages only place them.

This module owns what makes a chart read the same on every page:
- the colours (`PALETTE`, Okabe–Ito, safe with the common colour-vision deficiencies, and its
  one red, `RED`, kept for what blocks the VA), the VA window's shading and the VA threshold
  line (« seuil VA : > 0 »);
- French numbers and months: decimal comma and narrow no-break space thousands (`SEPARATORS`,
  as `formats`), month ticks ``janv. 2025`` whatever the browser's language, hovers written
  here in French;
- honest axes: rates in % on a 0–100 axis; counts on a 0-based axis, ``[0, 1]`` when every
  value is 0 (Plotly would centre a flat zero line on −1…1);
- the figures: one indicator's monthly trend (`indicator_trend`), the distribution of ESMS
  rates (`distribution_figure`), the choropleths by département (`departement_maps`); and,
  not Plotly, the cards' 12-month curves as SVG (`sparkline_svg`, `sparkline_html`).

The data behind the figures (which ESMS, which groups, which masks) come from `compare`,
`indicators` and `va`. Nothing here imports Streamlit.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
from collections.abc import Iterable, Sequence
from functools import cache
from importlib import resources
from urllib.parse import quote

import pandas as pd
import plotly.graph_objects as go

from dui_metrics import compare, finess, formats, masking
from dui_metrics.text import escape_plotly

# --- look ---------------------------------------------------------------------------------
# Okabe–Ito palette: distinguishable with the common colour-vision deficiencies.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]
BLUE = PALETTE[0]  # a series, a point
RED = PALETTE[3]  # the one red: a criterion that blocks the VA (zero or missing)
GREEN = PALETTE[2]  # a target of the référentiel
GREY = "#666666"  # box outlines, the VA threshold
BACKGROUND_COLOR = "#E5E5E5"  # départements drawn for context only
WINDOW_COLOR = "#999999"  # the VA window's shading (with `WINDOW_OPACITY`)
WINDOW_OPACITY = 0.15
COLORSCALE = "Cividis"  # sequential and readable with colour-vision deficiencies
POINT_COLOR = BLUE
# Decimal comma, narrow no-break space between thousands (Plotly reads the first character as
# the decimal mark, the second as the thousands separator): ``2 000``, ``12,5``.
SEPARATORS = "," + formats.NNBSP
THRESHOLD_TEXT = "seuil VA : > 0"
PERCENT_SUFFIX = formats.NNBSP + "%"
TREND_HEIGHT = 260
# No Plotly toolbar: its buttons speak English (« Zoom », « Download plot as a png »), it
# covers a title on a phone, and the tables and downloads give every figure's numbers.
FIGURE_CONFIG = {"displayModeBar": False, "displaylogo": False}
TREND_CONFIG = FIGURE_CONFIG

# plotly.js fetches a world topojson from cdn.plot.ly for any trace with a ``locationmode``,
# ``geojson-id`` included, even with every base layer hidden, and draws nothing when the fetch
# fails (no network here, nor on many administrations' workstations). Pointing ``topojsonURL``
# at an empty topology given inline (the file name plotly.js appends lands in the fragment)
# removes the request; the départements come from our GeoJSON. Pass as the chart's config.
MAP_CONFIG = {
    "topojsonURL": "data:application/json,"
    + quote('{"type":"Topology","objects":{},"arcs":[]}')
    + "#/",
    **FIGURE_CONFIG,
}


def style(fig: go.Figure, height: int = 320) -> go.Figure:
    """French number separators, colour-blind-safe colours, compact margins; ``fig`` itself."""
    fig.update_layout(
        separators=SEPARATORS,
        colorway=PALETTE,
        height=height,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        legend={"orientation": "h", "y": -0.2},
        hoverlabel={"namelength": -1},
    )
    return fig


def month_axis(fig: go.Figure, months: Sequence[dt.date], max_ticks: int = 8) -> go.Figure:
    """Month ticks written ``janv. 2025`` whatever the browser's language: at most
    ``max_ticks`` of ``months`` (every n-th one, the first included); ``fig`` itself."""
    months = list(months)
    step = max(1, -(-len(months) // max_ticks))
    ticks = months[::step]
    fig.update_xaxes(tickvals=ticks, ticktext=[formats.month_short(m) for m in ticks])
    return fig


# --- one indicator's monthly trend --------------------------------------------------------
def indicator_trend(
    series: pd.DataFrame,
    label: str,
    *,
    is_rate: bool,
    window: tuple[dt.date, dt.date] | None = None,
    months: Sequence[dt.date] | None = None,
    criterion: bool = False,
    blocking: bool = False,
    target: float | None = None,
    height: int = TREND_HEIGHT,
    max_ticks: int = 5,
) -> go.Figure:
    """One indicator's monthly series as a line, titled ``label``.

    ``series``: columns periode (first day of the month) and valeur (a count, or a rate as a
    fraction in [0, 1]); NaN is a month without data, drawn as a gap, never as 0.
    ``is_rate``: percentages on a 0–100 axis (ticks every 25 %); else counts on a 0-based
    axis, ``[0, 1]`` when no value exceeds 0, whole-number ticks below 5.
    ``window``: the VA window (first and last month), shaded from the middle of the month
    before to the middle of the month after, so that a one-month window shows.
    ``months``: the months of the x axis' ticks (default: those of ``series``).
    ``criterion``: the indicator is a VA criterion: the dotted threshold line at 0 is drawn,
    « seuil VA : > 0 ». ``blocking``: that criterion blocks the VA of this ESMS (zero or
    missing on the window): the line is `RED`; otherwise `BLUE`.
    ``target``: a target of the référentiel (fraction for a rate): a dashed green line.
    Hovers read ``janv. 2025 : 1 234`` or ``janv. 2025 : 12,5 %``.
    """
    frame = series.sort_values("periode")
    values = pd.to_numeric(frame["valeur"], errors="coerce").astype("float64")
    scale = 100 if is_rate else 1
    shown = values * scale
    color = RED if blocking else BLUE
    hover = [
        f"{formats.month_short(m)} : "
        + (
            formats.fr_percent(v)
            if is_rate
            else formats.fr_int(v)
            if v == round(v)
            else formats.fr_number(v)
        )
        if pd.notna(v)
        else f"{formats.month_short(m)} : aucune donnée"
        for m, v in zip(frame["periode"], values, strict=True)
    ]
    fig = go.Figure(
        go.Scatter(
            x=list(frame["periode"]),
            y=shown.tolist(),
            mode="lines+markers",
            connectgaps=False,
            cliponaxis=False,  # a point at 0 or 100 % is drawn whole
            line={"color": color, "width": 2},
            marker={"color": color, "size": 6},
            customdata=hover,
            hovertemplate="%{customdata}<extra></extra>",
            showlegend=False,
        )
    )
    if window is not None:
        fig.add_vrect(
            x0=window[0] - dt.timedelta(days=15),
            x1=window[1] + dt.timedelta(days=15),
            fillcolor=WINDOW_COLOR,
            opacity=WINDOW_OPACITY,
            line_width=0,
            layer="below",
        )
    if criterion:
        fig.add_hline(
            y=0,
            line_dash="dot",
            line_color=RED if blocking else GREY,
            line_width=1.5,
            annotation_text=THRESHOLD_TEXT,
            annotation_position="top left",
            annotation_font={"size": 11, "color": RED if blocking else GREY},
        )
    if target is not None:
        fig.add_hline(
            y=target * scale,
            line_dash="dash",
            line_color=GREEN,
            annotation_text=f"cible {formats.fr_percent(target, 0)}",
            annotation_position="top right",
            annotation_font={"size": 11, "color": GREEN},
        )
    fig.update_layout(
        title={"text": escape_plotly(label), "font": {"size": 14}},
        showlegend=False,
        hovermode="closest",
    )
    style(fig, height=height)
    fig.update_layout(margin={"l": 10, "r": 10, "t": 36, "b": 10})
    fig.update_yaxes(**(percent_axis() if is_rate else count_axis(values)))
    month_axis(fig, sorted(months if months is not None else frame["periode"].unique()), max_ticks)
    return fig


# --- sparklines ----------------------------------------------------------------------------
SPARK_WIDTH, SPARK_HEIGHT = 300, 44
SPARK_COLORS = {1: GREEN, -1: RED, 0: GREY}  # the series' trend (`indicators.trend_direction`)
SPARK_WORDS = {1: "en hausse", -1: "en baisse", 0: "stable"}


def sparkline_svg(values: Sequence[float], direction: int) -> str:
    """A card's small curve as SVG (`sparkline_html` shows it): ``values`` (a missing month
    counts 0) on a 0-based axis from left to right, as wide as the card, in the colour of
    ``direction`` (green up, red down, grey flat), the area under it lightly filled. Plain
    SVG, no script: a card with it costs a first visit about 0.2–0.4 s less than
    ``st.metric``'s Vega sparkline (bench/elements.py)."""
    points = [0.0 if v is None or v != v else float(v) for v in values]
    if not points:
        points = [0.0]
    if len(points) == 1:
        points = points * 2
    top = max(max(points), 0.0)
    pad = 3
    height = SPARK_HEIGHT - 2 * pad

    def y(v: float) -> float:
        return pad + height - (height * v / top if top > 0 else 0.0)

    step = SPARK_WIDTH / (len(points) - 1)
    xy = [(i * step, y(v)) for i, v in enumerate(points)]
    line = " ".join(f"{x:.1f},{yy:.1f}" for x, yy in xy)
    area = f"0,{SPARK_HEIGHT} {line} {SPARK_WIDTH},{SPARK_HEIGHT}"
    color = SPARK_COLORS[direction]
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="100%" height="{SPARK_HEIGHT}" '
        f'viewBox="0 0 {SPARK_WIDTH} {SPARK_HEIGHT}" preserveAspectRatio="none">'
        f'<polygon points="{area}" fill="{color}" fill-opacity="0.12"/>'
        f'<polyline points="{line}" fill="none" stroke="{color}" stroke-width="2" '
        'stroke-linejoin="round" vector-effect="non-scaling-stroke"/></svg>'
    )


def sparkline_html(values: Sequence[float], direction: int) -> str:
    """`sparkline_svg` as an HTML image for ``st.html`` (``<img>`` of a ``data:`` URI as
    wide as the card), its ``alt`` what a screen reader says (« Courbe des 12 derniers mois,
    en hausse »): Streamlit's HTML sanitiser drops inline SVG, and ``st.image`` adds a
    « Fullscreen » button, in English."""
    svg = sparkline_svg(values, direction)
    data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    alt = f"Courbe des {len(values)} derniers mois, {SPARK_WORDS[direction]}"
    return (
        f'<img src="data:image/svg+xml;base64,{data}" alt="{alt}" '
        f'style="display:block;width:100%;height:{SPARK_HEIGHT}px">'
    )


def percent_axis() -> dict:
    """A y axis for rates drawn as percentages (0 to 100): the whole scale, ticks every 25,
    written ``25 %``."""
    ticks = [0, 25, 50, 75, 100]
    return {
        "range": [0, 100],
        "tickvals": ticks,
        "ticktext": [f"{t}{PERCENT_SUFFIX}" for t in ticks],
        "fixedrange": True,
    }


def count_axis(values: pd.Series) -> dict:
    """A y axis for counts: from 0 (``rangemode`` ``tozero``); ``[0, 1]`` when no value
    exceeds 0 (all zero or all missing); whole-number ticks (every 1) when the largest value
    is below 5; thousands written ``2 000`` (``tickformat`` with the layout's `SEPARATORS`)."""
    top = values.max(skipna=True)
    axis: dict = {"rangemode": "tozero", "tickformat": ",d", "fixedrange": True}
    if pd.isna(top) or top <= 0:
        axis.update(range=[0, 1], tickvals=[0, 1], ticktext=["0", "1"])
    elif top < 5:
        axis.update(tick0=0, dtick=1)
    return axis


# --- distribution of ESMS rates -----------------------------------------------------------
def _percent_scale(values: pd.Series) -> tuple[float, float, list[float]]:
    """Round bounds within 0–100 % framing ``values`` (fractions), and the 2 to 9 round ticks
    from one bound to the other (steps of 1, 2, 5, 10, 20 or 25 %)."""
    lo, hi = (float(values.min()), float(values.max())) if len(values) else (0.0, 1.0)
    step = next(s for s in (0.01, 0.02, 0.05, 0.1, 0.2, 0.25) if max(hi - lo, 0.01) / s <= 8)
    start = max(0.0, math.floor(round(lo / step, 6)) * step)
    end = min(1.0, math.ceil(round(hi / step, 6)) * step)
    if end - start < step:
        start, end = max(0.0, start - step), min(1.0, end + step)
    ticks = [round(start + i * step, 4) for i in range(round((end - start) / step) + 1)]
    return round(start, 4), round(end, 4), ticks


def _tick_labels(ticks: list[float]) -> dict:
    return {"tickvals": ticks, "ticktext": [formats.fr_percent(v, 0) for v in ticks]}


# Beyond this, the distribution would cost seconds to draw (a national comparison has 40,000
# ESMS): boxes without points.
MAX_POINTS = 2_000


def distribution_figure(
    frame: pd.DataFrame,
    rate_label: str,
    grouping: str = "ensemble",
    target: float | None = None,
    *,
    max_groups: int = compare.MAX_GROUPS,
    max_points: int = MAX_POINTS,
    masks: masking.Suppression | None = None,
) -> go.Figure:
    """Box plot of the computed ESMS rates with every ESMS as a point (hover: name, FINESS,
    rate in French), one row per group of ``grouping`` (a key of `compare.GROUPINGS`), lowest
    median at the top; a dashed green line marks the target when set. Box statistics have no
    hover (their labels would be English): quartiles are given beside the figure.

    At most ``max_groups`` groups, those with the lowest medians. Beyond ``max_points`` ESMS
    in the groups drawn, the points are left out and each box comes from its quartiles, its
    whiskers from the lowest to the highest rate (`compare.distribution_groups` tells the
    page).

    With ``masks``: no point, box or whisker uses a masked ESMS's rate (the figure holds
    only the rates shown), and a group of fewer than `masking.MIN_GROUP` rates shown has its
    points without a box (no median, no quartile), or nothing beyond ``max_points``."""
    column, group_name = compare.GROUPINGS[grouping]
    groups, _ = compare.distribution_groups(frame, grouping, max_groups, masks)
    points = sum(len(sub) for _, sub in groups) <= max_points
    fig = go.Figure()
    for name, sub in groups:
        boxed = masks is None or len(sub) >= masking.MIN_GROUP
        if points:
            fig.add_trace(_box(name, sub, rate_label, boxed=boxed))
        elif boxed:
            fig.add_trace(_quartile_box(name, sub))
    shown = pd.concat([sub["taux"] for _, sub in groups]) if groups else pd.Series(dtype=float)
    framed = shown if target is None else pd.concat([shown, pd.Series([target])])
    start, end, ticks = _percent_scale(framed)
    pad = (ticks[1] - ticks[0]) / 4
    fig.update_xaxes(title_text=rate_label, range=[start - pad, end + pad], **_tick_labels(ticks))
    fig.update_yaxes(title_text=group_name if column else None, automargin=True)
    if target is not None:
        fig.add_vline(
            x=target,
            line_dash="dash",
            line_color=GREEN,
            annotation_text=f"Cible : {formats.fr_percent(target, 0)}",
            annotation_position="top",
        )
    return style(fig, height=distribution_height(len(fig.data)))


def distribution_height(n_groups: int) -> int:
    """Height in pixels of a distribution of ``n_groups`` rows."""
    return 160 + 42 * n_groups


def _box(name: str, sub: pd.DataFrame, rate_label: str, *, boxed: bool = True) -> go.Box:
    """A box with every ESMS as a point, hovered in French; without ``boxed``, the points
    alone (the box's lines are not drawn)."""
    esc = escape_plotly  # names come from the files: Plotly reads <b>, <br>, <a href> in them
    hover = [
        f"<b>{esc(e)}</b> ({esc(f)})<br>{esc(rate_label)} : {formats.fr_percent(t)}<br>"
        f"{esc(og)} · {esc(dep)}"
        for e, f, t, og, dep in zip(
            sub["etablissement"],
            sub["finess_et"],
            sub["taux"],
            sub["og_libelle"],
            sub["departement_libelle"],
            strict=True,
        )
    ]
    return go.Box(
        x=sub["taux"],
        y=[_short(name)] * len(sub),
        name=_short(name),
        orientation="h",
        boxpoints="all",
        jitter=0.6,
        pointpos=0,
        hoveron="points",
        customdata=hover,
        hovertemplate="%{customdata}<extra></extra>",
        marker={"color": POINT_COLOR, "size": 9, "opacity": 0.75},
        line={"color": GREY, "width": 1 if boxed else 0},
        fillcolor="rgba(0,0,0,0)",
        showlegend=False,
    )


def _quartile_box(name: str, sub: pd.DataFrame) -> go.Box:
    """A box drawn from its quartiles (linear interpolation, as `compare.summary`) and
    extremes: five numbers sent to the browser instead of thousands of points."""
    rates = sub["taux"].astype(float)
    return go.Box(
        y=[_short(name)],
        name=_short(name),
        orientation="h",
        q1=[rates.quantile(0.25)],
        median=[rates.median()],
        q3=[rates.quantile(0.75)],
        lowerfence=[rates.min()],
        upperfence=[rates.max()],
        hoverinfo="skip",
        line={"color": GREY, "width": 1},
        fillcolor="rgba(0,0,0,0)",
        showlegend=False,
    )


def _short(text: str, width: int = 40) -> str:
    """A group's name for a Plotly axis: cut to ``width`` characters, then escaped."""
    return escape_plotly(text if len(text) <= width else text[: width - 1] + "…")


# --- maps by département ------------------------------------------------------------------
@cache
def _geojson(name: str) -> dict:
    text = (resources.files("dui_metrics") / "data" / "geo" / name).read_text(encoding="utf-8")
    return json.loads(text)


def departements_geojson() -> dict:
    """Metropolitan départements (96 features, property ``code``), read once per process."""
    return _geojson("departements-version-simplifiee.geojson")


def outre_mer_geojson() -> dict:
    """The five overseas départements (971, 972, 973, 974, 976), read once per process."""
    return _geojson("departements-outre-mer.geojson")


def _features(geojson: dict, codes: Iterable[str]) -> dict:
    wanted = set(codes)
    return {
        "type": "FeatureCollection",
        "features": [f for f in geojson["features"] if f["properties"]["code"] in wanted],
    }


def map_hover(deps: pd.DataFrame, measure: str) -> list[str]:
    """French hover text per département: ``Rhône : 72,4 % (12 ESMS)`` for the weighted
    rate (count of ESMS where the rate exists), ``Rhône : 50,0 % des ESMS prêts pour la VA
    (1 sur 2)`` for readiness; a département without a rate says so, a masked one (``masque``)
    gives no value."""
    texts = []
    for row in deps.itertuples(index=False):
        if measure == "taux":
            if getattr(row, "masque", False):
                texts.append(
                    f"{row.departement_nom} : taux masqué, petits effectifs "
                    f"({formats.fr_int(row.nb_esms)} ESMS)"
                )
            elif pd.isna(row.taux_pondere):
                texts.append(
                    f"{row.departement_nom} : taux non calculable "
                    f"({formats.fr_int(row.nb_esms)} ESMS sans taux)"
                )
            else:
                texts.append(
                    f"{row.departement_nom} : {formats.fr_percent(row.taux_pondere)} "
                    f"({formats.fr_int(row.nb_esms_taux)} ESMS)"
                )
        else:
            texts.append(
                f"{row.departement_nom} : {formats.fr_percent(row.part_prets)} des ESMS prêts "
                f"pour la VA ({formats.fr_int(row.nb_prets)} sur {formats.fr_int(row.nb_esms)})"
            )
    return texts


MAP_HEIGHT = 520
OVERSEAS_MAP_HEIGHT = 220


def departement_maps(
    deps: pd.DataFrame, measure: str = "taux"
) -> tuple[go.Figure | None, list[tuple[str, go.Figure]]]:
    """Choropleths of `compare.by_departement` coloured by ``measure`` (a key of
    `compare.MAP_MEASURES`): the weighted rate or the share of ESMS ready for the VA, on a
    Cividis scale spanning the values shown (round bounds, the same on every map: differences
    of a few points stay visible; hovers and the table give the values).

    Returns the metropolitan map (None when no metropolitan département is shown) and one
    small map per overseas département shown, named (its title). The other départements of
    the régions shown are drawn in grey for context (hover: « aucun ESMS sélectionné »); a
    département whose weighted rate cannot be computed is grey too, its hover says why, and
    so is one whose weighted rate is masked (``masque``; its value is nowhere in the figure).
    No basemap. Styled (`style`), `MAP_HEIGHT` and `OVERSEAS_MAP_HEIGHT` high.
    """
    value_col = "taux_pondere" if measure == "taux" else "part_prets"
    if measure == "taux" and "masque" in deps:  # a masked rate is no colour either
        deps = deps.assign(taux_pondere=deps["taux_pondere"].mask(deps["masque"].astype(bool)))
    known = deps[deps["departement"].notna()]
    hover = dict(zip(known["departement"], map_hover(known, measure), strict=True))
    valued = known[known[value_col].notna()]
    grey = {c: hover[c] for c in known.loc[known[value_col].isna(), "departement"]}
    for region in known["region"].dropna().unique():
        for code in _departements_of_region(region):
            if code not in hover:
                grey[code] = f"{finess.departement_name(code)} : aucun ESMS sélectionné"
    scale = _percent_scale(valued[value_col].astype(float))
    metro = [c for c in valued["departement"] if not c.startswith("97")]
    metro_grey = {c: t for c, t in grey.items() if not c.startswith("97")}
    metro_fig = None
    if metro or metro_grey:
        metro_fig = _choropleth(
            departements_geojson(), valued, value_col, hover, metro, metro_grey, measure, scale
        )
        style(metro_fig, height=MAP_HEIGHT)
    overseas = []
    shown = [c for c in valued["departement"] if c.startswith("97")]
    for code in sorted(shown):
        fig = _choropleth(outre_mer_geojson(), valued, value_col, hover, [code], {}, measure, scale)
        name = finess.departement_name(code) or code
        fig.update_traces(showscale=False)
        style(fig, height=OVERSEAS_MAP_HEIGHT).update_layout(title_text=escape_plotly(name))
        overseas.append((name, fig))
    return metro_fig, overseas


@cache
def _region_departements() -> dict[str, tuple[str, ...]]:
    codes = [f["properties"]["code"] for f in departements_geojson()["features"]]
    by_region: dict[str, list[str]] = {}
    for code in codes:
        region = finess.region_of_departement(code)
        if region:
            by_region.setdefault(region[0], []).append(code)
    return {r: tuple(sorted(c)) for r, c in by_region.items()}


def _departements_of_region(region: str) -> tuple[str, ...]:
    return _region_departements().get(region, ())


def _choropleth(
    geojson: dict,
    valued: pd.DataFrame,
    value_col: str,
    hover: dict[str, str],
    codes: list[str],
    grey: dict[str, str],
    measure: str,
    scale: tuple[float, float, list[float]],
) -> go.Figure:
    fig = go.Figure()
    if grey:
        fig.add_trace(
            go.Choropleth(
                geojson=_features(geojson, grey),
                featureidkey="properties.code",
                locations=list(grey),
                z=[0] * len(grey),
                colorscale=[[0, BACKGROUND_COLOR], [1, BACKGROUND_COLOR]],
                showscale=False,
                customdata=list(grey.values()),
                hovertemplate="%{customdata}<extra></extra>",
                marker_line={"color": "white", "width": 0.8},
            )
        )
    if codes:
        rows = valued.set_index("departement").loc[codes]
        fig.add_trace(
            go.Choropleth(
                geojson=_features(geojson, codes),
                featureidkey="properties.code",
                locations=codes,
                z=rows[value_col].astype(float).tolist(),
                zmin=scale[0],
                zmax=scale[1],
                colorscale=COLORSCALE,
                customdata=[hover[c] for c in codes],
                hovertemplate="%{customdata}<extra></extra>",
                marker_line={"color": "white", "width": 0.8},
                # Under the map, across: on a phone a vertical bar would take half the width.
                colorbar={
                    "title": {"text": compare.MAP_MEASURES[measure], "side": "top"},
                    "orientation": "h",
                    "x": 0.5,
                    "xanchor": "center",
                    "y": 0,
                    "yanchor": "top",
                    "len": 0.8,
                    "thickness": 12,
                    **_tick_labels(scale[2]),
                },
            )
        )
    fig.update_geos(fitbounds="locations", visible=False)
    return fig
