"""Reusable charts and table styles: pure functions from DataFrames to chart objects.

No Streamlit calls here (pages render what these return), so every builder can be tested by
calling it and inspecting ``chart.to_dict()``, or the spec itself where the builder returns a
Vega-Lite spec as a plain dict (the reliability report's charts: building and validating an
Altair chart cost more than the rest of that page's rendering, about 40 ms a visit at scale L,
issue 16; the tests validate those specs against the Vega-Lite schema instead).
"""

from __future__ import annotations

from typing import Optional

import altair as alt
import pandas as pd

THRESHOLD_COLOR = "#c0392b"
PASS_BACKGROUND = "background-color: #d4edda; font-weight: 600"


def _quantitative(field: str, **extra) -> dict:
    return {"field": field, "type": "quantitative", **extra}


def bland_altman_chart(points: pd.DataFrame, bias: float, lower: float, upper: float,
                       title: str = "", value_label: str = "total score") -> dict:
    """Bland-Altman plot (a Vega-Lite spec): difference (A - B) against the mean of the two ratings.

    ``points`` has columns mean, difference and session; the solid rule is the bias, the
    dashed rules the 95 % limits of agreement (bias +/- 1.96 SD; Bland & Altman 1986).
    """
    y_title = f"difference in {value_label} (A - B)"
    lines = [{"value": float(bias), "line": "bias", "dash": "solid"},
             {"value": float(lower), "line": "lower limit of agreement", "dash": "limit"},
             {"value": float(upper), "line": "upper limit of agreement", "dash": "limit"}]
    return {
        "title": title or "Bland-Altman plot", "height": 320,
        "datasets": {"zero": [{"value": 0.0}], "limits": lines,
                     "points": points[["mean", "difference", "session"]].to_dict("records")},
        "layer": [
            {"data": {"name": "zero"}, "mark": {"type": "rule", "color": "#888888", "opacity": 0.5},
             "encoding": {"y": _quantitative("value", title=y_title)}},
            {"data": {"name": "limits"}, "mark": {"type": "rule", "color": THRESHOLD_COLOR},
             "encoding": {"y": _quantitative("value", title=y_title),
                          "strokeDash": {"field": "dash", "type": "nominal", "legend": None,
                                         "scale": {"domain": ["solid", "limit"], "range": [[1, 0], [6, 4]]}},
                          "tooltip": [{"field": "line", "type": "nominal"},
                                      _quantitative("value", format=".2f")]}},
            {"data": {"name": "points"}, "mark": {"type": "circle", "size": 70, "opacity": 0.8},
             "encoding": {"x": _quantitative("mean", title=f"mean of the two raters' {value_label}",
                                             scale={"zero": False}),
                          "y": _quantitative("difference", title=y_title),
                          "tooltip": [{"field": "session", "type": "nominal", "title": "session"},
                                      _quantitative("mean", format=".2f"),
                                      _quantitative("difference", format=".2f")]}},
        ],
    }


def drift_chart(series: pd.DataFrame, threshold: float, title: str = "",
                y_title: str = "agreement with the expert", color_by: Optional[str] = "rater") -> alt.LayerChart:
    """Agreement over time (one line per rater) with the certification threshold as a rule.

    ``series`` has columns date (ISO day or date), value and, when ``color_by`` is given,
    that column (e.g. rater).
    """
    data = series.copy()
    data["date"] = pd.to_datetime(data["date"])
    enc = {
        "x": alt.X("date:T", title="calibration date"),
        "y": alt.Y("value:Q", title=y_title, scale=alt.Scale(domain=[min(0.0, float(data["value"].min())
                                                                              if len(data) else 0.0), 1.0])),
        "tooltip": [alt.Tooltip("date:T"), alt.Tooltip("value:Q", format=".2f")],
    }
    if color_by and color_by in data.columns:
        enc["color"] = alt.Color(f"{color_by}:N", title=color_by)
        enc["tooltip"] = [alt.Tooltip(f"{color_by}:N")] + enc["tooltip"]
    lines = alt.Chart(data).mark_line(point=True).encode(**enc)
    rule = alt.Chart(pd.DataFrame({"threshold": [threshold]})).mark_rule(
        color=THRESHOLD_COLOR, strokeDash=[6, 4]).encode(y="threshold:Q", tooltip=[alt.Tooltip("threshold:Q")])
    return (lines + rule).properties(title=title or "Agreement over time", height=300)


def variance_components_chart(components: pd.DataFrame) -> dict:
    """Horizontal bars of each variance component's share of the total (G study; a Vega-Lite spec)."""
    shown = components[["component", "variance", "share"]].to_dict("records")
    return {
        "height": 160, "description": "Share of the total variance of each component: " + ", ".join(
            f"{c} {s:.0%}" for c, s in zip(components["component"], components["share"])),
        "datasets": {"components": shown}, "data": {"name": "components"}, "mark": {"type": "bar"},
        "encoding": {"x": _quantitative("share", title="share of total variance", axis={"format": "%"}),
                     "y": {"field": "component", "type": "nominal", "title": None, "sort": "-x"},
                     "tooltip": [{"field": "component", "type": "nominal"}, _quantitative("variance", format=".3f"),
                                 _quantitative("share", format=".0%")]},
    }


def mastery_lines(scores: pd.DataFrame, threshold: Optional[float] = None, x: str = "date", y: str = "score",
                  color: Optional[str] = None, title: str = "") -> alt.LayerChart | alt.Chart:
    """Scores over time, one line per ``color`` group, with an optional pass line."""
    data = scores.copy()
    data[x] = pd.to_datetime(data[x])
    enc = {"x": alt.X(f"{x}:T", title=x), "y": alt.Y(f"{y}:Q", title=y)}
    if color:
        enc["color"] = alt.Color(f"{color}:N", title=color)
    chart = alt.Chart(data).mark_line(point=True).encode(**enc).properties(title=title or "", height=280)
    if threshold is None:
        return chart
    rule = alt.Chart(pd.DataFrame({"t": [threshold]})).mark_rule(color=THRESHOLD_COLOR, strokeDash=[6, 4]).encode(y="t:Q")
    return chart + rule


def highlight_at_least(table: pd.DataFrame, threshold: float, digits: int = 2):
    """A pandas Styler that shades the cells at or above ``threshold`` (e.g. the D-study table)."""
    return table.style.format(f"{{:.{digits}f}}").map(
        lambda v: PASS_BACKGROUND if v is not None and pd.notna(v) and v >= threshold else "")


def latest_by_group(data: pd.DataFrame, value: str, group: Optional[str], fmt=lambda v: f"{v:.2f}",
                    date: str = "date") -> str:
    """A chart's text alternative (WCAG 1.1.1): the latest value of each line, in words."""
    if data.empty:
        return "no data yet"
    ordered = data.sort_values(date)
    span = f"{len(ordered)} point{'s' if len(ordered) != 1 else ''} from {str(ordered[date].iloc[0])[:10]} " \
           f"to {str(ordered[date].iloc[-1])[:10]}"
    if not group or group not in ordered.columns:
        return f"{span}; latest {fmt(ordered[value].iloc[-1])}"
    last = ordered.groupby(group, sort=True)[value].last()
    return f"{span}; latest " + ", ".join(f"{g} {fmt(v)}" for g, v in last.items())


def drift_table(series: pd.DataFrame) -> pd.DataFrame:
    """The data of :func:`drift_chart` as a table beside it: date, rater (when given), value."""
    cols = [c for c in ("date", "rater", "value") if c in series.columns]
    out = series.sort_values("date")[cols].copy()
    out["date"] = out["date"].astype(str).str[:10]
    out["value"] = out["value"].map(lambda v: f"{v:.2f}")
    return out.rename(columns={"date": "Calibration date", "rater": "Rater", "value": "ICC(2,1)"})
