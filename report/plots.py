"""The report's plots (plotly): every bar and point shows its numbers on hover."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from pts.report.figures import NET_NAMES, NETS, time_unit

COLORS = {"run": "#4c78a8", "skipped": "#b7c9e2", "saved": "#e45756", "caught": "#54a24b",
          "missed": "#e45756", "would": "#f58518", "line": "#4c78a8",
          "rate": "#e45756"}  # fmt: skip
NET_COLORS = {"ranked": "#4c78a8", "must_run": "#f58518", "starved": "#72b7b2",
              "full_run": "#b279a2"}  # fmt: skip


WEEK_MS = 7 * 24 * 3600 * 1000
FEW_WEEKS = 10


def _layout(figure: go.Figure, weeks: pd.Series | None = None, **axes: str) -> go.Figure:
    """The common look; with `weeks`, an x axis of whole weeks (plotly would show the hours of
    a single week)."""
    figure.update_layout(
        height=360, margin={"l": 60, "r": 20, "t": 30, "b": 40}, hovermode="x unified",
        legend={"orientation": "h", "y": 1.12}, template="plotly_white", **axes,
    )  # fmt: skip
    if weeks is not None:
        days = pd.to_datetime(weeks).sort_values()
        figure.update_xaxes(type="date", tickformat="%b %d, %Y", hoverformat="week of %b %d, %Y")
        figure.update_traces(width=0.7 * WEEK_MS, selector={"type": "bar"})  # a lone week's too
        if days.iloc[-1] - days.iloc[0] <= pd.Timedelta(weeks=FEW_WEEKS):
            half = pd.Timedelta(days=4)
            figure.update_xaxes(
                range=[days.iloc[0] - half, days.iloc[-1] + half], dtick=WEEK_MS, tick0=days.iloc[0]
            )
    return figure


def savings(weekly: pd.DataFrame) -> go.Figure:
    figure = make_subplots(specs=[[{"secondary_y": True}]])
    figure.add_bar(x=weekly["week"], y=weekly["tests_run"], name="tests run",
                   marker_color=COLORS["run"])  # fmt: skip
    figure.add_bar(x=weekly["week"], y=weekly["tests_skipped"], name="tests skipped",
                   marker_color=COLORS["skipped"])  # fmt: skip
    divisor, unit = time_unit(float(weekly["time_saved_s"].max()))
    figure.add_scatter(x=weekly["week"], y=(weekly["time_saved_s"] / divisor).round(2),
                       name=f"{unit} of tests saved", mode="lines+markers",
                       marker_color=COLORS["saved"], secondary_y=True)  # fmt: skip
    figure.update_layout(barmode="stack")
    figure.update_yaxes(title_text="tests", secondary_y=False)
    figure.update_yaxes(title_text=f"{unit} saved", secondary_y=True, rangemode="tozero")
    return _layout(figure, weekly["week"], xaxis_title="week (from Monday)")


def catches(weekly: pd.DataFrame) -> go.Figure:
    figure = go.Figure()
    for column, name, color in (
        ("caught", "failing tests the subset held", COLORS["caught"]),
        ("missed", "failing tests it left out", COLORS["missed"]),
        ("would_have_missed", "failing tests it would have left out (observed builds)",
         COLORS["would"]),
    ):  # fmt: skip
        figure.add_bar(x=weekly["week"], y=weekly[column], name=name, marker_color=color)
    figure.update_layout(barmode="stack")
    return _layout(
        figure, weekly["week"], xaxis_title="week (from Monday)", yaxis_title="failing tests"
    )


def ranked_bars(frame: pd.DataFrame, value: str, title: str, hover: dict[str, str]) -> go.Figure:
    """Horizontal bars, one per test, the largest on top; `hover` columns shown with each."""
    frame = frame.iloc[::-1]
    extra = "".join(f"<br>{label}: %{{customdata[{i}]}}" for i, label in enumerate(hover.values()))
    figure = go.Figure(go.Bar(
        x=frame[value], y=frame["test_id"], orientation="h", marker_color=COLORS["line"],
        customdata=frame[list(hover)].to_numpy(),
        hovertemplate=f"%{{y}}<br>{title}: %{{x}}{extra}<extra></extra>",
    ))  # fmt: skip
    figure = _layout(figure, xaxis_title=title)
    figure.update_layout(height=max(240, 28 * len(frame) + 80), hovermode="closest")
    figure.update_yaxes(automargin=True)
    return figure


def failure_rate(weekly: pd.DataFrame) -> go.Figure:
    figure = go.Figure()
    figure.add_scatter(x=weekly["week"], y=weekly["failure_rate"], name="results that failed",
                       mode="lines+markers", marker_color=COLORS["rate"],
                       customdata=weekly[["failures", "results"]].to_numpy(),
                       hovertemplate="%{y:.2%} (%{customdata[0]} of %{customdata[1]})")  # fmt: skip
    figure.add_scatter(x=weekly["week"], y=weekly["failing_build_share"],
                       name="builds with a failure", mode="lines+markers",
                       marker_color=COLORS["line"],
                       customdata=weekly[["failing_builds", "builds"]].to_numpy(),
                       hovertemplate="%{y:.2%} (%{customdata[0]} of %{customdata[1]})")  # fmt: skip
    figure.update_yaxes(tickformat=".0%", rangemode="tozero")
    return _layout(figure, weekly["week"], xaxis_title="week (from Monday)", yaxis_title="share")


def model_quality(weekly: pd.DataFrame) -> go.Figure:
    figure = go.Figure()
    figure.add_scatter(x=weekly["week"], y=weekly["roc_auc"], name="ROC AUC",
                       mode="lines+markers", marker_color=COLORS["line"], connectgaps=False,
                       customdata=weekly[["results", "failures"]].to_numpy(),
                       hovertemplate="%{y:.3f} (%{customdata[1]} failures in "
                                     "%{customdata[0]} results)")  # fmt: skip
    figure.update_yaxes(range=[0, 1.02])
    return _layout(figure, weekly["week"], xaxis_title="week (from Monday)", yaxis_title="ROC AUC")


def calibration(bands: pd.DataFrame) -> go.Figure:
    figure = go.Figure()
    top = max(float(bands["mean_predicted"].max()), float(bands["failure_rate"].max()), 0.01)
    figure.add_scatter(x=[0, top], y=[0, top], mode="lines", name="calibrated",
                       line={"dash": "dot", "color": "#999"}, hoverinfo="skip")  # fmt: skip
    figure.add_scatter(
        x=bands["mean_predicted"], y=bands["failure_rate"], mode="markers+text", name="bands",
        text=bands["band"], textposition="top center", marker={"size": 12, "color": COLORS["rate"]},
        customdata=bands[["band", "results", "failures"]].to_numpy(),
        hovertemplate="chance %{customdata[0]}: predicted %{x:.2%}, failed %{y:.2%} "
                      "(%{customdata[2]} of %{customdata[1]})<extra></extra>",
    )  # fmt: skip
    figure.update_xaxes(tickformat=".0%")
    figure.update_yaxes(tickformat=".0%")
    figure = _layout(figure, xaxis_title="mean predicted chance of failing",
                     yaxis_title="share that failed")  # fmt: skip
    figure.update_layout(hovermode="closest")
    return figure


def net_shares(weekly: pd.DataFrame) -> go.Figure:
    figure = go.Figure()
    for column in ("ranked", *NETS):
        figure.add_bar(x=weekly["week"], y=weekly[column], name=f"chosen by {NET_NAMES[column]}",
                       marker_color=NET_COLORS[column])  # fmt: skip
    figure.update_layout(barmode="stack")
    return _layout(
        figure, weekly["week"], xaxis_title="week (from Monday)", yaxis_title="tests chosen"
    )
