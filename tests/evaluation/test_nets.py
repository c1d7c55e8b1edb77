"""Scoring the safety nets in the replay: what they add, what they catch, in one pass."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from pts.core.events import ChampionDecision, SubsetRequest, TargetKind
from pts.evaluation.harness import evaluate, format_table
from pts.evaluation.history import Cycle, History
from pts.evaluation.nets import Added, NetsBuild, summarize
from pts.evaluation.report import ChampionChange
from pts.evaluation.synthetic import generate
from pts.selection.safety_nets import DEFAULTS, OFF, Nets
from pts.selection.selector import Selector

from .conftest import toy_history
from .test_harness import Recorder

SLOW = "x_slow"  # 20 s against 1 s for each of the others: it fits no budget unless first


def _comeback(failing_at: int) -> History:
    """Ten 1 s tests in every build; `SLOW` runs in build 0, then not until `failing_at`,
    where it fails (and nothing else does)."""
    cycles = []
    for i in range(failing_at + 1):
        tests = {f"t{k}": (False, 1.0) for k in range(10)}
        if i in (0, failing_at):
            tests[SLOW] = (i == failing_at, 20.0)
        cycles.append(tests)
    return toy_history(cycles)


def _days_apart(history: History) -> History:
    """The same history with its builds a day apart instead of an hour."""
    first = history.cycles[0].build.started_at
    return History(
        history.name,
        history.project,
        [
            Cycle(replace(c.build, started_at=first + timedelta(days=i)), c.results)
            for i, c in enumerate(history.cycles)
        ],
    )


def test_a_test_with_no_result_in_50_builds_is_caught_by_the_nets() -> None:
    report = evaluate(_comeback(60), {"selector": Selector}, nets={"selector": DEFAULTS})
    nets = report.rankers["selector"].nets
    assert nets is not None and (nets.builds, nets.scored) == (61, 1)
    # The ranking alone leaves the slow test out at both budgets; the starvation net adds it.
    assert nets.missed == {0.1: 1, 0.33: 1}
    assert nets.caught == {0.1: 1, 0.33: 1}
    assert nets.extended == {0.1: 1, 0.33: 1}
    [build] = nets.extended_builds
    assert (build.index, build.build_id) == (60, "b60")
    assert build.added[0.1] == Added(tests=1, time=round(20 / 30, 6), missed=True, caught=True)
    assert nets.added_time[0.1] == pytest.approx(20 / 30 / 61)


def test_with_the_nets_off_nothing_is_added_and_the_miss_stays() -> None:
    report = evaluate(_comeback(60), {"selector": Selector}, nets={"selector": OFF})
    nets = report.rankers["selector"].nets
    assert nets is not None
    assert nets.added_time == {0.1: 0.0, 0.33: 0.0}
    assert nets.extended == {0.1: 0, 0.33: 0} and nets.extended_builds == []
    assert nets.missed == {0.1: 1, 0.33: 1} and nets.caught == {0.1: 0, 0.33: 0}


def test_days_are_counted_from_the_builds_time() -> None:
    by_days = Nets(starve_after_builds=0, starve_after_days=14.0, full_run_every=0)
    # 20 builds an hour apart: less than a day, nothing is due.
    hourly = evaluate(_comeback(20), {"selector": Selector}, nets={"selector": by_days})
    assert hourly.rankers["selector"].nets.caught == {0.1: 0, 0.33: 0}  # type: ignore[union-attr]
    # A day apart: 20 days without a result, the slow test is due.
    daily = evaluate(_days_apart(_comeback(20)), {"selector": Selector}, nets={"selector": by_days})
    assert daily.rankers["selector"].nets.caught == {0.1: 1, 0.33: 1}  # type: ignore[union-attr]


def test_nets_are_asked_after_the_ranking_and_before_learning_at_the_builds_time() -> None:
    history = toy_history([{f"t{k}": (k == i, 1.0) for k in range(5)} for i in range(3)])
    calls: list[tuple[str, str]] = []
    requests: list[SubsetRequest] = []

    class Asked(Recorder):
        def rank(self, request: SubsetRequest):  # type: ignore[no-untyped-def]
            requests.append(request)
            return super().rank(request)

    report = evaluate(history, {"recorder": lambda: Asked(calls)}, nets={"recorder": DEFAULTS})
    steps = ("observe", *["rank"] * 8, "learn")
    assert calls == [(step, f"b{i}") for i in range(3) for step in steps]
    for i, cycle in enumerate(history.cycles):
        ranking, with_nets = requests[8 * i : 8 * i + 6], requests[8 * i + 6 : 8 * i + 8]
        assert all(r.starve_after_builds == 0 and r.starve_after_days == 0 for r in ranking)
        assert [r.target.value for r in with_nets] == [0.1, 0.33]
        for request in with_nets:
            assert request.target.kind is TargetKind.SHARE_OF_TIME
            assert (request.starve_after_builds, request.starve_after_days) == (50, 14.0)
            assert request.full_run_every == 0
            assert request.requested_at == cycle.build.started_at
    # The recorder's answers name no net: nothing added; the figures of the ranking are kept.
    assert report.rankers["recorder"].nets.extended == {0.1: 0, 0.33: 0}  # type: ignore[union-attr]
    assert len(report.rankers["recorder"].cycles) == 3


def test_scoring_the_nets_leaves_the_rankings_figures_as_they_were() -> None:
    history = generate(seed=3, cycles=40)
    alone = evaluate(history, {"selector": Selector})
    with_nets = evaluate(history, {"selector": Selector}, nets={"selector": DEFAULTS})
    assert alone.rankers["selector"].nets is None
    assert with_nets.rankers["selector"].rankings == alone.rankers["selector"].rankings
    assert with_nets.rankers["selector"].apfdc == alone.rankers["selector"].apfdc
    assert with_nets.rankers["selector"].caught == alone.rankers["selector"].caught
    # Every test of a synthetic build ran in the build before: nothing is starved.
    assert with_nets.rankers["selector"].nets.extended == {0.1: 0, 0.33: 0}  # type: ignore[union-attr]


def test_a_periodic_full_run_adds_the_rest_of_the_build() -> None:
    history = generate(seed=2, cycles=30)
    every_10 = Nets(starve_after_builds=0, starve_after_days=0.0, full_run_every=10)
    report = evaluate(history, {"selector": Selector}, nets={"selector": every_10})
    nets = report.rankers["selector"].nets
    assert nets is not None and nets.full_run_every == 10
    assert [b.index for b in nets.extended_builds] == [10, 20]
    for build in nets.extended_builds:
        candidates = len(history.cycles[build.index].candidates)
        for added in build.added.values():
            assert 0 < added.tests < candidates and added.time > 0.6
    assert nets.caught[0.1] <= nets.missed[0.1]
    assert "a full run every 10 builds" in format_table(report)


def test_summarize_counts_misses_and_catches_on_scored_builds_only() -> None:
    hit = Added(tests=2, time=0.5, missed=True, caught=True)
    none = Added(tests=0, time=0.0, missed=False, caught=False)
    builds = [
        NetsBuild(0, "b0", scored=True, added={0.1: hit}),
        NetsBuild(1, "b1", scored=False, added={0.1: hit}),  # too few candidates to score
        NetsBuild(2, "b2", scored=False, added={0.1: none}),
        NetsBuild(3, "b3", scored=True, added={0.1: none}),
    ]
    report = summarize(DEFAULTS, builds)
    assert (report.builds, report.scored) == (4, 2)
    assert report.added_time == {0.1: 0.25} and report.extended == {0.1: 2}
    assert report.missed == {0.1: 1} and report.caught == {0.1: 1}
    assert [b.index for b in report.extended_builds] == [0, 1]


def test_changes_of_champion_are_kept_with_the_cycle_that_decided_them() -> None:
    history = toy_history([{f"t{k}": (k == i, 1.0) for k in range(5)} for i in range(3)])

    class Switching(Recorder):
        def take_decisions(self, project: str) -> list[ChampionDecision]:
            if self.calls[-1] != ("learn", "b1"):
                return []
            return [ChampionDecision(project, "apfdc", "learned/s", "bayes/s", {}, 7, 40)]

    report = evaluate(history, {"recorder": lambda: Switching([])})
    changes = report.rankers["recorder"].champion_changes
    assert changes == [ChampionChange(1, "b1", "apfdc", "learned/s", "bayes/s", 7)]
    assert "cycle 1 (apfdc, on 7 failing builds): learned/s -> bayes/s" in format_table(report)
    assert report.to_dict()["rankers"]["recorder"]["champion_changes"][0]["champion"] == "bayes/s"
