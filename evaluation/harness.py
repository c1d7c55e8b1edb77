"""Replaying a CI history through rankers, in time order, and scoring every ranking.

For each cycle, oldest first, each ranker observes the build, ranks the cycle's candidates
(sorted, so that no ranker gets a hint from the order), and only then learns the cycle's
results: no ranker ever sees a result before it ranked that cycle. A failing cycle with at
least `min_candidates` candidates is scored against its true failures and true durations;
failing cycles with fewer candidates are counted as left out (any order is nearly as good
there). A ranker given as a list of factories is replicated (e.g. the random order over
several seeds) and its figures are the means over the replicas.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Mapping, Sequence

from pts.core.events import SubsetRequest, SubsetResponse, Target, TargetKind, TestResultBatch
from pts.core.logs import get_logger
from pts.evaluation.history import Cycle, History
from pts.evaluation.report import (
    CURVE,
    CycleScore,
    EvaluationReport,
    RankerReport,
    format_table,
    plot,
)
from pts.selection.metrics import apfd, apfdc, caught_within
from pts.selection.ranker import Ranker

log = get_logger(__name__)

__all__ = [
    "CURVE",
    "CycleScore",
    "EvaluationReport",
    "RankerReport",
    "evaluate",
    "format_table",
    "plot",
]

PROGRESS_EVERY_S = 5.0
# Within a third of the test time is the published yardstick (Meta's predictive test selection).
BUDGETS = (0.1, 0.2, 0.33, 0.5)
# Each figure scores the order asked for with the target it answers: APFD a confidence target,
# APFDc (and the plot's curve) the whole time, caught@b and recall@b a budget of b of the time.
# A selector may order differently for each, as the questions differ.
CONFIDENCE_TARGET = Target(TargetKind.CONFIDENCE, 1.0)
TIME_TARGET = Target(TargetKind.SHARE_OF_TIME, 1.0)

RankerSpec = Ranker | Callable[[], Ranker] | Sequence[Ranker | Callable[[], Ranker]]


def evaluate(
    history: History,
    rankers: Mapping[str, RankerSpec] | Sequence[Ranker],
    min_candidates: int = 5,
    budgets: Sequence[float] = BUDGETS,
) -> EvaluationReport:
    """Replay `history` through `rankers` and score their rankings of the failing cycles."""
    started = time.monotonic()
    replicas = _instantiate(rankers)
    points = sorted({*CURVE, *(round(b, 4) for b in budgets)})
    scores: dict[str, list[CycleScore]] = {name: [] for name in replicas}
    orders: dict[str, list[list[str]]] = {name: [] for name in replicas}
    incomplete = dict.fromkeys(replicas, 0)
    scored = left_out = 0
    last_log = started
    for index, cycle in enumerate(history.cycles):
        candidates, failing = cycle.candidates, cycle.failing
        score = bool(failing) and len(candidates) >= min_candidates
        scored += score
        left_out += bool(failing) and not score
        for name, instances in replicas.items():
            asked: list[dict[str | float, list[str]]] = []
            for ranker in instances:
                by_target, complete = _replay(history, index, cycle, candidates, ranker, budgets)
                asked.append(by_target)
                incomplete[name] += not complete
            orders[name].append(asked[0]["time"])
            if score:
                scores[name].append(_score(index, cycle, asked, points))
        if time.monotonic() - last_log >= PROGRESS_EVERY_S:
            last_log = time.monotonic()
            log.info(
                "evaluation_progress",
                history=history.name,
                cycles_done=index + 1,
                cycles_total=len(history.cycles),
            )
    reports = {
        name: _summary(name, len(replicas[name]), scores[name], left_out, budgets, points)
        for name in replicas
    }
    for name, report in reports.items():
        report.rankings, report.incomplete = orders[name], incomplete[name]
    elapsed = round(time.monotonic() - started, 3)
    log.info(
        "evaluation_done",
        history=history.name,
        cycles=len(history.cycles),
        scored=scored,
        left_out=left_out,
        elapsed_s=elapsed,
    )
    return EvaluationReport(
        history=history.name,
        project=history.project,
        cycles=len(history.cycles),
        failing_cycles=history.failing_cycles,
        scored=scored,
        left_out=left_out,
        min_candidates=min_candidates,
        budgets=tuple(budgets),
        rankers=reports,
        elapsed_s=elapsed,
    )


def _instantiate(rankers: Mapping[str, RankerSpec] | Sequence[Ranker]) -> dict[str, list[Ranker]]:
    if not isinstance(rankers, Mapping):
        named: dict[str, list[Ranker]] = {}
        for ranker in rankers:
            name, k = ranker.name, 2
            while name in named:
                name, k = f"{ranker.name}#{k}", k + 1
            named[name] = [ranker]
        return named
    made: dict[str, list[Ranker]] = {}
    for name, spec in rankers.items():
        specs = list(spec) if isinstance(spec, Sequence) else [spec]
        if not specs:
            raise ValueError(f"ranker {name!r} has no replica")
        made[name] = [s() if isinstance(s, type) or not hasattr(s, "rank") else s for s in specs]
    return made


def _replay(
    history: History,
    index: int,
    cycle: Cycle,
    candidates: list[str],
    ranker: Ranker,
    budgets: Sequence[float],
) -> tuple[dict[str | float, list[str]], bool]:
    """Observe, rank for every target a figure answers, then learn one cycle; the orders by
    target ("confidence", "time", or a budget) and whether every candidate was always ranked."""
    build = cycle.build
    ranker.observe_build(build)
    targets: dict[str | float, Target] = {"confidence": CONFIDENCE_TARGET, "time": TIME_TARGET}
    targets.update({round(b, 4): Target(TargetKind.SHARE_OF_TIME, b) for b in budgets})
    orders: dict[str | float, list[str]] = {}
    complete = True
    for key, target in targets.items():
        request = SubsetRequest(
            request_id=f"eval-{history.name}-{index}-{key}",
            project=build.project,
            build_id=build.build_id,
            candidates=tuple(candidates),
            target=target,
            reply_topic="eval",
            requested_at=build.started_at,
            # The ranking alone is scored here: no safety net moves a test up.
            starve_after_builds=0,
            starve_after_days=0.0,
            full_run_every=0,
        )
        orders[key], whole = _order(ranker.rank(request), candidates)
        complete = complete and whole
    ranker.learn(
        TestResultBatch(
            project=build.project,
            build_id=build.build_id,
            report="eval",
            results=tuple(cycle.results),
            recorded_at=build.started_at,
        )
    )
    return orders, complete


def _order(response: SubsetResponse, candidates: list[str]) -> tuple[list[str], bool]:
    """The ranked candidates (any left out put last, in the given order) and whether none was."""
    wanted = set(candidates)
    order = [t for t in dict.fromkeys(r.test_id for r in response.ranked) if t in wanted]
    complete = len(order) == len(candidates)
    if not complete:
        ranked = set(order)
        order += [t for t in candidates if t not in ranked]
    return order, complete


def _score(
    index: int, cycle: Cycle, asked: list[dict[str | float, list[str]]], points: list[float]
) -> CycleScore:
    """A failing cycle's figures, each from the order asked for with its target (a budget not
    asked for, such as the plot's, from the order for the whole time); means over replicas."""
    failing, durations = cycle.failing, cycle.durations
    within = {
        b: [caught_within(o.get(b, o["time"]), failing, durations, b) for o in asked]
        for b in points
    }
    return CycleScore(
        index=index,
        build_id=cycle.build.build_id,
        candidates=len(asked[0]["time"]),
        failing=len(failing),
        apfd=statistics.fmean(apfd(o["confidence"], failing) for o in asked),
        apfdc=statistics.fmean(apfdc(o["time"], failing, durations) for o in asked),
        caught={b: statistics.fmean(float(c) for c, _ in r) for b, r in within.items()},
        recall={b: statistics.fmean(s for _, s in r) for b, r in within.items()},
    )


def _mean(values: list[float]) -> float:
    return statistics.fmean(values) if values else math.nan


def _summary(
    name: str,
    replicas: int,
    cycles: list[CycleScore],
    left_out: int,
    budgets: Sequence[float],
    points: list[float],
) -> RankerReport:
    def mean_at(kind: str, budget: float) -> float:
        return _mean([getattr(c, kind)[round(budget, 4)] for c in cycles])

    return RankerReport(
        name=name,
        replicas=replicas,
        scored=len(cycles),
        left_out=left_out,
        apfd=_mean([c.apfd for c in cycles]),
        apfdc=_mean([c.apfdc for c in cycles]),
        caught={b: mean_at("caught", b) for b in budgets},
        recall={b: mean_at("recall", b) for b in budgets},
        curve=[(b, mean_at("recall", b)) for b in CURVE],
        cycles=cycles,
    )
