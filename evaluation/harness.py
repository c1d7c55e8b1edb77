"""Replaying a CI history through rankers, in time order, and scoring every ranking.

For each cycle, oldest first, each ranker observes the build, ranks the cycle's candidates
(sorted, so that no ranker gets a hint from the order), and only then learns the cycle's
results: no ranker ever sees a result before it ranked that cycle. A failing cycle with at
least `min_candidates` candidates is scored against its true failures and true durations;
failing cycles with fewer candidates are counted as left out (any order is nearly as good
there). A ranker given as a list of factories is replicated (e.g. the random order over
several seeds) and its figures are the means over the replicas.

Every request turns the safety nets off, so that the figures score the ranking alone. For a
ranker given safety nets to score (the served selector), each cycle is also asked, before its
results are learned, for the subset with those nets at each budget of `nets.BUDGETS`: what
the nets add is scored in the same pass (`nets.py`). A ranker that keeps its changes of
champion (`take_decisions`) has them recorded with the cycle that decided them.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from pts.core.events import (
    Build,
    SubsetRequest,
    SubsetResponse,
    Target,
    TargetKind,
    TestResultBatch,
)
from pts.core.logs import get_logger
from pts.evaluation.history import Cycle, History
from pts.evaluation.nets import BUDGETS as NET_BUDGETS
from pts.evaluation.nets import Added, NetsBuild, additions, score_added, subset, summarize
from pts.evaluation.report import (
    CURVE,
    ChampionChange,
    CycleScore,
    EvaluationReport,
    RankerReport,
    format_table,
    plot,
)
from pts.selection.metrics import apfd, apfdc, caught_within
from pts.selection.ranker import Ranker
from pts.selection.safety_nets import OFF as NETS_OFF
from pts.selection.safety_nets import Nets

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


@dataclass
class _Track:
    """One ranker in the replay: its replicas, and what was kept of their answers."""

    replicas: list[Ranker]
    nets: Nets | None = None  # the safety nets whose additions are scored, on the first replica
    scores: list[CycleScore] = field(default_factory=list)
    rankings: list[list[str]] = field(default_factory=list)
    incomplete: int = 0
    changes: list[ChampionChange] = field(default_factory=list)
    nets_builds: list[NetsBuild] = field(default_factory=list)


def evaluate(
    history: History,
    rankers: Mapping[str, RankerSpec] | Sequence[Ranker],
    min_candidates: int = 5,
    budgets: Sequence[float] = BUDGETS,
    nets: Mapping[str, Nets] | None = None,
) -> EvaluationReport:
    """Replay `history` through `rankers` and score their rankings of the failing cycles;
    for the rankers named in `nets`, also what those safety nets add (`evaluation/nets.py`)."""
    started = time.monotonic()
    tracks = {name: _Track(made) for name, made in _instantiate(rankers).items()}
    for name, asked in (nets or {}).items():
        if name not in tracks:
            raise ValueError(f"nets asked for {name!r}, which is not among the rankers")
        tracks[name].nets = asked
    points = sorted({*CURVE, *(round(b, 4) for b in budgets)})
    scored = left_out = 0
    last_log = started
    for index, cycle in enumerate(history.cycles):
        candidates = cycle.candidates
        score = bool(cycle.failing) and len(candidates) >= min_candidates
        scored += score
        left_out += bool(cycle.failing) and not score
        for track in tracks.values():
            _step(track, history, index, cycle, candidates, budgets, points if score else None)
        if time.monotonic() - last_log >= PROGRESS_EVERY_S:
            last_log = time.monotonic()
            log.info(
                "evaluation_progress",
                history=history.name,
                cycles_done=index + 1,
                cycles_total=len(history.cycles),
            )
    reports = {
        name: _report(name, track, left_out, budgets, points) for name, track in tracks.items()
    }
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


def _step(
    track: _Track,
    history: History,
    index: int,
    cycle: Cycle,
    candidates: list[str],
    budgets: Sequence[float],
    points: list[float] | None,
) -> None:
    """Replay one cycle through every replica of a ranker; `points`: score it at these (None:
    the cycle is not scored). The first replica's safety nets and champions are kept."""
    asked: list[dict[str | float, list[str]]] = []
    for number, ranker in enumerate(track.replicas):
        nets = track.nets if number == 0 else None
        by_target, complete, added = _replay(
            history, index, cycle, candidates, ranker, budgets, nets
        )
        asked.append(by_target)
        track.incomplete += not complete
        if number == 0:
            track.changes += _changes(ranker, index, cycle)
            if nets is not None:
                track.nets_builds.append(
                    NetsBuild(index, cycle.build.build_id, points is not None, added)
                )
    track.rankings.append(asked[0]["time"])
    if points is not None:
        track.scores.append(_score(index, cycle, asked, points))


def _changes(ranker: Ranker, index: int, cycle: Cycle) -> list[ChampionChange]:
    """The changes of champion a ranker that keeps them (the selector) made on learning the
    cycle's results."""
    take = getattr(ranker, "take_decisions", None)
    if take is None:
        return []
    return [
        ChampionChange(index, cycle.build.build_id, d.metric, d.previous, d.champion, d.scored)
        for d in take(cycle.build.project)
    ]


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
    nets: Nets | None = None,
) -> tuple[dict[str | float, list[str]], bool, dict[float, Added]]:
    """Observe, rank for every target a figure answers, then learn one cycle; the orders by
    target ("confidence", "time", or a budget), whether every candidate was always ranked, and
    (with `nets`) what those nets add at each of `nets.BUDGETS`, asked before learning too."""
    build = cycle.build
    ranker.observe_build(build)
    targets: dict[str | float, Target] = {"confidence": CONFIDENCE_TARGET, "time": TIME_TARGET}
    asked_budgets = [*budgets, *(NET_BUDGETS if nets is not None else ())]
    targets.update({round(b, 4): Target(TargetKind.SHARE_OF_TIME, b) for b in asked_budgets})
    # The ranking alone is scored: no safety net moves a test up.
    answers = {
        key: ranker.rank(_request(history, index, build, candidates, key, target, NETS_OFF))
        for key, target in targets.items()
    }
    with_nets = {
        b: ranker.rank(
            _request(history, index, build, candidates, f"{b}-nets", targets[round(b, 4)], nets)
        )
        for b in (NET_BUDGETS if nets is not None else ())
    }
    ranker.learn(
        TestResultBatch(
            project=build.project,
            build_id=build.build_id,
            report="eval",
            results=tuple(cycle.results),
            recorded_at=build.started_at,
        )
    )
    orders: dict[str | float, list[str]] = {}
    complete = True
    for key, answer in answers.items():
        orders[key], whole = _order(answer, candidates)
        complete = complete and whole
    added = {
        b: score_added(subset(answers[b]), additions(answer), cycle.failing, cycle.durations)
        for b, answer in with_nets.items()
    }
    return orders, complete, added


def _request(
    history: History,
    index: int,
    build: Build,
    candidates: list[str],
    key: str | float,
    target: Target,
    nets: Nets,
) -> SubsetRequest:
    """The request for one target of a cycle, with these safety nets. Asked at the build's
    time, so that a net counts days from the build, not from the wall clock."""
    return nets.on(
        SubsetRequest(
            request_id=f"eval-{history.name}-{index}-{key}",
            project=build.project,
            build_id=build.build_id,
            candidates=tuple(candidates),
            target=target,
            reply_topic="eval",
            requested_at=build.started_at,
        )
    )


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


def _report(
    name: str,
    track: _Track,
    left_out: int,
    budgets: Sequence[float],
    points: list[float],
) -> RankerReport:
    cycles = track.scores

    def mean_at(kind: str, budget: float) -> float:
        return _mean([getattr(c, kind)[round(budget, 4)] for c in cycles])

    return RankerReport(
        name=name,
        replicas=len(track.replicas),
        scored=len(cycles),
        left_out=left_out,
        apfd=_mean([c.apfd for c in cycles]),
        apfdc=_mean([c.apfdc for c in cycles]),
        caught={b: mean_at("caught", b) for b in budgets},
        recall={b: mean_at("recall", b) for b in budgets},
        curve=[(b, mean_at("recall", b)) for b in CURVE],
        cycles=cycles,
        rankings=track.rankings,
        incomplete=track.incomplete,
        champion_changes=track.changes,
        nets=summarize(track.nets, track.nets_builds) if track.nets is not None else None,
    )
