"""The Launchable CLI's case events (`record tests`) as pts test results.

One event per test case, as pts reads a report, except Surefire's reruns: the CLI sends each
`<rerunFailure>`/`<flakyFailure>` attempt as an extra failed event of the same test path with
no duration, beside the test case's own; pts keeps a test case's attempts within its one
result (`pts.client.junit_reports`), so the attempts are folded back into the case's event.

>>> events = [
...     {"testPath": [{"type": "class", "name": "com.acme.FlakyTest"},
...                   {"type": "testcase", "name": "sometimes"}], "duration": 0, "status": 0},
...     {"testPath": [{"type": "class", "name": "com.acme.FlakyTest"},
...                   {"type": "testcase", "name": "sometimes"}], "duration": 0.2, "status": 1},
... ]
>>> [(r.test_id, r.outcome.value) for r in results_of(events, "maven")]
[('com.acme.FlakyTest', 'passed')]
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from pts.client.junit_reports import MAX_DURATION_S
from pts.client.messages import MAX_MESSAGE, first_lines, truncated
from pts.core.events import Outcome, TestResult
from pts.gateway.launchable_paths import NO_PACKAGES, BadTestPath, identity

STATUSES = {0: Outcome.FAILED, 1: Outcome.PASSED, 2: Outcome.SKIPPED}
SUREFIRE_PROFILES = ("maven", "gradle")


def results_of(
    events: Sequence[Any], launchable_runner: str, go_packages: Mapping[str, str] = NO_PACKAGES
) -> list[TestResult]:
    """The results of a `record tests` upload's events, in their order; `go_packages`: the
    full import path of each Go package the CLI named by its last element."""
    cases = [_checked(event, index) for index, event in enumerate(events)]
    if launchable_runner in SUREFIRE_PROFILES:
        cases = _without_attempts(cases)
    results = [_result(event, launchable_runner, go_packages) for event in cases]
    return _with_variants(results)


def _checked(event: Any, index: int) -> Mapping[str, Any]:
    if not isinstance(event, Mapping):
        raise BadTestPath(f"events[{index}] is no object")
    if event.get("type", "case") != "case":
        raise BadTestPath(f"events[{index}]: type {event.get('type')!r} is not 'case'")
    status = event.get("status")
    if isinstance(status, bool) or status not in STATUSES:
        raise BadTestPath(f"events[{index}]: status {event.get('status')!r} is not 0, 1 or 2")
    duration = event.get("duration", 0)
    if isinstance(duration, bool) or not isinstance(duration, int | float):
        raise BadTestPath(f"events[{index}]: duration {duration!r} is no number")
    if not math.isfinite(duration) or not 0 <= duration <= MAX_DURATION_S:
        raise BadTestPath(f"events[{index}]: duration {duration!r} is not a test's duration")
    return event


def _is_attempt(event: Mapping[str, Any]) -> bool:
    """An attempt the CLI made of a rerun tag: failed, with no duration of its own."""
    return event["status"] == 0 and not event.get("duration")


def _without_attempts(events: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Each run of adjacent events of one test path as one event: its test case's own (the
    last that is no attempt: a flaky case's attempts come first, a failing one's after)."""
    kept: list[Mapping[str, Any]] = []
    group: list[Mapping[str, Any]] = []
    for event in [*events, None]:
        same_test = group and event is not None and event["testPath"] == group[0]["testPath"]
        if same_test and (_is_attempt(event) or all(_is_attempt(e) for e in group)):
            group.append(event)
            continue
        if group:
            own = [e for e in group if not _is_attempt(e)]
            kept.append(own[-1] if own else group[0])
        group = [event] if event is not None else []
    return kept


def _result(
    event: Mapping[str, Any], launchable_runner: str, go_packages: Mapping[str, str]
) -> TestResult:
    named = identity(event.get("testPath"), launchable_runner, go_packages)
    outcome = STATUSES[event["status"]]
    text = str(event.get("stderr") or "") if outcome is Outcome.FAILED else ""
    message = (
        first_lines(text) if named.whole_unit and text else truncated(text.strip(), MAX_MESSAGE)
    )
    return TestResult(
        test_id=named.test_id,
        suite=named.suite,
        name=named.name,
        outcome=outcome,
        duration_s=float(event.get("duration") or 0.0),
        message=message,
        variant=named.variant,
    )


def _with_variants(results: list[TestResult]) -> list[TestResult]:
    """Repeats of a test (the same id and variant) told apart by their ordinal, as pts's
    report reader does when nothing else tells them apart."""
    occurrences: dict[tuple[str, str], list[int]] = {}
    for index, result in enumerate(results):
        occurrences.setdefault((result.test_id, result.variant), []).append(index)
    out = list(results)
    for (_, base), indexes in occurrences.items():
        if len(indexes) == 1:
            continue
        for ordinal, index in enumerate(indexes, 1):
            out[index] = replace(
                results[index], variant=f"{base} #{ordinal}" if base else f"#{ordinal}"
            )
    return out
