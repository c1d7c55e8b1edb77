"""The evaluation report: its figures, a plain-text table, and a recall-against-budget plot."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from pts.evaluation.nets import NetsReport

_STYLES = ("-", "--", ":", "-.")
CURVE = tuple(round(i * 0.05, 2) for i in range(21))  # time budgets 0, 0.05, ..., 1 for the plot


@dataclass
class CycleScore:
    """A scored failing cycle; with replicas, every figure is the mean over them."""

    index: int
    build_id: str
    candidates: int
    failing: int
    apfd: float
    apfdc: float
    caught: dict[float, float]  # budget -> 1.0 if a failure was caught (share of replicas)
    recall: dict[float, float]  # budget -> share of the failing tests caught


@dataclass
class ChampionChange:
    """A change of the served candidate, decided on learning the results of cycle `index`."""

    index: int
    build_id: str
    metric: str  # apfd: confidence targets; apfdc: time budgets
    previous: str
    champion: str
    scored: int  # failing builds the decision rests on


@dataclass
class RankerReport:
    name: str
    replicas: int
    scored: int
    left_out: int
    apfd: float
    apfdc: float
    caught: dict[float, float]  # budget -> share of scored cycles with >= 1 failure caught
    recall: dict[float, float]  # budget -> mean share of failing tests caught
    curve: list[tuple[float, float]]  # (budget, mean share of failing tests caught), 0..1
    cycles: list[CycleScore] = field(default_factory=list)
    rankings: list[list[str]] = field(default_factory=list)  # every cycle; first replica
    incomplete: int = 0  # rankings that left out candidates (they were put last)
    champion_changes: list[ChampionChange] = field(default_factory=list)  # first replica
    nets: NetsReport | None = None  # what the safety nets add, when they were scored


@dataclass
class EvaluationReport:
    history: str
    project: str
    cycles: int
    failing_cycles: int
    scored: int
    left_out: int
    min_candidates: int
    budgets: tuple[float, ...]
    rankers: dict[str, RankerReport]
    elapsed_s: float = 0.0

    def to_dict(self, rankings: bool = True) -> dict[str, Any]:
        """A JSON-ready dict (NaN means become None); without rankings when `rankings` is False."""
        data = _jsonable(asdict(self))
        if not rankings:
            for ranker in data["rankers"].values():
                ranker.pop("rankings")
        return data


def _jsonable(value: Any) -> Any:
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def _cell(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.3f}"


def _align(row: list[str], widths: list[int]) -> list[str]:
    """The first cell left-aligned, the figures right-aligned."""
    cells = zip(row[1:], widths[1:], strict=True)
    return [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in cells]


def format_table(report: EvaluationReport) -> str:
    """Rankers as rows: scored cycles, APFD, APFDc, >=1 failure caught and recall per budget."""
    header = (
        f"{report.history}: {report.cycles} cycles, {report.failing_cycles} failing; "
        f"{report.scored} failing cycles scored, {report.left_out} left out "
        f"(fewer than {report.min_candidates} candidates)"
    )
    budgets = [f"{b * 100:g}%" for b in report.budgets]
    columns = ["ranker", "scored", "APFD", "APFDc"]
    columns += [f"caught@{b}" for b in budgets] + [f"recall@{b}" for b in budgets]
    rows = [columns]
    for name, ranker in report.rankers.items():
        label = name if ranker.replicas == 1 else f"{name} (mean of {ranker.replicas})"
        row = [label, str(ranker.scored), _cell(ranker.apfd), _cell(ranker.apfdc)]
        row += [_cell(ranker.caught[b]) for b in report.budgets]
        row += [_cell(ranker.recall[b]) for b in report.budgets]
        rows.append(row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(columns))]
    lines = ["  ".join(_align(row, widths)) for row in rows]
    notes = [
        "caught@b: share of scored failing cycles where >= 1 failing test runs within b of the "
        "cycle's time; recall@b: mean share of failing tests that do."
    ]
    more = [
        format_changes(n, r.champion_changes)
        for n, r in report.rankers.items()
        if r.champion_changes
    ]
    more += [format_nets(n, r.nets) for n, r in report.rankers.items() if r.nets is not None]
    return "\n".join([header, *lines, *notes, *more])


def format_changes(name: str, changes: list[ChampionChange]) -> str:
    """The changes of champion of a ranker, one line each."""
    lines = [f"{name}: {len(changes)} change(s) of champion"]
    lines += [
        f"  cycle {c.index} ({c.metric}, on {c.scored} failing builds): {c.previous} -> "
        f"{c.champion}"
        for c in changes
    ]
    return "\n".join(lines)


def format_nets(name: str, report: NetsReport) -> str:
    """The safety nets' figures of a ranker, a row per budget."""
    header = (
        f"safety nets of {name} ({report.described}), on {report.builds} cycles and "
        f"{report.scored} scored failing cycles:"
    )
    rows = [["budget", "time added", "cycles extended", "failing missed", "caught by the nets"]]
    for b, time in report.added_time.items():
        cells = (report.extended[b], report.missed[b], report.caught[b])
        rows.append([f"{b * 100:g}%", f"{time:.2%}", *map(str, cells)])
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(_align(row, widths)) for row in rows]
    note = (
        "time added: mean share of a cycle's test time the nets add to the ranking's subset; "
        "failing missed: scored failing cycles whose ranking's subset (the answer's own, cut "
        "on expected durations) runs no failing test; caught by the nets: of those, the ones "
        "where a test a net added fails."
    )
    return "\n".join([header, *lines, note])


def plot(report: EvaluationReport, path: Path) -> Path:
    """A PNG of the mean share of failing tests caught against the time budget, per ranker."""
    figure = Figure(figsize=(7, 4.5), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.subplots()
    for i, (name, ranker) in enumerate(report.rankers.items()):
        budgets = [b * 100 for b, _ in ranker.curve]
        recall = [r for _, r in ranker.curve]
        style = _STYLES[i % len(_STYLES)]  # distinct dashes keep overlapping lines visible
        axes.plot(budgets, recall, linestyle=style, marker=".", label=name)
    axes.set_xlabel("time budget (% of the cycle's test time)")
    axes.set_ylabel("mean share of failing tests caught")
    axes.set_xlim(0, 100)
    axes.set_ylim(0, 1.02)
    axes.grid(alpha=0.3)
    axes.set_title(f"{report.history}: {report.scored} failing cycles scored")
    axes.legend(loc="lower right")
    figure.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png")
    return path
