"""What a project's past tells about each test: per-test statistics and co-failures with files.

A test is *new* only while the project has never seen it: not as a candidate of a subset
request, not in a result of any kind. Every other test is known and has a `TestStats`, even
with no run: a candidate that was not chosen, or a test whose results are all skipped
(disabled, not applicable here), is a known test whose outcome is unknown, not a new one. Were
it new at every build, it would go first in every build, and push the test that just failed out
of a small subset. A test named by a request stays new for the rest of that build (a build may
ask several times before its results, and each answer must be the same), and skipped results
are kept as skipped: they count neither as a run nor as a pass, so they move no failure rate,
no base rate and nothing the model learns.

How likely a new test is to fail is learned per project, from how often the first runs of its
new tests failed (`ProjectHistory.new_test_chance`), separately for new tests whose own file
the build's change touched (usually just written) and the others.

State is plain Python (dicts and small dataclasses) so that it pickles into a checkpoint.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import MISSING, dataclass, fields

from pts.core.events import Build, Outcome, ResultColumns, TestResult
from pts.selection.safety_nets import Staleness

FAILURE_DECAY = 0.1  # weight of the newest run in the decayed failure rate
DURATION_DECAY = 0.3  # weight of the newest run in the expected duration
EVIDENCE_DECAY = 0.98  # what one run weighs one run later in the posterior (half-life ~34 runs)
PRIOR_RUNS = 2.0  # how many runs' worth the project's base rate weighs in a test's posterior
BASE_PRIOR = (0.01, 10.0)  # a project's base rate before its results: 1%, worth 10 results
MIN_DURATION_S = 0.001  # pytest writes time="0.000" for fast tests: they still cost something
# How many first runs the prior of a new test's chance weighs: the project's base rate for the
# chance of any new test, and that chance for each kind (changed by the build, or not). The
# same weight as the base rate's own prior: a handful of first runs is not yet a rate.
NEW_TEST_PRIOR = 10.0


@dataclass(slots=True)
class TestStats:
    __test__ = False

    first_seen: int  # index of the build in which the project first saw the test
    runs: int = 0
    failures: int = 0
    transitions: int = 0  # pass->fail and fail->pass flips: flakiness
    failure_rate: float = 0.0  # exponentially decayed
    last_failed: bool = False
    last_failure: int = -1  # build index of the most recent failure
    last_run: int = -1
    duration_s: float = 0.0
    recent_failures: float = 0.0  # failures, each weighing EVIDENCE_DECAY ** (runs since)
    recent_runs: float = 0.0  # runs, weighed the same way
    skipped: int = 0  # skipped results: seen, not run
    named_in: str = ""  # the build whose request first named it, until a result of it arrives
    last_result: int = -1  # build index of its last result of any kind, skipped included
    last_result_at: float = 0.0  # when that build started (epoch seconds); 0: not known
    # The build in which the starvation net last added it (index, id), and the one before: a
    # test that runs and reports nothing (a Go benchmark under `go test`) is added once per
    # bound, not at every build, and every request of one build gets the same answer.
    offered_at: int = -1
    offered_in: str = ""
    offered_before: int = -1

    def __setstate__(self, state: list | tuple) -> None:
        # Checkpoints from before a field have fewer of them: the missing ones take their
        # defaults (fields are only ever added at the end).
        known = fields(self)
        values = list(state) + [f.default for f in known[len(state) :]]
        for field, value in zip(known, values, strict=True):
            if value is MISSING:
                raise ValueError(f"a TestStats state without {field.name}")
            object.__setattr__(self, field.name, value)

    def __getstate__(self) -> list:
        return [getattr(self, f.name) for f in fields(self)]

    def posterior(self, base_rate: float) -> float:
        """The chance this test fails next, from its recent runs and the project's base rate:
        (recent failures + PRIOR_RUNS * base) / (recent runs + PRIOR_RUNS). Two failures in two
        runs give about 0.5 whatever the base; one failure in many runs, about the base."""
        return (self.recent_failures + PRIOR_RUNS * base_rate) / (self.recent_runs + PRIOR_RUNS)


def is_new(stats: TestStats | None, build_id: str) -> bool:
    """Whether a test is new in build `build_id`: the project never saw it, or saw it only as
    a candidate of this same build."""
    return stats is None or (stats.named_in != "" and stats.named_in == build_id)


class ProjectHistory:
    """Statistics of one project's tests and files, updated from each build's results."""

    def __init__(self) -> None:
        self.builds_learned = 0
        self.tests: dict[str, TestStats] = {}
        self.file_changes: dict[str, int] = defaultdict(int)  # builds in which a file changed
        self.co_failures: dict[str, dict[str, int]] = defaultdict(dict)  # file -> test -> n
        self._durations_sorted: list[float] | None = None
        self.runs = 0
        self.failures = 0
        # First runs of new tests (after the project's first build) and how many failed, each
        # as [not changed by their build, changed by it].
        self.first_runs = [0, 0]
        self.first_failures = [0, 0]

    def __setstate__(self, state: dict) -> None:
        state.setdefault("runs", sum(s.runs for s in state["tests"].values()))
        state.setdefault("failures", sum(s.failures for s in state["tests"].values()))
        # Checkpoints from before new tests had a learned chance: none counted yet.
        state.setdefault("first_runs", [0, 0])
        state.setdefault("first_failures", [0, 0])
        self.__dict__.update(state)

    @property
    def base_rate(self) -> float:
        """The share of the project's results that failed, smoothed toward 1% (a typical
        share in CI) so that a project's first results do not make every test look likely."""
        share, weight = BASE_PRIOR
        return (self.failures + share * weight) / (self.runs + weight)

    def posterior(self, test_id: str) -> float:
        """A test's failure chance (`TestStats.posterior`); the base rate for an unseen test."""
        stats = self.tests.get(test_id)
        base = self.base_rate
        return stats.posterior(base) if stats is not None else base

    def new_test_chance(self, changed: bool) -> float:
        """The chance that a new test fails its first run, from this project's new tests: the
        share of their first runs that failed, shrunk (`NEW_TEST_PRIOR` first runs) toward the
        share over all new tests, itself shrunk toward the base rate; `changed`: the test's
        own file is part of the build's change. A project whose new tests often fail ranks
        them early, one whose new tests pass ranks them with its other quiet tests.

        >>> history = ProjectHistory()
        >>> round(history.new_test_chance(False), 4)  # nothing known: the base rate, 1%
        0.01
        >>> history.learn_first_runs(changed=[True] * 10, failed=[True] * 5 + [False] * 5)
        >>> round(history.new_test_chance(True), 3), round(history.new_test_chance(False), 3)
        (0.378, 0.255)
        """
        any_new = (sum(self.first_failures) + NEW_TEST_PRIOR * self.base_rate) / (
            sum(self.first_runs) + NEW_TEST_PRIOR
        )
        kind = int(changed)
        return (self.first_failures[kind] + NEW_TEST_PRIOR * any_new) / (
            self.first_runs[kind] + NEW_TEST_PRIOR
        )

    def learn_first_runs(self, changed: Sequence[bool], failed: Sequence[bool]) -> None:
        """Count the first runs of new tests: whether each one's file was part of its build's
        change, and whether it failed."""
        for kind, fail in zip(changed, failed, strict=True):
            self.first_runs[int(kind)] += 1
            self.first_failures[int(kind)] += int(fail)

    def name_candidates(self, test_ids: Iterable[str], build_id: str, build_index: int) -> int:
        """Remember the tests a subset request for build `build_id` names: from the next build
        on, those never seen before are known (`is_new`). Returns how many were new."""
        tests = self.tests
        named = 0
        for test_id in test_ids:
            if test_id not in tests:
                tests[test_id] = TestStats(first_seen=build_index, named_in=build_id)
                named += 1
        return named

    def note_skipped(self, build_index: int, test_ids: Iterable[str], at: float = 0.0) -> None:
        """Keep skipped results: the test is known from now on, and nothing else changes (a
        skipped result is not a run, and not a pass)."""
        tests = self.tests
        for test_id in test_ids:
            stats = tests.get(test_id)
            if stats is None:
                stats = tests[test_id] = TestStats(first_seen=build_index)
            stats.skipped += 1
            stats.last_result, stats.last_result_at = build_index, at
            stats.named_in = ""

    def note_offered(self, test_ids: Iterable[str], build_id: str, build_index: int) -> None:
        """Remember that the starvation net added these tests to build `build_id`'s subset."""
        for test_id in test_ids:
            stats = self.tests.get(test_id)
            if stats is not None and stats.offered_in != build_id:
                stats.offered_before, stats.offered_at = stats.offered_at, build_index
                stats.offered_in = build_id

    def staleness(self, test_id: str, build_id: str, now: float) -> Staleness | None:
        """How many of the project's builds, and days before `now` (epoch seconds), since the
        test's last result, or since the project first saw it or the starvation net last added
        it (in another build); None for a new test."""
        stats = self.tests.get(test_id)
        if is_new(stats, build_id):
            return None
        assert stats is not None
        offered = stats.offered_before if stats.offered_in == build_id else stats.offered_at
        last = max(stats.last_result, stats.last_run, stats.first_seen, offered)
        days = (now - stats.last_result_at) / 86_400 if stats.last_result_at > 0 else 0.0
        return Staleness(self.builds_learned - last, max(days, 0.0))

    def expected_duration(self, test_id: str) -> float:
        stats = self.tests.get(test_id)
        if stats is not None and stats.runs:
            return max(stats.duration_s, MIN_DURATION_S)
        return self.typical_duration()

    def typical_duration(self) -> float:
        """The median expected duration of known tests; 1 s when nothing is known."""
        if self._durations_sorted is None:
            self._durations_sorted = sorted(s.duration_s for s in self.tests.values() if s.runs)
        known = self._durations_sorted
        return max(known[len(known) // 2], MIN_DURATION_S) if known else 1.0

    def start_build(self, build: Build | None) -> int:
        """Count a build whose results are about to be learned; returns its index."""
        index = self.builds_learned
        self.builds_learned += 1
        if build is not None:
            for changed in {f.path for f in build.changed_files}:
                self.file_changes[changed] += 1
        return index

    def update(
        self,
        build_index: int,
        build: Build | None,
        results: Iterable[TestResult],
        failed: Sequence[bool] | None = None,
        at: float = 0.0,
    ) -> None:
        """Learn a build's results; `failed`, when given, is `r.failed` of each result, and
        then every result ran (skipped ones go to `note_skipped`); `at`: when the build
        started (epoch seconds), for the safety nets' bound in days."""
        changed_paths = {f.path for f in build.changed_files} if build is not None else set()
        columns = ResultColumns.of(results)
        if failed is None:
            ran = columns.ran()
            if len(ran) < len(columns):
                self.note_skipped(build_index, skipped_ids(columns), at)
            columns = ran
            failed = columns.failed()
        test_ids = columns.test_ids
        # A test id that is a runner's unit (a spec file, a class) holds several cases: the
        # time it costs is theirs together, so its duration is learned once, from their sum.
        durations: dict[str, float] = {}
        for test_id, duration in zip(test_ids, columns.durations_s, strict=True):
            durations[test_id] = durations.get(test_id, 0.0) + duration
        tests = self.tests
        for test_id, fail in zip(test_ids, failed, strict=True):
            stats = tests.get(test_id)
            if stats is None:
                stats = tests[test_id] = TestStats(first_seen=build_index)
            if stats.runs and fail != stats.last_failed:
                stats.transitions += 1
            duration = durations.pop(test_id, None)
            if duration is not None:
                stats.duration_s = (
                    duration
                    if stats.runs == 0
                    else (1 - DURATION_DECAY) * stats.duration_s + DURATION_DECAY * duration
                )
            stats.runs += 1
            stats.named_in = ""
            stats.failure_rate = (1 - FAILURE_DECAY) * stats.failure_rate + FAILURE_DECAY * fail
            stats.last_failed = fail
            stats.last_run = stats.last_result = build_index
            stats.last_result_at = at
            stats.recent_failures = EVIDENCE_DECAY * stats.recent_failures + fail
            stats.recent_runs = EVIDENCE_DECAY * stats.recent_runs + 1
            if fail:
                stats.failures += 1
                stats.last_failure = build_index
                for path in changed_paths:
                    failed_with = self.co_failures[path]
                    failed_with[test_id] = failed_with.get(test_id, 0) + 1
        self.runs += len(columns)
        self.failures += sum(failed)
        self._durations_sorted = None


def skipped_ids(columns: ResultColumns) -> list[str]:
    """The ids of the skipped results, in order."""
    skipped = Outcome.SKIPPED
    return [t for t, o in zip(columns.test_ids, columns.outcomes, strict=True) if o is skipped]
