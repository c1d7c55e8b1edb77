"""What a project's past tells about each test: per-test statistics and co-failures with files.

State is plain Python (dicts and small dataclasses) so that it pickles into a checkpoint.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields

from pts.core.events import Build, ResultColumns, TestResult

FAILURE_DECAY = 0.1  # weight of the newest run in the decayed failure rate
DURATION_DECAY = 0.3  # weight of the newest run in the expected duration
EVIDENCE_DECAY = 0.98  # what one run weighs one run later in the posterior (half-life ~34 runs)
PRIOR_RUNS = 2.0  # how many runs' worth the project's base rate weighs in a test's posterior
BASE_PRIOR = (0.01, 10.0)  # a project's base rate before its results: 1%, worth 10 results
MIN_DURATION_S = 0.001  # pytest writes time="0.000" for fast tests: they still cost something


@dataclass(slots=True)
class TestStats:
    __test__ = False

    first_seen: int  # index of the build in which the test first ran
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

    def __setstate__(self, state: list | tuple) -> None:
        # Checkpoints from before the posterior have fewer fields: the new ones start at 0.
        names = [f.name for f in fields(self)]
        values = list(state) + [0.0] * (len(names) - len(state))
        for name, value in zip(names, values, strict=True):
            object.__setattr__(self, name, value)

    def __getstate__(self) -> list:
        return [getattr(self, f.name) for f in fields(self)]

    def posterior(self, base_rate: float) -> float:
        """The chance this test fails next, from its recent runs and the project's base rate:
        (recent failures + PRIOR_RUNS * base) / (recent runs + PRIOR_RUNS). Two failures in two
        runs give about 0.5 whatever the base; one failure in many runs, about the base."""
        return (self.recent_failures + PRIOR_RUNS * base_rate) / (self.recent_runs + PRIOR_RUNS)


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

    def __setstate__(self, state: dict) -> None:
        state.setdefault("runs", sum(s.runs for s in state["tests"].values()))
        state.setdefault("failures", sum(s.failures for s in state["tests"].values()))
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
    ) -> None:
        """Learn a build's results; `failed`, when given, is `r.failed` of each result, and
        then every result ran."""
        changed_paths = {f.path for f in build.changed_files} if build is not None else set()
        columns = ResultColumns.of(results)
        if failed is None:
            columns = columns.ran()
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
            stats.failure_rate = (1 - FAILURE_DECAY) * stats.failure_rate + FAILURE_DECAY * fail
            stats.last_failed = fail
            stats.last_run = build_index
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
