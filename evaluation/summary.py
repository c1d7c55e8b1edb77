"""`pts eval --all DIR`: every history in a folder (and the synthetic ones), one summary.

Each history is replayed through the baselines, the served selector (its champion) and each of
its candidate scorers on its own (`pts:<scorer>`), with one configuration for all. The summary
is one Markdown table (the served selector beside the best baseline on each figure), the
same figures and every ranker's in JSON, and one plot. Beside it, two more tables: what the
served selector's safety nets add and catch (`nets.py`), and its changes of champion. With
`doc`, each table also replaces its part of that Markdown file, between its markers:
`<!-- eval-summary:begin -->` and `<!-- eval-summary:end -->`, `eval-nets`, `eval-champions`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from pts.core.errors import ConfigError, DatasetError
from pts.core.logs import get_logger
from pts.evaluation.baselines import BASELINES, RandomOrder
from pts.evaluation.command import CANDIDATE_NAMES, SELECTOR, choose_rankers
from pts.evaluation.harness import EvaluationReport, RankerReport, evaluate
from pts.evaluation.importers import load_history
from pts.evaluation.nets import BUDGETS as NET_BUDGETS
from pts.evaluation.nets import NetsReport, describe
from pts.evaluation.report import ChampionChange
from pts.selection.champions import DEFAULT_CHAMPIONS
from pts.selection.safety_nets import DEFAULTS, Nets

log = get_logger(__name__)

SECTIONS = ("eval-summary", "eval-nets", "eval-champions")  # the doc's generated parts
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
    nets: NetsReport | None = None  # what the served selector's safety nets add
    changes: list[ChampionChange] = field(default_factory=list)  # the served selector's

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
    selector = report.rankers[SELECTOR]
    return Row(
        report.history, report.scored, served, best, selector.nets, selector.champion_changes
    )


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


def nets_markdown(rows: Sequence[Row], nets: Nets) -> str:
    """The safety nets' table: per history and budget, the time they add and what they catch."""
    header = ["history", "builds", "failing builds scored"]
    for b in NET_BUDGETS:
        header += [f"time added @{b:.0%}", f"caught by the nets @{b:.0%}"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        if row.nets is None:
            continue
        report = row.nets
        cells = [row.history, str(report.builds), str(report.scored)]
        for b in NET_BUDGETS:
            cells.append(f"{report.added_time[b]:.2%} ({report.extended[b]} builds)")
            cells.append(f"{report.caught[b]} of {report.missed[b]}")
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(
        f"Nets: {describe(nets)}. Time added: the mean share of a build's test time the nets "
        "add to the ranking's subset, over every build replayed (in brackets, the builds where "
        "they add a test). Caught by the nets: the scored failing builds where a test the nets "
        "added fails, of those where the ranking's subset runs no failing test (its subset is "
        "the answer's own, cut on expected durations, so a miss here can differ from caught@b)."
    )
    return "\n".join(lines)


def changes_markdown(rows: Sequence[Row]) -> str:
    """The served selector's changes of champion, per history, and who serves at the end."""
    lines = [
        "| history | changes of champion | serving at the end |",
        "|---|---|---|",
    ]
    families = {"apfd": "confidence", "apfdc": "time"}
    for row in rows:
        serving = dict(DEFAULT_CHAMPIONS)
        for change in row.changes:
            serving[change.metric] = change.champion
        changes = "; ".join(
            f"cycle {c.index} ({families[c.metric]}, on {c.scored} failing builds): "
            f"`{c.previous}` → `{c.champion}`"
            for c in row.changes
        )
        end = ", ".join(f"`{serving[m]}` ({family})" for m, family in families.items())
        lines.append(f"| {row.history} | {changes or 'none'} | {end} |")
    lines.append("")
    lines.append(
        "Every project starts on the default champions (`learned` for confidence targets, "
        "`learned/s` for time budgets); cycle: the failing build whose results decided the "
        "change (0-based), on how many recent failing builds."
    )
    return "\n".join(lines)


def update_doc(doc: Path, tables: dict[str, str]) -> None:
    """Replace each generated part of `doc` (`<!-- NAME:begin -->` to `<!-- NAME:end -->`)
    with its table; nothing is written when a part's markers are missing."""
    text = doc.read_text(encoding="utf-8")
    for name, table in tables.items():
        begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
        if begin not in text or end not in text:
            raise ConfigError(f"{doc}: has no {begin} ... {end} section to replace")
        head, _, rest = text.partition(begin)
        _, _, tail = rest.partition(end)
        text = f"{head}{begin}\n{table}\n{end}{tail}"
    doc.write_text(text, encoding="utf-8")


def run_all(
    folder: Path,
    out: Path,
    synthetic: int = 3,
    seeds: int = 5,
    min_candidates: int = 5,
    doc: Path | None = None,
    echo: Callable[[str], None] = print,
    datasets_dir: Path | None = None,
    nets: Nets = DEFAULTS,
) -> list[Row]:
    """What `pts eval --all` does: replay every history, write the summary, return its rows.
    `nets`: the served selector's safety nets, scored beside its ranking."""
    specs = [str(p) for p in histories_in(folder)] + [f"synthetic:{s}" for s in range(synthetic)]
    rankers = [*BASELINES, SELECTOR, *CANDIDATE_NAMES]
    reports, rows = [], []
    for number, spec in enumerate(specs, 1):
        try:
            history = load_history(spec, datasets_dir)
        except DatasetError as exc:
            echo(f"skipped {spec}: {exc}")
            continue
        chosen = choose_rankers(rankers, seeds)
        report = evaluate(history, chosen, min_candidates=min_candidates, nets={SELECTOR: nets})
        reports.append(report)
        rows.append(summary_row(report))
        short = rows[-1].shortfalls()
        verdict = "at least the best rule on every figure" if not short else f"below on {short}"
        echo(f"[{number}/{len(specs)}] {history.name}: {report.scored} failing builds, {verdict}")
    if not reports:
        raise ConfigError(f"{folder}: no history could be read")
    out.mkdir(parents=True, exist_ok=True)
    tables = dict(
        zip(
            SECTIONS,
            (markdown(rows), nets_markdown(rows, nets), changes_markdown(rows)),
            strict=True,
        )
    )
    (out / "summary.md").write_text("\n\n".join(tables.values()) + "\n", encoding="utf-8")
    data = {"nets": describe(nets), "histories": [_history_json(r) for r in reports]}
    (out / "summary.json").write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    png = plot_summary(reports, out / "summary.png")
    if doc is not None:
        update_doc(doc, tables)
    echo("\n\n".join(tables.values()))
    echo(f"wrote {out / 'summary.md'}, {out / 'summary.json'} and {png}")
    return rows


def _history_json(report: EvaluationReport) -> dict:
    """A history's figures in the summary's JSON: every ranker's, the served selector's
    safety nets and changes of champion."""
    selector = report.rankers[SELECTOR]
    return {
        "history": report.history,
        "scored": report.scored,
        "rankers": {
            name: {label: _json(read(ranker)) for label, read in FIGURES}
            for name, ranker in report.rankers.items()
        },
        "nets": _nets_json(selector.nets) if selector.nets is not None else None,
        "champion_changes": [asdict(change) for change in selector.champion_changes],
    }


def _nets_json(nets: NetsReport) -> dict:
    """The nets' figures by budget (`@10%`), and the builds they rest on."""
    by_budget = {
        f"@{b:.0%}": {
            "time_added": _json(time),
            "builds_extended": nets.extended[b],
            "missed_by_ranking": nets.missed[b],
            "caught_by_nets": nets.caught[b],
        }
        for b, time in nets.added_time.items()
    }
    return {"builds": nets.builds, "scored": nets.scored, **by_budget}


def _json(value: float) -> float | None:
    return None if math.isnan(value) else round(value, 6)
