"""`pts eval DATASET`: replay a CI history through the selector and the baselines, and report.

Prints the table, and writes `<history>.png` (recall against time budget) and `<history>.json`
(every figure, per-cycle scores and rankings) into `--out`. With `--through-broker` the
selector also runs through the real broker and a running `pts worker` (`broker_mode.py`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer

from evaluation.baselines import BASELINES, RandomOrder
from evaluation.harness import EvaluationReport, evaluate
from evaluation.importers import load_history
from evaluation.report import format_table, plot
from pts.errors import ConfigError
from pts.settings import settings
from selection.models import ModelKind
from selection.ranker import Ranker
from selection.selector import Selector

SELECTOR = "selector"
# Learned selectors by name: the default (logistic regression) and the other River learners.
SELECTORS = {SELECTOR: "logistic", "selector-forest": "forest", "selector-tree": "tree"}
BASELINE_NAMES = tuple(BASELINES)


def choose_rankers(
    names: list[str] | None, seeds: int
) -> dict[str, Callable[[], Ranker] | list[Callable[[], Ranker]]]:
    """The rankers to run by name (the baselines and the selector when `names` is empty)."""
    wanted = list(dict.fromkeys(names or [*BASELINE_NAMES, SELECTOR]))
    unknown = [n for n in wanted if n not in (*BASELINE_NAMES, *SELECTORS)]
    if unknown:
        known = ", ".join((*BASELINE_NAMES, *SELECTORS))
        raise ConfigError(f"--ranker {unknown[0]!r} is not one of {known}")
    made: dict[str, Callable[[], Ranker] | list[Callable[[], Ranker]]] = {}
    for name in wanted:
        if name == RandomOrder.name:
            made[name] = [_random(seed) for seed in range(seeds)]
        elif name in SELECTORS:
            made[name] = _selector(SELECTORS[name])
        else:
            made[name] = BASELINES[name]
    return made


def _random(seed: int) -> Callable[[], Ranker]:
    return lambda: RandomOrder(seed)


def _selector(kind: ModelKind) -> Callable[[], Ranker]:
    return lambda: Selector(model_kind=kind)


def run_evaluation(
    dataset: str,
    rankers: list[str] | None = None,
    out: Path = Path("evaluation/out"),
    seeds: int = 5,
    min_candidates: int = 5,
    limit: int | None = None,
    echo: Callable[[str], None] = print,
    through_broker: bool = False,
) -> EvaluationReport:
    """What `pts eval` does, callable from Python: load, replay, print, write PNG and JSON."""
    if seeds < 1 or min_candidates < 1 or (limit is not None and limit < 1):
        raise ConfigError("--seeds, --min-candidates and --limit must be at least 1")
    history = load_history(dataset).head(limit)
    chosen: dict[str, Any] = dict(choose_rankers(rankers, seeds))
    via_broker = None
    if through_broker:
        from evaluation.broker_mode import BrokerRanker

        via_broker = chosen[BrokerRanker.name] = BrokerRanker(settings())
    try:
        report = evaluate(history, chosen, min_candidates=min_candidates)
    finally:
        if via_broker is not None:
            via_broker.close()
    echo(format_table(report))
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    png = plot(report, out / f"{history.name}.png")
    data = out / f"{history.name}.json"
    data.write_text(json.dumps(report.to_dict(), indent=1) + "\n", encoding="utf-8")
    echo(f"wrote {png} and {data} ({report.elapsed_s:.1f} s)")
    return report


_DATASET = typer.Argument(
    ..., help="commons_<p>.csv, a RETECS .csv, a JUnit history directory, or synthetic[:seed]"
)
_RANKER = typer.Option(
    None,
    "--ranker",
    "-r",
    help="Run only this ranker (repeatable): random, recent-failure, recency-per-second, "
    "failure-rate, selector "
    "(logistic regression), selector-forest, selector-tree. "
    "Default: all available.",
)
_OUT = typer.Option(Path("evaluation/out"), help="Directory for the PNG and the JSON.")
_SEEDS = typer.Option(5, help="Seeds the random order is averaged over.")
_MIN_CANDIDATES = typer.Option(
    5, help="Score only failing cycles with at least this many candidate tests."
)
_LIMIT = typer.Option(None, help="Replay only the first N cycles.")
_THROUGH_BROKER = typer.Option(
    False,
    "--through-broker",
    help="Also rank through the real broker and a running `pts worker` (selector-via-broker).",
)


def eval_command(
    dataset: str = _DATASET,
    ranker: list[str] | None = _RANKER,
    out: Path = _OUT,
    seeds: int = _SEEDS,
    min_candidates: int = _MIN_CANDIDATES,
    limit: int | None = _LIMIT,
    through_broker: bool = _THROUGH_BROKER,
) -> None:
    """Replay a CI history in time order and score the selector beside the baselines."""
    run_evaluation(dataset, ranker, out, seeds, min_candidates, limit, typer.echo, through_broker)
