"""What `pts eval DATASET` runs: replay a CI history through the selector and the baselines.

Prints the table, then what the served selector's safety nets add (`nets.py`), and writes
`<history>.png` (recall against time budget) and `<history>.json` (every figure, per-cycle
scores and rankings) into `--out`. With `--through-broker` the selector also runs through
the real broker, answered by a `pts worker` of the evaluation's own on topics of its own
(`eval_worker.py`, `broker_mode.py`): the live worker sees none of it.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from pts.core.errors import ConfigError
from pts.core.settings import settings
from pts.evaluation.baselines import BASELINES, RandomOrder
from pts.evaluation.harness import EvaluationReport, evaluate
from pts.evaluation.importers import load_history
from pts.evaluation.report import format_table, plot
from pts.selection.candidates import SCORER_NAMES
from pts.selection.models import ModelKind
from pts.selection.ranker import Ranker
from pts.selection.safety_nets import DEFAULTS, Nets
from pts.selection.selector import Selector

SELECTOR = "selector"
# Learned selectors by name: the default (logistic regression) and the other River learners.
SELECTORS = {SELECTOR: "logistic", "selector-forest": "forest", "selector-tree": "tree"}
BASELINE_NAMES = tuple(BASELINES)
# The selector pinned to one of its candidate scorers, instead of its champion: `pts:bayes`.
CANDIDATE_PREFIX = "pts:"
CANDIDATE_NAMES = tuple(f"{CANDIDATE_PREFIX}{name}" for name in SCORER_NAMES)


def choose_rankers(
    names: list[str] | None, seeds: int
) -> dict[str, Callable[[], Ranker] | list[Callable[[], Ranker]]]:
    """The rankers to run by name (the baselines and the selector when `names` is empty)."""
    wanted = list(dict.fromkeys(names or [*BASELINE_NAMES, SELECTOR]))
    unknown = [n for n in wanted if n not in (*BASELINE_NAMES, *SELECTORS, *CANDIDATE_NAMES)]
    if unknown:
        known = ", ".join((*BASELINE_NAMES, *SELECTORS, *CANDIDATE_NAMES))
        raise ConfigError(f"--ranker {unknown[0]!r} is not one of {known}")
    made: dict[str, Callable[[], Ranker] | list[Callable[[], Ranker]]] = {}
    for name in wanted:
        if name == RandomOrder.name:
            made[name] = [_random(seed) for seed in range(seeds)]
        elif name in SELECTORS:
            made[name] = _selector(SELECTORS[name])
        elif name in CANDIDATE_NAMES:
            made[name] = _pinned(name.removeprefix(CANDIDATE_PREFIX))
        else:
            made[name] = BASELINES[name]
    return made


def _random(seed: int) -> Callable[[], Ranker]:
    return lambda: RandomOrder(seed)


def _selector(kind: ModelKind) -> Callable[[], Ranker]:
    return lambda: Selector(model_kind=kind)


def _pinned(scorer: str) -> Callable[[], Ranker]:
    return lambda: Selector(scorer=scorer)


def scored_nets(rankers: Mapping[str, object], nets: Nets) -> dict[str, Nets]:
    """The safety nets to score: the served selector's, when it is among the rankers."""
    return {SELECTOR: nets} if SELECTOR in rankers else {}


def run_evaluation(
    dataset: str,
    rankers: list[str] | None = None,
    out: Path = Path("evaluation/out"),
    seeds: int = 5,
    min_candidates: int = 5,
    limit: int | None = None,
    echo: Callable[[str], None] = print,
    through_broker: bool = False,
    nets: Nets = DEFAULTS,
) -> EvaluationReport:
    """What `pts eval` does, callable from Python: load, replay, print, write PNG and JSON.
    The served selector's safety nets (`nets`) are scored beside its ranking."""
    if seeds < 1 or min_candidates < 1 or (limit is not None and limit < 1):
        raise ConfigError("--seeds, --min-candidates and --limit must be at least 1")
    history = load_history(dataset, settings().datasets_dir).head(limit)
    chosen: dict[str, Any] = dict(choose_rankers(rankers, seeds))
    with ExitStack() as stack:
        if through_broker:
            from pts.evaluation.broker_mode import BrokerRanker
            from pts.evaluation.eval_worker import check_cluster, eval_worker

            check_cluster(settings())
            print(
                "pts: starting a worker of the evaluation's own, on topics of its own that are "
                "deleted when it ends ...",
                file=sys.stderr,
            )
            own = stack.enter_context(eval_worker(settings()))
            via_broker = chosen[BrokerRanker.name] = BrokerRanker(own)
            stack.callback(via_broker.close)
        report = evaluate(
            history, chosen, min_candidates=min_candidates, nets=scored_nets(chosen, nets)
        )
    echo(format_table(report))
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    png = plot(report, out / f"{history.name}.png")
    data = out / f"{history.name}.json"
    data.write_text(json.dumps(report.to_dict(), indent=1) + "\n", encoding="utf-8")
    echo(f"wrote {png} and {data} ({report.elapsed_s:.1f} s)")
    return report
