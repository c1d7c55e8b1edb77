"""The rankers a project's champion is chosen from: each orders the same evidence its own way.

A candidate is a scorer (how likely a test is to fail, by one rule or model) and an order:
by score, for a confidence target, or by score per second of expected time, for a time budget.
Every candidate puts tests never run before first (nothing is known of them, and new tests
fail more often; the change-aware ones also put changed tests first), then orders by its
score, then breaks ties by closeness to the change and by test id: every order is
deterministic.

- `recent-failure`: 1 / (1 + builds since the test last failed); ties: more failures first,
  then the shorter test. The plain rule that is hardest to beat on long CI histories.
- `failure-rate`: failures / runs; ties: the shorter test.
- `bayes`: the per-test failure chance, decayed and shrunk to the project's base rate
  (`TestStats.posterior`): two failures in two runs count, one failure in a thousand runs
  does not.
- `changes`: tests of the changed code first: the test itself changed, it failed before with
  these files, its subject changed, its name resembles the changed code; then recent failure.
- `learned`: the project's online model (`models.FailureModel`) over all the features.

The `/s` variant of each orders by score per second, charging each test at least the median
expected duration (`cost_floor`): chances are estimates, and dividing them by tiny durations
would turn their noise into large scores.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pts.selection.history import TestStats

MIN_COST_S = 0.1  # below this, a test's run time is noise next to the runner's own overhead


@dataclass(slots=True)
class Evidence:
    """What is known of one candidate test for one build, shared by every candidate."""

    test_id: str
    x: dict[str, float]  # the features (`features.features`)
    stats: TestStats | None
    duration_s: float  # expected
    learned: float = 0.0  # the learned model's chance

    @property
    def closeness(self) -> tuple[float, float, float]:
        """How closely the test relates to the change: subject, name, directory."""
        x = self.x
        return (x["subject_changed"], x["name_similarity"], x["directory_similarity"])


Score = Callable[[Evidence], float]
TieBreak = Callable[[Evidence], tuple[float, ...]]


def _recent_failure(e: Evidence) -> float:
    return e.x["failure_recency"] / (1 + e.x["failure_recency"])


def _failure_rate(e: Evidence) -> float:
    return e.stats.failures / e.stats.runs if e.stats is not None and e.stats.runs else 0.0


def _bayes(e: Evidence) -> float:
    return e.x["posterior"]


def _changes(e: Evidence) -> float:
    x = e.x
    return max(x["test_changed"], x["co_failure"], x["subject_changed"], 0.5 * x["name_similarity"])


def _learned(e: Evidence) -> float:
    return e.learned


def _more_failures_then_shorter(e: Evidence) -> tuple[float, ...]:
    return (-(e.stats.failures if e.stats is not None else 0), e.duration_s)


def _shorter(e: Evidence) -> tuple[float, ...]:
    return (e.duration_s,)


def _more_recent_failure(e: Evidence) -> tuple[float, ...]:
    return (-e.x["failure_recency"], e.duration_s)


def _none(e: Evidence) -> tuple[float, ...]:
    return ()


@dataclass(frozen=True, slots=True)
class Scorer:
    name: str
    score: Score
    tie_break: TieBreak
    changed_first: bool = False  # a test whose own file changed goes first, with the new ones


SCORERS = (
    Scorer("recent-failure", _recent_failure, _more_failures_then_shorter),
    Scorer("failure-rate", _failure_rate, _shorter),
    Scorer("bayes", _bayes, _shorter),
    Scorer("changes", _changes, _more_recent_failure, changed_first=True),
    Scorer("learned", _learned, _none),
)


@dataclass(frozen=True, slots=True)
class Candidate:
    scorer: Scorer
    per_second: bool

    @property
    def name(self) -> str:
        return f"{self.scorer.name}/s" if self.per_second else self.scorer.name

    def order(self, evidence: Sequence[Evidence], floor: float) -> list[Evidence]:
        """`evidence` in this candidate's order; `floor` is the least cost charged per test."""
        score, tie_break, per_second = self.scorer.score, self.scorer.tie_break, self.per_second
        changed_first = self.scorer.changed_first

        def key(e: Evidence) -> tuple:
            value = score(e)
            if per_second:
                value /= max(e.duration_s, floor)
            first = e.stats is None or (changed_first and e.x["test_changed"] > 0)
            closeness = tuple(-c for c in e.closeness)
            return (not first, -value, *tie_break(e), *closeness, e.test_id)

        return sorted(evidence, key=key)


SCORER_NAMES = tuple(s.name for s in SCORERS)
CANDIDATES = tuple(Candidate(s, per_second) for s in SCORERS for per_second in (False, True))
BY_NAME = {c.name: c for c in CANDIDATES}


def cost_floor(evidence: Sequence[Evidence]) -> float:
    """The least cost a test is charged in a per-second order: the median expected duration,
    and at least MIN_COST_S. A test cheaper than a typical one is then ranked by its chance
    alone: cheapness cannot buy more than that, while long tests still pay their full time."""
    durations = sorted(e.duration_s for e in evidence)
    median = durations[len(durations) // 2] if durations else 0.0
    return max(MIN_COST_S, median)
