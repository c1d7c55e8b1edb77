"""The rankers a project's champion is chosen from: each orders the same evidence its own way.

A candidate is a scorer (how likely a test is to fail, by one rule or model) and an order:
by score, for a confidence target, or by score per second of expected time, for a time budget.
Each orders by its score, then by the scorer's tie-breaks, then by closeness to the change and
by test id: every order is deterministic. Each scores and orders all of a build's candidates at
once (numpy arrays).

A new test (`history.is_new`) is not put first: every scorer gives it the project's learned
chance of a new test (the `posterior` feature of a new test, `ProjectHistory.new_test_chance`)
and orders it by that like any other test, so a project whose new tests rarely fail does not
spend its budget on them. A known test that never ran (a candidate not chosen, a test only
ever skipped) ranks below the quietest test that ran, whatever its scorer thinks of a test
without runs.

Two rules of evidence hold in every order (in the per-second ones, at equal expected cost).
A test *with no evidence* never failed, and neither its file nor its subject is part of the
change (a new test unrelated to the change is one).
1. A known test that never ran and has no evidence ranks below the quietest test that ran: a
   disabled test, or a benchmark that never reports a result, does not lead every build.
2. A test that failed in its last run ranks above every test with no evidence: a scorer whose
   score would say otherwise has the failed test's score raised just above the best of theirs
   (the order among failed tests so raised stays the scorer's). The test that just failed is
   the one a CI engineer checks first; a subset without it is not trusted again.

- `recent-failure`: 1 / (1 + builds since the test last failed); ties: more failures first,
  then the shorter test. The plain rule that is hardest to beat on long CI histories.
- `failure-rate`: failures / runs; ties: the shorter test.
- `bayes`: the per-test failure chance, decayed and shrunk to the project's base rate
  (`TestStats.posterior`): two failures in two runs count, one failure in a thousand runs
  does not.
- `changes`: tests of the changed code first: the test itself changed (a new test added by the
  change too), it failed before with these files, its subject changed, its name resembles the
  changed code; then the recent-failure score.
- `learned`: the project's online model (`models.FailureModel`) over all the features.

The `/s` variant of each orders by score per second, charging each test at least the median
expected duration (`cost_floor`): chances are estimates, and dividing them by tiny durations
would turn their noise into large scores.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from pts.selection.features import COLUMN
from pts.selection.history import MIN_DURATION_S, TestStats

MIN_COST_S = 0.1  # below this, a test's run time is noise next to the runner's own overhead

(
    _NEW,
    _TEST_CHANGED,
    _SUBJECT,
    _NAME,
    _DIRECTORY,
    _CO_FAILURE,
    _LAST_FAILED,
    _RECENCY,
    _POSTERIOR,
    _FAILURES_LOG,
    _RUNS_LOG,
) = (
    COLUMN[name]
    for name in (
        "never_run",  # the test is new in this build
        "test_changed",
        "subject_changed",
        "name_similarity",
        "directory_similarity",
        "co_failure",
        "last_failed",
        "failure_recency",
        "posterior",
        "failures_log",
        "runs_log",
    )
)
# How far above the best score of the tests with no evidence a test that failed in its last
# run is raised: relative, so that dividing both by the same cost keeps them apart.
_ABOVE = 1e-9


class Evidence:
    """What is known of a build's candidate tests, shared by every candidate: one row per test,
    each test once. What only some orders need is computed when first asked for."""

    def __init__(
        self,
        test_ids: Sequence[str],
        x: np.ndarray,
        stats: Sequence[TestStats | None],
        typical_duration: Callable[[], float],
        learned: np.ndarray | None = None,
    ) -> None:
        self.test_ids = test_ids
        self.x = x  # the features, a row per test (`features.feature_values`)
        self.stats = stats  # None for a test the project never saw
        self._typical_duration = typical_duration  # of a test that never ran
        self.learned = learned  # the learned model's chance
        self._derived: dict[str, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self.test_ids)

    def column(self, index: int) -> np.ndarray:
        return self.x[:, index]

    @property
    def new(self) -> np.ndarray:
        """Whether each test is new in this build (`history.is_new`)."""
        return self.column(_NEW) != 0.0

    @property
    def no_evidence(self) -> np.ndarray:
        """Whether nothing speaks for each test failing: it never failed, and neither its file
        nor its subject is part of the change."""
        return (
            (self.column(_FAILURES_LOG) == 0.0)
            & (self.column(_TEST_CHANGED) == 0.0)
            & (self.column(_SUBJECT) == 0.0)
        )

    @property
    def never_ran(self) -> np.ndarray:
        """Whether each test is known but never ran (named by a request, or only skipped)."""
        return (self.column(_RUNS_LOG) == 0.0) & ~self.new

    @property
    def failures(self) -> np.ndarray:
        """Failed runs so far (0 for a test that never ran)."""
        return self._derive("failures", lambda: [s.failures if s else 0 for s in self.stats])

    @property
    def runs(self) -> np.ndarray:
        return self._derive("runs", lambda: [s.runs if s else 0 for s in self.stats])

    @property
    def duration_s(self) -> np.ndarray:
        """Expected durations (`ProjectHistory.expected_duration`)."""

        def durations() -> list[float]:
            typical = None
            out = []
            for s in self.stats:
                if s is not None and s.runs:
                    out.append(max(s.duration_s, MIN_DURATION_S))
                else:
                    if typical is None:
                        typical = self._typical_duration()
                    out.append(typical)
            return out

        return self._derive("duration_s", durations)

    @property
    def last_keys(self) -> np.ndarray:
        """Each test's place when ordered by what breaks every order's last ties: closeness to
        the change (subject, name, directory), then the test id."""

        def places() -> np.ndarray:
            ids = self.test_ids
            by_id = np.empty(len(ids), dtype=np.int64)
            by_id[sorted(range(len(ids)), key=ids.__getitem__)] = np.arange(len(ids))
            order = np.lexsort(
                (by_id, -self.column(_DIRECTORY), -self.column(_NAME), -self.column(_SUBJECT))
            )
            place = np.empty(len(ids), dtype=np.int64)
            place[order] = np.arange(len(ids))
            return place

        return self._derive("last_keys", places)

    def _derive(self, name: str, compute: Callable[[], Sequence[float] | np.ndarray]) -> np.ndarray:
        value = self._derived.get(name)
        if value is None:
            value = self._derived[name] = np.asarray(compute(), dtype=float)
        return value


Score = Callable[[Evidence], np.ndarray]
TieBreak = Callable[[Evidence], tuple[np.ndarray, ...]]


def _recent_failure(e: Evidence) -> np.ndarray:
    recency = e.column(_RECENCY)
    return np.where(e.new, e.column(_POSTERIOR), recency / (1 + recency))


def _failure_rate(e: Evidence) -> np.ndarray:
    rate = np.divide(e.failures, e.runs, out=np.zeros(len(e)), where=e.runs > 0)
    return np.where(e.new, e.column(_POSTERIOR), rate)


def _bayes(e: Evidence) -> np.ndarray:
    return e.column(_POSTERIOR)


def _changes(e: Evidence) -> np.ndarray:
    return np.maximum(
        np.maximum(e.column(_TEST_CHANGED), e.column(_CO_FAILURE)),
        np.maximum(e.column(_SUBJECT), 0.5 * e.column(_NAME)),
    )


def _learned(e: Evidence) -> np.ndarray:
    assert e.learned is not None, "the learned chances are set before any order is asked"
    return e.learned


def _more_failures_then_shorter(e: Evidence) -> tuple[np.ndarray, ...]:
    return (-e.failures, e.duration_s)


def _shorter(e: Evidence) -> tuple[np.ndarray, ...]:
    return (e.duration_s,)


def _more_recent_failure(e: Evidence) -> tuple[np.ndarray, ...]:
    return (-_recent_failure(e), e.duration_s)


def _none(e: Evidence) -> tuple[np.ndarray, ...]:
    return ()


@dataclass(frozen=True, slots=True)
class Scorer:
    name: str
    score: Score
    tie_break: TieBreak
    changed_first: bool = False  # a test whose own file changed goes first


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

    def order(self, evidence: Evidence, floor: float) -> np.ndarray:
        """The rows of `evidence` in this candidate's order; `floor` is the least cost charged
        per test. Sorted by, first to last: changed first (for a scorer that says so), the
        score as the evidence rules have it (`_as_evidence_says`), the score as the scorer
        gave it, the scorer's tie-breaks, closeness to the change (subject, name, directory),
        the test id."""
        value, given = _as_evidence_says(evidence, self.scorer.score(evidence))
        if self.per_second:
            cost = np.maximum(evidence.duration_s, floor)
            value, given = value / cost, given / cost
        ties = reversed(self.scorer.tie_break(evidence))
        keys = (evidence.last_keys, *ties, -given, -value)
        if self.scorer.changed_first:
            keys = (*keys, ~(evidence.column(_TEST_CHANGED) > 0))
        return np.lexsort(keys)


def _as_evidence_says(evidence: Evidence, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`score` under the two rules of evidence, and `score` as given. Among the tests with no
    evidence (`Evidence.no_evidence`), a known test that never ran is lowered, where it is not
    already, just below the quietest test that ran: nothing is known of it but that it was
    named or skipped, and a disabled test or a benchmark that never reports must not lead
    every build. Then each test that failed in its last run is raised, where it is not
    already, just above the best score of the tests with no evidence."""
    quiet = evidence.no_evidence
    if not quiet.any():
        return score, score
    given = score
    never_ran, new = evidence.never_ran, evidence.new
    unknown = quiet & never_ran
    ran = quiet & ~never_ran & ~new
    if unknown.any() and ran.any():
        below = _next_to(float(score[ran].min()), -1)
        score = np.where(unknown & (score > below), below, score)
    failed = evidence.column(_LAST_FAILED) != 0.0
    if failed.any():
        above = _next_to(float(score[quiet].max()), +1)
        score = np.where(failed & (score < above), above, score)
    return score, given


def _next_to(score: float, side: int) -> float:
    """A score just above (`side` +1) or below (-1) `score`: far enough that dividing both by
    the same cost keeps them apart."""
    return score + side * max(abs(score) * _ABOVE, _ABOVE * _ABOVE)


SCORER_NAMES = tuple(s.name for s in SCORERS)
CANDIDATES = tuple(Candidate(s, per_second) for s in SCORERS for per_second in (False, True))
BY_NAME = {c.name: c for c in CANDIDATES}


def cost_floor(evidence: Evidence) -> float:
    """The least cost a test is charged in a per-second order: the median expected duration,
    and at least MIN_COST_S. A test cheaper than a typical one is then ranked by its chance
    alone: cheapness cannot buy more than that, while long tests still pay their full time."""
    durations = np.sort(evidence.duration_s)
    median = float(durations[len(durations) // 2]) if len(durations) else 0.0
    return max(MIN_COST_S, median)
