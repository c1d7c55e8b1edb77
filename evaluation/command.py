"""`pts eval DATASET`: replay a CI history through the selector and the baselines, and report.

Prints the table, and writes `<history>.png` (recall against time budget) and `<history>.json`
(every figure, per-cycle scores and rankings) into `--out`. The learned selector
(`selection.selector.Selector`) runs when it can be imported; otherwise the baselines run alone
and the command says so.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import typer

from evaluation.baselines import FailureRateFirst, RandomOrder, RecentFailureFirst
from evaluation.harness import EvaluationReport, evaluate
from evaluation.importers import load_history
from evaluation.report import format_table, plot
from pts.errors import ConfigError
from selection.ranker import Ranker

SELECTOR = "selector"
# Learned selectors by name: the default (logistic regression) and the other River learners.
SELECTORS = {SELECTOR: "logistic", "selector-forest": "forest", "selector-tree": "tree"}
BASELINES = (RandomOrder.name, RecentFailureFirst.name, FailureRateFirst.name)


def _selector_factory() -> tuple[Callable[[], Ranker] | None, str]:
    """The learned selector's constructor, or None and why it cannot be imported."""
    try:
        from selection.selector import Selector
    except ImportError as e:
        return None, str(e)
    return Selector, ""


def choose_rankers(
    names: list[str] | None, seeds: int
) -> tuple[dict[str, Callable[[], Ranker] | list[Callable[[], Ranker]]], str]:
    """The rankers to run by name (all when `names` is empty), and a note when one is missing."""
    selector, why = _selector_factory()
    wanted = list(dict.fromkeys(names or [*BASELINES, SELECTOR]))
    unknown = [n for n in wanted if n not in (*BASELINES, *SELECTORS)]
    if unknown:
        known = ", ".join((*BASELINES, *SELECTORS))
        raise ConfigError(f"--ranker {unknown[0]!r} is not one of {known}")
    note = ""
    learned = [n for n in wanted if n in SELECTORS]
    if learned and selector is None:
        if names:
            raise ConfigError(
                f"--ranker {learned[0]}: the learned selector cannot be imported: {why}"
            )
        wanted = [n for n in wanted if n not in SELECTORS]
        note = f"learned selector not available ({why}): running the baselines only"
    made: dict[str, Callable[[], Ranker] | list[Callable[[], Ranker]]] = {}
    for name in wanted:
        if name == RandomOrder.name:
            made[name] = [_random(seed) for seed in range(seeds)]
        elif name in SELECTORS:
            assert selector is not None
            made[name] = _selector(selector, SELECTORS[name])
        else:
            made[name] = {r.name: r for r in (RecentFailureFirst, FailureRateFirst)}[name]
    return made, note


def _random(seed: int) -> Callable[[], Ranker]:
    return lambda: RandomOrder(seed)


def _selector(factory: Callable[..., Ranker], kind: str) -> Callable[[], Ranker]:
    return lambda: factory(model_kind=kind)


def run_evaluation(
    dataset: str,
    rankers: list[str] | None = None,
    out: Path = Path("evaluation/out"),
    seeds: int = 5,
    min_candidates: int = 5,
    limit: int | None = None,
    echo: Callable[[str], None] = print,
) -> EvaluationReport:
    """What `pts eval` does, callable from Python: load, replay, print, write PNG and JSON."""
    if seeds < 1 or min_candidates < 1 or (limit is not None and limit < 1):
        raise ConfigError("--seeds, --min-candidates and --limit must be at least 1")
    history = load_history(dataset).head(limit)
    chosen, note = choose_rankers(rankers, seeds)
    if note:
        echo(note)
    report = evaluate(history, chosen, min_candidates=min_candidates)
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
    help="Run only this ranker (repeatable): random, recent-failure, failure-rate, selector "
    "(logistic regression), selector-forest, selector-tree. "
    "Default: all available.",
)
_OUT = typer.Option(Path("evaluation/out"), help="Directory for the PNG and the JSON.")
_SEEDS = typer.Option(5, help="Seeds the random order is averaged over.")
_MIN_CANDIDATES = typer.Option(
    5, help="Score only failing cycles with at least this many candidate tests."
)
_LIMIT = typer.Option(None, help="Replay only the first N cycles.")


def eval_command(
    dataset: str = _DATASET,
    ranker: list[str] | None = _RANKER,
    out: Path = _OUT,
    seeds: int = _SEEDS,
    min_candidates: int = _MIN_CANDIDATES,
    limit: int | None = _LIMIT,
) -> None:
    """Replay a CI history in time order and score the selector beside the baselines."""
    run_evaluation(dataset, ranker, out, seeds, min_candidates, limit, echo=typer.echo)
