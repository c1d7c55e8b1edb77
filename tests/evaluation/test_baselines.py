"""The baselines on a 3-cycle toy history: they learn from results only, after ranking."""

from __future__ import annotations

from pts.core.events import SubsetRequest, Target, TargetKind, TestResultBatch
from pts.evaluation.baselines import (
    FailureRateFirst,
    RandomOrder,
    RecencyPerSecond,
    RecentFailureFirst,
)
from pts.evaluation.history import Cycle

from .conftest import toy_history

# a fails in cycle 0, b fails in cycles 0 and 1, c never fails, d is new in cycle 2.
HISTORY = toy_history(
    [
        {"a": (True, 1.0), "b": (True, 2.0), "c": (False, 3.0)},
        {"a": (False, 1.0), "b": (True, 4.0), "c": (False, 3.0)},
        {"a": (False, 1.0), "b": (False, 2.0), "c": (False, 5.0), "d": (False, 1.0)},
    ]
)


def _request(cycle: Cycle) -> SubsetRequest:
    return SubsetRequest(
        "r",
        "toy",
        cycle.build.build_id,
        tuple(cycle.candidates),
        Target(TargetKind.SHARE_OF_TIME, 1.0),
        "eval",
    )


def _replay(ranker: RecentFailureFirst | FailureRateFirst | RandomOrder) -> list[list[str]]:
    orders = []
    for cycle in HISTORY.cycles:
        ranker.observe_build(cycle.build)
        response = ranker.rank(_request(cycle))
        orders.append([t.test_id for t in response.ranked])
        assert response.model == ranker.name
        assert all(0.0 <= t.failure_probability <= 1.0 for t in response.ranked)
        ranker.learn(TestResultBatch("toy", cycle.build.build_id, "eval", tuple(cycle.results)))
    return orders


def test_recent_failure_first() -> None:
    orders = _replay(RecentFailureFirst())
    # Cycle 0: nothing seen, all unseen (score 1): ties by duration (1.0 default), then id.
    assert orders[0] == ["a", "b", "c"]
    # Cycle 1: a and b failed in the same last cycle (1 failure each): shorter a (1 s) first.
    assert orders[1] == ["a", "b", "c"]
    # Cycle 2: d unseen first; b failed last cycle; a two cycles ago; c never.
    assert orders[2] == ["d", "b", "a", "c"]


def test_failure_rate_first() -> None:
    orders = _replay(FailureRateFirst())
    assert orders[1] == ["a", "b", "c"]  # rates 1, 1, 0: tie by duration (a 1 s, b 2 s)
    assert orders[2] == ["d", "b", "a", "c"]  # d unseen; b 2/2; a 1/2; c 0/2


def test_expected_durations_last_seen_and_median_for_unseen() -> None:
    ranker = RecentFailureFirst()
    for cycle in HISTORY.cycles[:2]:
        ranker.learn(TestResultBatch("toy", cycle.build.build_id, "eval", tuple(cycle.results)))
    response = ranker.rank(_request(HISTORY.cycles[2]))
    expected = {t.test_id: t.expected_duration_s for t in response.ranked}
    assert expected == {"a": 1.0, "b": 4.0, "c": 3.0, "d": 3.0}  # d: median of 1, 4, 3


def test_random_order_is_seeded() -> None:
    assert _replay(RandomOrder(7)) == _replay(RandomOrder(7))
    orders = [_replay(RandomOrder(seed))[2] for seed in range(10)]
    assert all(sorted(o) == ["a", "b", "c", "d"] for o in orders)
    assert len({tuple(o) for o in orders}) > 1


def test_recency_per_second_prefers_the_cheaper_of_two_recent_failures() -> None:
    # After cycle 1: b failed last cycle (score 1/2) and takes 4 s; a failed the cycle
    # before (1/3) and takes 1 s: a's 0.33 per second beats b's 0.125. d is new: first.
    orders = _replay(RecencyPerSecond())
    assert orders[2] == ["d", "a", "b", "c"]
