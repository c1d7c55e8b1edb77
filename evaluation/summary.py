"""`pts eval --all DIR`: every history in a folder (and the synthetic ones), one summary.

Each history is replayed through the baselines, the served selector (its champion) and each of
its candidate scorers on its own (`pts:<scorer>`), with one configuration for all. The summary
is one Markdown table (the served selector beside the best baseline on each figure), the
same figures and every ranker's in JSON, and one plot; with `doc`, the table also replaces the
part of that Markdown file between `<!-- eval-summary:begin -->` and `<!-- eval-summary:end -->`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from pts.core.errors import ConfigError, DatasetError
from pts.core.logs import get_logger
from pts.evaluation.baselines import BASELINES, RandomOrder
from pts.evaluation.command import CANDIDATE_NAMES, SELECTOR, choose_rankers
from pts.evaluation.harness import EvaluationReport, RankerReport, evaluate
from pts.evaluation.importers import load_history

log = get_logger(__name__)

BEGIN, END = "<!-- eval-summary:begin -->", "<!-- eval-summary:end -->"
# What the summary compares: (label, how to read it off a ranker's report).
FIGURES: tuple[tuple[str, Callable[[RankerReport], float]], ...] = (
    ("APFD", lambda r: r.apfd),
    ("APFDc", lambda r: r.apfdc),
    ("caught@10%", lambda r: r.caught[0.1]),
    ("caught@33%", lambda r: r.caught[0.33]),
    ("recall@33%", lambda r: r.recall[0.33]),
)
# The simple rules the selector must not fall below (random is the floor, not a rule).
RULES = tuple(name for name in BASELINES if name != RandomOrder.name)


def histories_in(folder: Path) -> list[Path]:
    """The histories in `folder`: CSV files (not the `_changes.csv` companions) and JUnit
    history directories, by name."""
    if not folder.is_dir():
        raise ConfigError(f"{folder}: not a directory of histories")
    found = [
        path
        for path in sorted(folder.iterdir())
        if (path.suffix == ".csv" and not path.stem.endswith("_changes")) or path.is_dir()
    ]
    if not found:
        raise ConfigError(f"{folder}: holds no history (.csv files or JUnit history folders)")
    return found


@dataclass
class Row:
    """One history's line of the summary: the served selector's figures and the best rule's."""

    history: str
    scored: int
    served: dict[str, float]
    best: dict[str, tuple[float, str]]  # figure -> (value, the rule that got it)

    def shortfalls(self) -> dict[str, float]:
        """Figures where the served selector is below the best rule, by how much."""
        return {
            label: round(self.best[label][0] - value, 4)
            for label, value in self.served.items()
            if not math.isnan(value) and value < self.best[label][0] - 1e-9
        }


def summary_row(report: EvaluationReport) -> Row:
    served = {label: read(report.rankers[SELECTOR]) for label, read in FIGURES}
    best = {}
    for label, read in FIGURES:
        value, name = max((read(report.rankers[rule]), rule) for rule in RULES)
        best[label] = (value, name)
    return Row(report.history, report.scored, served, best)


def markdown(rows: Sequence[Row]) -> str:
    """The summary table: each figure of the served selector beside the best rule's."""
    header = ["history", "failing builds scored", *(label for label, _ in FIGURES)]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        cells = [row.history, str(row.scored)]
        for label, _ in FIGURES:
            value, (best, rule) = row.served[label], row.best[label]
            if math.isnan(value):
                cells.append("-")
                continue
            served = f"**{value:.3f}**" if value >= best - 1e-9 else f"{value:.3f} ✗"
            cells.append(f"{served} vs {best:.3f} {rule}")
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(
        "Each cell: the served selector (its champion for the figure's target: a confidence "
        "target for APFD, a time budget for the others) vs the best of the simple rules "
        f"({', '.join(RULES)}) on that figure in the same run; bold where it is at least as "
        "good, ✗ where it is below. "
        "`-`: no failing build to score."
    )
    return "\n".join(lines)


def plot_summary(reports: Sequence[EvaluationReport], path: Path) -> Path:
    """One PNG: per figure, the served selector and each rule, history by history."""
    names = [*RULES, SELECTOR]
    figure = Figure(figsize=(12, 7), dpi=100)
    FigureCanvasAgg(figure)
    grid = figure.subplots(2, 2)
    for axes, (label, read) in zip(grid.flat, FIGURES[:4], strict=True):
        width = 0.8 / len(names)
        for i, name in enumerate(names):
            values = [read(r.rankers[name]) for r in reports]
            xs = [k + (i - (len(names) - 1) / 2) * width for k in range(len(reports))]
            axes.bar(xs, [0 if math.isnan(v) else v for v in values], width, label=name)
        axes.set_xticks(range(len(reports)), [r.history for r in reports], rotation=30, ha="right")
        axes.set_ylim(0, 1.02)
        axes.set_title(label)
        axes.grid(axis="y", alpha=0.3)
    grid.flat[0].legend(loc="lower left", fontsize="small")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png")
    return path


def update_doc(doc: Path, table: str) -> None:
    """Replace the summary between the markers of `doc`."""
    text = doc.read_text(encoding="utf-8")
    if BEGIN not in text or END not in text:
        raise ConfigError(f"{doc}: has no {BEGIN} ... {END} section to replace")
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    doc.write_text(f"{head}{BEGIN}\n{table}\n{END}{tail}", encoding="utf-8")


def run_all(
    folder: Path,
    out: Path,
    synthetic: int = 3,
    seeds: int = 5,
    min_candidates: int = 5,
    doc: Path | None = None,
    echo: Callable[[str], None] = print,
    datasets_dir: Path | None = None,
) -> list[Row]:
    """What `pts eval --all` does: replay every history, write the summary, return its rows."""
    specs = [str(p) for p in histories_in(folder)] + [f"synthetic:{s}" for s in range(synthetic)]
    rankers = [*BASELINES, SELECTOR, *CANDIDATE_NAMES]
    reports, rows = [], []
    for number, spec in enumerate(specs, 1):
        try:
            history = load_history(spec, datasets_dir)
        except DatasetError as exc:
            echo(f"skipped {spec}: {exc}")
            continue
        report = evaluate(history, choose_rankers(rankers, seeds), min_candidates=min_candidates)
        reports.append(report)
        rows.append(summary_row(report))
        short = rows[-1].shortfalls()
        verdict = "at least the best rule on every figure" if not short else f"below on {short}"
        echo(f"[{number}/{len(specs)}] {history.name}: {report.scored} failing builds, {verdict}")
    if not reports:
        raise ConfigError(f"{folder}: no history could be read")
    out.mkdir(parents=True, exist_ok=True)
    table = markdown(rows)
    (out / "summary.md").write_text(table + "\n", encoding="utf-8")
    data = {
        "histories": [
            {
                "history": r.history,
                "scored": r.scored,
                "rankers": {
                    name: {label: _json(read(ranker)) for label, read in FIGURES}
                    for name, ranker in r.rankers.items()
                },
            }
            for r in reports
        ]
    }
    (out / "summary.json").write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    png = plot_summary(reports, out / "summary.png")
    if doc is not None:
        update_doc(doc, table)
    echo(table)
    echo(f"wrote {out / 'summary.md'}, {out / 'summary.json'} and {png}")
    return rows


def _json(value: float) -> float | None:
    return None if math.isnan(value) else round(value, 6)
