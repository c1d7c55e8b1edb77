"""The replay: call order (no look-ahead), scoring, exclusions, and a run on real data."""

from __future__ import annotations

import math

import pytest

from pts.core.events import Build, RankedTest, SubsetRequest, SubsetResponse, TestResultBatch
from pts.evaluation.baselines import RecentFailureFirst, baseline_rankers
from pts.evaluation.harness import CURVE, evaluate, format_table
from pts.evaluation.importers.commons import load_commons
from pts.selection.selector import Selector
from pts.selection.subsets import respond

from .conftest import FIXTURES, SHARED_DATASETS, toy_history


class Recorder:
    """Ranks candidates in reverse order and records every call it gets."""

    name = "recorder"

    def __init__(self, calls: list[tuple[str, str]]) -> None:
        self.calls = calls
        self.failed: set[str] = set()

    def observe_build(self, build: Build) -> None:
        self.calls.append(("observe", build.build_id))

    def rank(self, request: SubsetRequest) -> SubsetResponse:
        self.calls.append(("rank", request.build_id))
        order = sorted(request.candidates, reverse=True)
        return respond(request, [RankedTest(t, 0.5, 1.0) for t in order], self.name)

    def learn(self, batch: TestResultBatch) -> None:
        self.calls.append(("learn", batch.build_id))


def _tests(failing: set[str], n: int = 5) -> dict[str, tuple[bool, float]]:
    return {f"t{i}": (f"t{i}" in failing, 1.0) for i in range(n)}


def test_no_look_ahead_observe_rank_learn_per_cycle() -> None:
    history = toy_history([_tests(set()), _tests({"t1"}), _tests({"t2"})])
    calls: list[tuple[str, str]] = []
    evaluate(history, {"recorder": lambda: Recorder(calls)})
    # Ranked for each target a figure answers (a confidence, the whole time, and each of the
    # four budgets), before learning.
    steps = ("observe", *["rank"] * 6, "learn")
    assert calls == [(step, f"b{i}") for i in range(3) for step in steps]


def test_scores_failing_cycles_and_counts_small_ones_left_out() -> None:
    history = toy_history(
        [_tests({"t0"}), _tests(set()), _tests({"t4"}, n=5), _tests({"t1"}, n=3), _tests(set())]
    )
    report = evaluate(history, [Recorder([])], min_candidates=5)
    assert (report.cycles, report.failing_cycles, report.scored, report.left_out) == (5, 3, 2, 1)
    ranker = report.rankers["recorder"]
    assert (ranker.scored, ranker.left_out) == (2, 1)
    # Reverse order t4..t0 (n = 5): t0 last -> 1 - 5/5 + 1/10 = 0.1; t4 first -> 0.9.
    assert [c.apfd for c in ranker.cycles] == pytest.approx([0.1, 0.9])
    assert ranker.apfd == pytest.approx(0.5)
    assert ranker.caught[0.2] == pytest.approx(0.5)  # 20% of 5 s = 1 s: only the first test
    assert [b for b, _ in ranker.curve] == list(CURVE)
    assert ranker.rankings[3] == ["t2", "t1", "t0"]
    assert len(ranker.rankings) == 5


def test_incomplete_rankings_put_missing_candidates_last() -> None:
    class Lazy(Recorder):
        def rank(self, request: SubsetRequest) -> SubsetResponse:
            return respond(request, [RankedTest(request.candidates[-1], 1.0, 1.0)], self.name)

    history = toy_history([_tests({"t0"})])
    ranker = evaluate(history, [Lazy([])]).rankers["recorder"]
    assert ranker.rankings[0] == ["t4", "t0", "t1", "t2", "t3"]
    assert ranker.incomplete == 1


def test_replicas_are_averaged_and_runs_are_reproducible() -> None:
    history = toy_history([_tests({"t1"}), _tests({"t1", "t3"}), _tests({"t0"})])
    first = evaluate(history, baseline_rankers(seeds=4))
    second = evaluate(history, baseline_rankers(seeds=4))
    assert first.rankers["random"].replicas == 4
    for name in first.rankers:
        assert first.rankers[name].rankings == second.rankers[name].rankings
    assert first.to_dict()["rankers"]["random"]["apfd"] == second.rankers["random"].apfd


def test_report_without_scored_cycles_prints_dashes() -> None:
    report = evaluate(toy_history([_tests(set())]), [RecentFailureFirst()])
    assert math.isnan(report.rankers["recent-failure"].apfd)
    assert report.to_dict()["rankers"]["recent-failure"]["apfd"] is None
    assert "  -  " in format_table(report) or format_table(report).split("\n")[2].endswith("-")


def test_real_commons_io_sample_in_the_repository() -> None:
    """Real data that always travels with the code: the first 80 cycles of commons_io."""
    history = load_commons(FIXTURES / "commons" / "commons_io_first80.csv")
    assert (len(history.cycles), history.failing_cycles) == (80, 2)
    assert sum(len(c.build.changed_files) for c in history.cycles) == 245
    report = evaluate(history, {**baseline_rankers(seeds=2), "selector": Selector})
    assert (report.scored, report.left_out) == (1, 1)
    # TailerTest fails for the first time there: nothing that learns from history sees it coming.
    assert report.rankers["recent-failure"].apfd < 0.1
    assert report.rankers["selector"].apfd < 0.1


@pytest.mark.skipif(
    SHARED_DATASETS is None,
    reason="the shared Commons datasets are not on this "
    "machine (set PTS_SHARED_DATASETS); the in-repository sample still runs",
)
def test_real_commons_codec_history() -> None:
    assert SHARED_DATASETS is not None
    history = load_commons(SHARED_DATASETS / "commons_codec.csv")
    assert (len(history.cycles), history.failing_cycles) == (615, 3)
    report = evaluate(history, baseline_rankers(seeds=2), min_candidates=2)
    assert report.scored + report.left_out == 3
    assert report.scored == 1  # the two other failing cycles ran a single test class
    table = format_table(report)
    assert table.startswith("commons_codec: 615 cycles, 3 failing; 1 failing cycles scored")
    for ranker in report.rankers.values():
        assert len(ranker.rankings) == 615
