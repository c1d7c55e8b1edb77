"""The report as one self-contained HTML page: plotly's JavaScript inlined once, one section per
project, each with the same parts in the same order; a part with nothing to show says so."""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from pts.report import figures, plots
from pts.report.history import History

PLOT_CONFIG = {"displaylogo": False, "responsive": True, "toImageButtonOptions": {"format": "png"}}
STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h1 { margin-bottom: 0.2em; } h2 { border-bottom: 2px solid #4c78a8; padding-bottom: 0.2em; }
.part { margin: 1.5em 0 2.5em; } .empty { color: #666; font-style: italic; }
table { border-collapse: collapse; width: 100%; font-size: 0.9em; }
th, td { border-bottom: 1px solid #ddd; padding: 0.4em; text-align: left; vertical-align: top; }
nav a { margin-right: 1em; } .meta { color: #666; }
"""


@dataclass(frozen=True)
class Part:
    """One part of a project's section: its anchor, title, a sentence, and a plot or table
    (None: the sentence says there is nothing to show)."""

    key: str
    title: str
    sentence: str
    body: go.Figure | str | None


PARTS = (
    ("savings", "Tests run, skipped, and time saved per week"),
    ("catches", "Failures the subsets caught and missed"),
    ("failure-rate", "Failure rate over time"),
    ("flaky", "Flakiest tests"),
    ("slowest", "Slowest tests"),
    ("model-quality", "Model quality over time: ROC AUC"),
    ("calibration", "Model calibration: predicted chance against failures"),
    ("champions", "Changes of the serving ranker, and why"),
    ("safety-nets", "Safety nets' share of the subsets"),
)
"""Every project's section has these parts, in this order."""


def render(history: History, generated: str) -> str:
    """The whole page for the projects of `history`."""
    nav = " ".join(f'<a href="#{_anchor(p)}">{html.escape(p)}</a>' for p in history.projects)
    sections = [_project_section(history.of(p), p) for p in history.projects]
    if not sections:
        sections = ['<p class="empty">The history holds no project yet: nothing was recorded.</p>']
    plural = "" if len(history.projects) == 1 else "s"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>pts report: {html.escape(", ".join(history.projects) or "no project")}</title>
<style>{STYLE}</style>
<script type="text/javascript">{get_plotlyjs()}</script>
</head><body>
<h1>Predictive test selection: report</h1>
<p class="meta">{len(history.projects)} project{plural}, generated {html.escape(generated)}.
Hover over a plot for its numbers; weeks start on Monday and are the weeks the builds ran.</p>
<nav>{nav}</nav>
{"".join(sections)}
</body></html>
"""


def _anchor(project: str) -> str:
    return "project-" + "".join(c if c.isalnum() else "-" for c in project)


def _project_section(history: History, project: str) -> str:
    parts = [builder(history) for builder in BUILDERS]
    body = "".join(_part_html(project, part) for part in parts)
    return (
        f'<section class="project" id="{_anchor(project)}">'
        f"<h2>{html.escape(project)}</h2><p>{html.escape(overview(history))}</p>{body}</section>"
    )


def _part_html(project: str, part: Part) -> str:
    if part.body is None:
        content = f'<p class="empty">{html.escape(part.sentence)}</p>'
    else:
        content = f"<p>{html.escape(part.sentence)}</p>"
        if isinstance(part.body, str):
            content += part.body
        else:
            content += part.body.to_html(
                full_html=False, include_plotlyjs=False, config=PLOT_CONFIG,
                div_id=f"{_anchor(project)}-{part.key}-plot",
            )  # fmt: skip
    return (
        f'<div class="part" data-part="{part.key}" id="{_anchor(project)}-{part.key}">'
        f"<h3>{part.title}</h3>{content}</div>"
    )


def overview(history: History) -> str:
    """One sentence of what the history holds for the project."""
    weeks = history.build_weeks
    if weeks.empty:
        return "No build or test result was recorded yet."
    asked = len(history.subset_builds)
    first, last = str(weeks["week"].min())[:10], str(weeks["week"].max())[:10]
    return (
        f"{_count(int(weeks['builds'].sum()), 'build')} with "
        f"{_count(int(weeks['results'].sum()), 'test result')} in the weeks from {first} to "
        f"{last}; {_count(asked, 'build')} asked for a subset."
    )


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def _share(part: float, whole: float) -> str:
    return f"{part / whole:.0%}" if whole else "-"


def _savings(history: History) -> Part:
    key, title = PARTS[0]
    if history.subset_builds.empty:
        return Part(key, title, "No subset was asked yet.", None)
    weekly = figures.savings_by_week(history.subset_builds)
    if weekly.empty:
        return Part(key, title, "Every subset so far was only observed (pts subset --observe): "
                    "those builds ran every test, so none was skipped yet.", None)  # fmt: skip
    run, skipped = int(weekly["tests_run"].sum()), int(weekly["tests_skipped"].sum())
    sentence = (
        f"Over {_count(int(weekly['answers'].sum()), 'build')} that ran their subset, "
        f"{_count(run, 'test')} ran and {skipped:,} were skipped "
        f"({_share(skipped, run + skipped)}), saving about "
        f"{figures.duration(weekly['time_saved_s'].sum())} of test time (each skipped test "
        "counted at its mean duration)."
    )
    return Part(key, title, sentence, plots.savings(weekly))


def _catches(history: History) -> Part:
    key, title = PARTS[1]
    if history.caught.empty:
        return Part(key, title, "No build that asked for a subset has failed yet.", None)
    summary = figures.catch_summary(history.caught)
    sentence = (
        f"Of {_count(summary.failing_builds, 'failing build')} that asked for a subset, the "
        f"subset held a failing test in {summary.builds_caught} "
        f"({_share(summary.builds_caught, summary.failing_builds)}), and "
        f"{summary.caught:,} of their {_count(summary.failed, 'failing test')} "
        f"({_share(summary.caught, summary.failed)}). A failure left out shows only when the "
        "test ran anyway."
    )
    if summary.observed_builds:
        missed = summary.would_have_missed
        named = ", ".join(missed[:5]) + (f" and {len(missed) - 5} more" if len(missed) > 5 else "")
        sentence += (
            f" In {_count(summary.observed_builds, 'observed build')} the subset would have "
            + (f"missed {named}." if missed else "missed no failing test.")
        )
    return Part(key, title, sentence, plots.catches(figures.catches_by_week(history.caught)))


def _failure_rate(history: History) -> Part:
    key, title = PARTS[2]
    weekly = figures.failure_rate_by_week(history.build_weeks)
    if weekly.empty:
        return Part(key, title, "No test result was recorded yet.", None)
    sentence = (
        f"{_share(weekly['failures'].sum(), weekly['results'].sum())} of all results failed, and "
        f"{_share(weekly['failing_builds'].sum(), weekly['builds'].sum())} of builds had a "
        "failing test."
    )
    return Part(key, title, sentence, plots.failure_rate(weekly))


def _flaky(history: History) -> Part:
    key, title = PARTS[3]
    flaky = history.flaky
    if flaky.empty:
        return Part(key, title, "No test has flipped between passing and failing yet.", None)
    sentence = (
        f"{_count(int(flaky['flipping_tests'].iloc[0]), 'test')} flipped between passing and "
        f"failing from one run to the next; the {len(flaky)} with the most flips are shown."
    )
    figure = plots.ranked_bars(
        flaky, "flips", "flips", {"runs": "runs", "failures": "failures", "flip_rate": "flip rate"}
    )
    return Part(key, title, sentence, figure)


def _slowest(history: History) -> Part:
    key, title = PARTS[4]
    slowest = history.slowest
    if slowest.empty:
        return Part(key, title, "No test result was recorded yet.", None)
    sentence = f"The {len(slowest)} tests with the longest mean duration, in seconds."
    figure = plots.ranked_bars(
        slowest, "mean_s", "mean seconds", {"runs": "runs", "total_s": "total seconds"}
    )
    return Part(key, title, sentence, figure)


def _model_quality(history: History) -> Part:
    key, title = PARTS[5]
    weekly = history.quality_weeks
    if weekly.empty:
        return Part(key, title, "The model has made no prediction yet.", None)
    scored = weekly.dropna(subset=["roc_auc"])
    if scored.empty:
        made = _count(int(weekly["results"].sum()), "prediction")
        sentence = f"The model made {made}, but no week had both a failure and a pass to score."
        return Part(key, title, sentence, None)
    last = scored.iloc[-1]
    sentence = (
        f"ROC AUC of the predictions made before each result was learned (1 ranks every failure "
        f"first, 0.5 is chance); the week of {str(last['week'])[:10]} scored "
        f"{last['roc_auc']:.3f}. Weeks without a failure are left out."
    )
    weekly = weekly.assign(week=pd.to_datetime(weekly["week"]).dt.strftime("%Y-%m-%d"))
    return Part(key, title, sentence, plots.model_quality(weekly))


def _calibration(history: History) -> Part:
    key, title = PARTS[6]
    bands = history.calibration
    if bands.empty:
        return Part(key, title, "The model has made no prediction yet.", None)
    auc = bands["roc_auc"].dropna()
    sentence = (
        "Each band of predicted chance against the share of its results that failed; a "
        "calibrated model's bands sit on the dotted line."
        + (f" ROC AUC over all predictions: {auc.iloc[0]:.3f}." if not auc.empty else "")
    )
    return Part(key, title, sentence, plots.calibration(bands))


def _champions(history: History) -> Part:
    key, title = PARTS[7]
    changes = figures.champion_changes(history.champions)
    if not changes:
        return Part(key, title, "The serving ranker has not changed yet: the first champion "
                    "still serves.", None)  # fmt: skip
    rows = "".join(
        f"<tr><td>{html.escape(c.decided_at)}</td><td>{html.escape(c.targets)}</td>"
        f"<td>{html.escape(c.previous)} &rarr; <b>{html.escape(c.champion)}</b></td>"
        f"<td>{html.escape(c.reason)}</td></tr>"
        for c in changes
    )
    table = (
        "<table><thead><tr><th>when (UTC)</th><th>serving</th><th>change</th><th>why</th>"
        f"</tr></thead><tbody>{rows}</tbody></table>"
    )
    sentence = (
        f"{_count(len(changes), 'change')} of champion: a challenger takes over when its record "
        "on the recent failing builds beats the champion's."
    )
    return Part(key, title, sentence, table)


def _safety_nets(history: History) -> Part:
    key, title = PARTS[8]
    weekly = figures.net_shares(history.subset_builds)
    if weekly.empty:
        return Part(key, title, "No subset was asked yet.", None)
    chosen = int(weekly["tests_run"].sum())
    added = {net: int(weekly[net].sum()) for net in figures.NETS}
    nets = ", ".join(f"{figures.NET_NAMES[n]} {count:,}" for n, count in added.items())
    sentence = (
        f"Of {_count(chosen, 'test')} chosen for subsets, the safety nets added "
        f"{sum(added.values()):,} ({_share(sum(added.values()), chosen)}): {nets}."
    )
    return Part(key, title, sentence, plots.net_shares(weekly))


BUILDERS: tuple[Callable[[History], Part], ...] = (
    _savings, _catches, _failure_rate, _flaky, _slowest, _model_quality, _calibration,
    _champions, _safety_nets,
)  # fmt: skip
