"""A CI history as the evaluation replays it: cycles in time order, each a build and its results."""

from __future__ import annotations

from dataclasses import dataclass, field

from pts.core.events import Build, TestResult


@dataclass
class Cycle:
    """One CI cycle: the build (with its changed files) and the true results of the tests it ran."""

    build: Build
    results: list[TestResult] = field(default_factory=list)

    @property
    def candidates(self) -> list[str]:
        """The ids of the tests that ran (not skipped), each once, sorted: what a request offers."""
        return sorted({r.test_id for r in self.results if r.ran})

    @property
    def failing(self) -> set[str]:
        """The ids of the tests that failed or errored in this cycle."""
        return {r.test_id for r in self.results if r.ran and r.failed}

    @property
    def durations(self) -> dict[str, float]:
        """True duration of each test that ran (summed when a test appears more than once)."""
        durations: dict[str, float] = {}
        for r in self.results:
            if r.ran:
                durations[r.test_id] = durations.get(r.test_id, 0.0) + r.duration_s
        return durations


@dataclass
class History:
    """The cycles of one project, oldest first, under a name for reports (e.g. `commons_codec`)."""

    name: str
    project: str
    cycles: list[Cycle] = field(default_factory=list)

    @property
    def failing_cycles(self) -> int:
        return sum(1 for c in self.cycles if c.failing)

    def head(self, limit: int | None) -> History:
        """The first `limit` cycles of this history (all of them when `limit` is None)."""
        if limit is None:
            return self
        return History(self.name, self.project, self.cycles[: max(limit, 0)])
