"""Cutting a ranked list of tests into the subset that meets a target.

>>> from pts.core.events import RankedTest, Target
>>> ranked = [RankedTest("a", 0.5, 10.0), RankedTest("b", 0.3, 30.0), RankedTest("c", 0.2, 60.0)]
>>> cut(ranked, Target.parse("40%"))
Cut(size=2, share_of_time=0.4, share_of_failures=0.8)
>>> cut(ranked, Target.parse("10s")).size
1
>>> cut(ranked, Target.parse("90%c")).size
3
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from pts.core.events import RankedTest, SubsetRequest, SubsetResponse, Target, TargetKind

_EPSILON = 1e-9


@dataclass(frozen=True, slots=True)
class Cut:
    size: int
    share_of_time: float
    share_of_failures: float


def cut(ranked: Sequence[RankedTest], target: Target) -> Cut:
    """The shortest prefix of `ranked` that meets `target` (at least one test when any)."""
    total_time = sum(t.expected_duration_s for t in ranked)
    total_failures = sum(t.failure_probability for t in ranked)
    size, time, failures = 0, 0.0, 0.0
    for test in ranked:
        if size > 0 and _met(target, time, failures, total_time, total_failures):
            break
        size += 1
        time += test.expected_duration_s
        failures += test.failure_probability
        if target.kind is not TargetKind.CONFIDENCE and _over(target, time, total_time):
            # Over budget: keep the test only when it is the first one.
            if size > 1:
                size -= 1
                time -= test.expected_duration_s
                failures -= test.failure_probability
            break
    return _shares(time, failures, total_time, total_failures, size)


def _met(
    target: Target, time: float, failures: float, total_time: float, total_failures: float
) -> bool:
    if target.kind is TargetKind.CONFIDENCE:
        return total_failures <= 0 or failures >= target.value * total_failures - _EPSILON
    if target.kind is TargetKind.DURATION:
        return time >= target.value - _EPSILON
    return time >= target.value * total_time - _EPSILON


def _over(target: Target, time: float, total_time: float) -> bool:
    budget = target.value if target.kind is TargetKind.DURATION else target.value * total_time
    return time > budget + _EPSILON


def resized(response: SubsetResponse, ranked: Sequence[RankedTest], size: int) -> SubsetResponse:
    """The response with a new order and subset size (the safety nets' additions), and the
    expected shares of that subset."""
    if size == response.subset_size and len(ranked) == len(response.ranked):
        return response
    shares = _shares(
        sum(t.expected_duration_s for t in ranked[:size]),
        sum(t.failure_probability for t in ranked[:size]),
        sum(t.expected_duration_s for t in ranked),
        sum(t.failure_probability for t in ranked),
        size,
    )
    return replace(
        response,
        ranked=tuple(ranked),
        subset_size=size,
        expected_share_of_time=shares.share_of_time,
        expected_share_of_failures=shares.share_of_failures,
    )


def _shares(
    time: float, failures: float, total_time: float, total_failures: float, size: int
) -> Cut:
    return Cut(
        size=size,
        share_of_time=round(time / total_time, 6) if total_time > 0 else 1.0 * (size > 0),
        share_of_failures=round(failures / total_failures, 6) if total_failures > 0 else 0.0,
    )


def respond(request: SubsetRequest, ranked: Sequence[RankedTest], model: str) -> SubsetResponse:
    """The response to `request` for a ranking of its candidates."""
    subset = cut(ranked, request.target)
    return SubsetResponse(
        request_id=request.request_id,
        project=request.project,
        build_id=request.build_id,
        ranked=tuple(ranked),
        subset_size=subset.size,
        expected_share_of_time=subset.share_of_time,
        expected_share_of_failures=subset.share_of_failures,
        model=model,
    )
