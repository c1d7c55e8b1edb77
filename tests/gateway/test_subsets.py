"""Subset goals as pts targets, and the worker's answer as the JSON the CLI reads."""

from __future__ import annotations

import pytest

from pts.core.events import RankedTest, SubsetResponse, Target, TargetKind
from pts.gateway.subsets import (
    UnsupportedGoal,
    inspect_body,
    slice_body,
    subset_body,
    target_of,
)


@pytest.mark.parametrize(
    ("goal", "target"),
    [
        ({"type": "subset-by-percentage", "percentage": 0.2}, Target.parse("20%")),
        ({"type": "subset-by-absolute-time", "duration": 300.0}, Target.parse("5m")),
        ({"type": "subset-by-absolute-time", "duration": 90}, Target(TargetKind.DURATION, 90.0)),
        ({"type": "subset-by-confidence", "percentage": 0.9}, Target.parse("90%c")),
        ({"type": "subset-by-percentage", "percentage": 1}, Target.parse("100%")),
    ],
)
def test_each_goal_the_cli_sends_is_a_pts_target(goal: dict, target: Target) -> None:
    assert target_of(goal) == target


@pytest.mark.parametrize(
    "goal",
    [
        None,
        {"type": "subset-by-percentage", "percentage": 0},
        {"type": "subset-by-percentage", "percentage": 1.5},
        {"type": "subset-by-percentage", "percentage": True},
        {"type": "subset-by-absolute-time", "duration": -1},
        {"type": "subset-by-goal-spec", "goal": "x"},
        {"type": "subset-by-similarity", "similarity": 0.5},
    ],
)
def test_a_goal_pts_has_no_target_for_is_unsupported(goal: object) -> None:
    with pytest.raises(UnsupportedGoal):
        target_of(goal)


def answer(*tests: tuple[str, float, float, str], size: int) -> SubsetResponse:
    return SubsetResponse(
        request_id="r", project="shop", build_id="b2",
        ranked=tuple(RankedTest(*test) for test in tests), subset_size=size,
        expected_share_of_time=0.25, expected_share_of_failures=0.8, model="learned@9",
    )  # fmt: skip


RESPONSE = answer(
    ("com.acme.FlakyTest", 0.6, 30.0, "failed-last"),
    ("com.acme.NewTest", 0.3, 0.0, "new"),
    ("com.acme.CalcTest", 0.1, 60.0, "model"),
    ("com.acme.SlowTest", 0.01, 30.0, "model"),
    size=2,
)


def test_the_answer_gives_back_the_candidates_own_paths_with_a_summary() -> None:
    given = {"com.acme.FlakyTest": [[{"type": "class", "name": "com.acme.FlakyTest"}]]}
    body = subset_body(RESPONSE, given, "maven", "0.7.maven.sX", observation=False)
    assert [p[0]["name"] for p in body["testPaths"]] == ["com.acme.FlakyTest", "com.acme.NewTest"]
    assert [p[0]["name"] for p in body["rest"]] == ["com.acme.CalcTest", "com.acme.SlowTest"]
    assert body["subsettingId"] == "0.7.maven.sX" and body["isBrainless"] is False
    assert body["summary"]["subset"] == {
        "rate": 25.0, "duration": 0.5, "candidates": 2, "newTestCount": 1,
    }  # fmt: skip
    assert body["summary"]["rest"] == {"rate": 75.0, "duration": 1.5, "candidates": 2}


def test_the_bins_of_a_slice_cover_the_subset_once() -> None:
    bins = [slice_body(RESPONSE, "maven", i, 2, observation=False) for i in (1, 2)]
    names = [[p[0]["name"] for p in b["testPaths"]] for b in bins]
    assert sorted(names[0] + names[1]) == ["com.acme.FlakyTest", "com.acme.NewTest"]
    assert all(names)
    assert len(bins[0]["rest"]) == 3  # the other bin and the subset's rest


def test_inspect_shows_each_tests_duration_density_and_newness() -> None:
    build = {"buildNumber": "b2", "createdAt": "2026-12-06T10:00:00+00:00"}
    body = inspect_body(RESPONSE, "maven", build, "sX", observation=True)
    first, new = body["testPaths"]
    assert first["duration"] == 30000.0 and first["density"] == pytest.approx(0.02)
    assert (first["numNewTests"], new["numNewTests"]) == (0, 1)
    assert body["build"]["buildNumber"] == "b2" and body["testSession"]["id"] == "sX"
    assert body["isObservation"] is True and len(body["rest"]) == 2
