"""Launchable's subset calls, as pts subset requests and the answers the CLI reads.

Plain functions: the goal of `POST subset` as a pts target, the worker's answer as the JSON
the CLI prints (`testPaths`, `rest`, `summary`), one bin of a split subset (`POST
subset/<id>/slice`), and the detail `launchable inspect subset` shows.

>>> target_of({"type": "subset-by-percentage", "percentage": 0.2})
Target(kind=<TargetKind.SHARE_OF_TIME: 'share_of_time'>, value=0.2)
>>> str(target_of({"type": "subset-by-absolute-time", "duration": 300.0}))
'300s'
>>> str(target_of({"type": "subset-by-confidence", "percentage": 0.9}))
'90%c'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from pts.client.shards import split_into_bins
from pts.core.errors import PtsError
from pts.core.events import RankedTest, SubsetResponse, Target, TargetKind
from pts.gateway.launchable_paths import TestPath, printable, test_path

NEW_REASONS = ("new",)


class UnsupportedGoal(PtsError):
    """A subset goal pts has no target for: answered 422, which the CLI prints and exits 1."""

    exit_code = 2


def target_of(goal: Any) -> Target:
    """The pts target of a Launchable subset goal (`--target`, `--time`, `--confidence`)."""
    if not isinstance(goal, Mapping):
        raise UnsupportedGoal(
            "pts needs a goal: give `launchable subset` --target, --time or --confidence"
        )
    kind = goal.get("type")
    if kind == "subset-by-absolute-time":
        value, target = goal.get("duration"), TargetKind.DURATION
        if _number(value) and value > 0:
            return Target(target, float(value))
        raise UnsupportedGoal(f"--time must be a positive duration, not {value!r}")
    targets = {
        "subset-by-percentage": TargetKind.SHARE_OF_TIME,
        "subset-by-confidence": TargetKind.CONFIDENCE,
    }
    if kind in targets:
        value = goal.get("percentage")
        if _number(value) and 0 < value <= 1:
            return Target(targets[kind], float(value))
        raise UnsupportedGoal(f"the goal's percentage must be in (0%, 100%], not {value!r}")
    raise UnsupportedGoal(f"pts has no subset goal {kind!r}: give --target, --time or --confidence")


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def subset_body(
    response: SubsetResponse,
    paths: Mapping[str, Sequence[TestPath]],
    runner: str,
    subsetting_id: str,
    observation: bool,
) -> dict[str, Any]:
    """The answer to `POST subset`: the candidates' own test paths, subset then rest, and the
    summary the CLI prints (rates in percent, durations in minutes)."""
    subset, rest = _split(response)
    subset_s = sum(t.expected_duration_s for t in subset)
    rest_s = sum(t.expected_duration_s for t in rest)
    subset_rate = 100.0 * response.expected_share_of_time if response.ranked else 0.0
    return {
        "testPaths": _paths_of(subset, paths, runner),
        "rest": _paths_of(rest, paths, runner),
        "subsettingId": subsetting_id,
        "isObservation": observation,
        "isBrainless": False,
        "summary": {
            "subset": {
                "rate": round(subset_rate, 2),
                "duration": round(subset_s / 60, 3),
                "candidates": len(subset),
                "newTestCount": sum(t.reason in NEW_REASONS for t in subset),
            },
            "rest": {
                "rate": round(100.0 - subset_rate, 2) if response.ranked else 0.0,
                "duration": round(rest_s / 60, 3),
                "candidates": len(rest),
            },
        },
        "model": response.model,
    }


def printable_only(response: SubsetResponse, runner: str) -> SubsetResponse:
    """The answer without the tests the CLI cannot print for `runner` (`printable`), its
    subset and share of time counted again over the tests kept."""
    subset, rest = _split(response)
    kept_subset = [t for t in subset if printable(t.test_id, runner)]
    kept = (*kept_subset, *(t for t in rest if printable(t.test_id, runner)))
    total_s = sum(t.expected_duration_s for t in kept)
    share = sum(t.expected_duration_s for t in kept_subset) / total_s if total_s else 0.0
    return replace(
        response,
        ranked=kept,
        subset_size=len(kept_subset),
        candidates=len(kept),
        expected_share_of_time=share,
    )


def _split(response: SubsetResponse) -> tuple[Sequence[RankedTest], Sequence[RankedTest]]:
    return response.ranked[: response.subset_size], response.ranked[response.subset_size :]


def _paths_of(
    tests: Sequence[RankedTest], paths: Mapping[str, Sequence[TestPath]], runner: str
) -> list[TestPath]:
    """Each test's candidate test paths (every path that named it), else the path its id
    gives back."""
    out: list[TestPath] = []
    for test in tests:
        out.extend(paths.get(test.test_id) or [test_path(test.test_id, runner)])
    return out


def slice_body(
    response: SubsetResponse, runner: str, index: int, count: int, observation: bool
) -> dict[str, Any]:
    """Bin `index` of `count` (1-based) of the subset, in bins of nearly equal expected time,
    the way `pts split-subset --bin` cuts them; the other bins and the subset's rest are the
    bin's rest."""
    subset, rest = _split(response)
    bins = split_into_bins([(t.test_id, t.expected_duration_s) for t in subset], count)
    mine = set(bins[index - 1])
    return {
        "testPaths": [test_path(t.test_id, runner) for t in subset if t.test_id in mine],
        "rest": [test_path(t.test_id, runner) for t in [*subset, *rest] if t.test_id not in mine],
        "isObservation": observation,
    }


def inspect_body(
    response: SubsetResponse,
    runner: str,
    build: Mapping[str, Any],
    session_id: str,
    observation: bool,
) -> dict[str, Any]:
    """What `launchable inspect subset` (and `record tests --subset-id`) reads: each test
    with its expected duration (ms), failure density (expected failures per second) and
    whether it is new; the build and the session."""
    subset, rest = _split(response)
    return {
        "testPaths": [_inspected(t, runner) for t in subset],
        "rest": [_inspected(t, runner) for t in rest],
        "isObservation": observation,
        "build": dict(build),
        "testSession": {"id": session_id, "isObservation": observation},
        "model": response.model,
    }


def _inspected(test: RankedTest, runner: str) -> dict[str, Any]:
    seconds = test.expected_duration_s
    return {
        "testPath": test_path(test.test_id, runner),
        "duration": round(seconds * 1000, 3),
        "density": test.failure_probability / seconds if seconds > 0 else test.failure_probability,
        "numNewTests": int(test.reason in NEW_REASONS),
        "reason": test.reason,
    }
