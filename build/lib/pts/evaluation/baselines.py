"""Baseline rankers that learn online from results only, to compare a selector against.

- `RandomOrder(seed)`: a seeded shuffle of the candidates (the floor any selector must beat).
- `RecentFailureFirst`: tests that failed most recently first (ties: more failures first, then
  shorter expected duration), then tests that never failed (shorter first).
- `RecencyPerSecond`: the recent-failure score divided by the expected duration (DESIGN.md:
  the LRTS study's strongest plain order for time budgets).
- `FailureRateFirst`: highest failures / runs first (ties: shorter expected duration first).

The two history baselines put unseen tests (new or renamed) first, as products do with new
tests: nothing is known about them, and a new test is likelier to fail than an old one. Every
remaining tie is broken by test id, so the order is deterministic. The expected duration of a
test is its last seen duration; for an unseen test, the median of the known ones (1.0 s when
none is known). `failure_probability` is the baseline's score normalised into [0, 1].
"""

from __future__ import annotations

import random
import statistics
from collections.abc import Callable
from dataclasses import dataclass

from pts.core.events import Build, RankedTest, SubsetRequest, SubsetResponse, TestResultBatch
from pts.selection.ranker import Ranker
from pts.selection.subsets import respond

DEFAULT_DURATION_S = 1.0


@dataclass
class _Record:
    runs: int = 0
    failures: int = 0
    last_failure: int = -1  # index of the last learned build where it failed; -1: never
    duration_s: float = DEFAULT_DURATION_S


class _Online:
    """What the history baselines remember: per test, runs, failures, last failure, duration."""

    name = "online"

    def __init__(self) -> None:
        self.records: dict[str, _Record] = {}
        self.learned = 0  # builds learned so far

    def observe_build(self, build: Build) -> None:
        """Baselines ignore changes: they rank from results only."""

    def learn(self, batch: TestResultBatch) -> None:
        for result in batch.results:
            if not result.ran:
                continue
            record = self.records.setdefault(result.test_id, _Record())
            record.runs += 1
            record.duration_s = result.duration_s
            if result.failed:
                record.failures += 1
                record.last_failure = self.learned
        self.learned += 1

    def expected_durations(self, candidates: tuple[str, ...]) -> dict[str, float]:
        known = [r.duration_s for r in self.records.values()]
        default = statistics.median(known) if known else DEFAULT_DURATION_S
        return {t: self.records[t].duration_s if t in self.records else default for t in candidates}

    def rank(self, request: SubsetRequest) -> SubsetResponse:
        durations = self.expected_durations(request.candidates)
        scored = [(self.score(t), t) for t in dict.fromkeys(request.candidates)]
        scored.sort(key=lambda st: (-st[0], *self.tie_break(st[1], durations[st[1]]), st[1]))
        ranked = [RankedTest(t, s, durations[t], self.name) for s, t in scored]
        return respond(request, ranked, self.name)

    def score(self, test_id: str) -> float:
        raise NotImplementedError

    def tie_break(self, test_id: str, duration_s: float) -> tuple[float, ...]:
        return (duration_s,)


class RecentFailureFirst(_Online):
    """Most recent failure first; score 1 for unseen, 1/(2 + builds since the failure), 0 never."""

    name = "recent-failure"

    def score(self, test_id: str) -> float:
        record = self.records.get(test_id)
        if record is None:
            return 1.0
        if record.last_failure < 0:
            return 0.0
        return 1.0 / (2 + self.learned - 1 - record.last_failure)

    def tie_break(self, test_id: str, duration_s: float) -> tuple[float, ...]:
        record = self.records.get(test_id)
        return (-(record.failures if record else 0), duration_s)


class RecencyPerSecond(RecentFailureFirst):
    """Failure recency per second of expected time, unseen tests first: the order that beat
    learning-to-rank and reinforcement learning on long-running suites (LRTS, 2024)."""

    name = "recency-per-second"

    def rank(self, request: SubsetRequest) -> SubsetResponse:
        durations = self.expected_durations(request.candidates)
        scored = [(self.score(t), t) for t in dict.fromkeys(request.candidates)]

        def key(st: tuple[float, str]) -> tuple[bool, float, str]:
            score, test_id = st
            unseen = test_id not in self.records
            return (not unseen, -score / max(durations[test_id], 1e-3), test_id)

        scored.sort(key=key)
        ranked = [RankedTest(t, s, durations[t], self.name) for s, t in scored]
        return respond(request, ranked, self.name)


class FailureRateFirst(_Online):
    """Highest failure rate (failures / runs) first; score 1 for unseen tests."""

    name = "failure-rate"

    def score(self, test_id: str) -> float:
        record = self.records.get(test_id)
        if record is None:
            return 1.0
        return record.failures / record.runs if record.runs else 0.0


class RandomOrder(_Online):
    """A seeded random order; score 1 - position / n. Durations as the other baselines."""

    name = "random"

    def __init__(self, seed: int = 0) -> None:
        super().__init__()
        self.seed = seed
        self.random = random.Random(seed)

    def rank(self, request: SubsetRequest) -> SubsetResponse:
        durations = self.expected_durations(request.candidates)
        order = list(dict.fromkeys(request.candidates))
        self.random.shuffle(order)
        n = len(order)
        ranked = [RankedTest(t, 1 - i / n, durations[t], self.name) for i, t in enumerate(order)]
        return respond(request, ranked, self.name)


BASELINES = {
    RandomOrder.name: RandomOrder,
    RecentFailureFirst.name: RecentFailureFirst,
    RecencyPerSecond.name: RecencyPerSecond,
    FailureRateFirst.name: FailureRateFirst,
}


Factory = Callable[[], Ranker]


def baseline_rankers(seeds: int = 5) -> dict[str, Factory | list[Factory]]:
    """The baselines as `evaluate` takes them: the random order replicated over `seeds` seeds."""
    return {
        name: [_seeded(seed) for seed in range(max(seeds, 1))] if name == RandomOrder.name else made
        for name, made in BASELINES.items()
    }


def _seeded(seed: int) -> Factory:
    return lambda: RandomOrder(seed)
