"""Bazel's Build Event Protocol as JSON lines (`bazel test --build_event_json_file=FILE`).

Each `testResult` event is a result of its target (`//pkg:target`, the Bazel profile's id):
one per run, shard and attempt of the target, told apart by the parts that vary (`shard 2`,
`attempt 1`, counted as `bazel-testlogs` counts them), so a flaky test retried by
`--flaky_test_attempts` keeps its failed attempt and its passing one. The outcome is the
attempt's `status` (PASSED; FAILED and TIMEOUT failed; the others, such as INCOMPLETE or
REMOTE_FAILURE, errors), or its `success` in streams of Bazel before `status` existed; the
duration is `testAttemptDuration` (`"1.250s"`) or the older `testAttemptDurationMillis`. A
target that never ran because it did not build (a `testSummary` or `targetSummary` saying
FAILED_TO_BUILD, and no `testResult`) is the target's own failure. An attempt the build
never finished (its event `aborted`, as when the build is interrupted) is no result; other
events (progress, configuration, metrics) are left alone.

The events are protobuf's JSON mapping of `build_event_stream.proto`: camelCase names,
64-bit numbers as strings, enums by name, fields at their default left out.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from pts.client.messages import MAX_MESSAGE, truncated
from pts.client.runners.base import ReportCase
from pts.core.errors import ReportError
from pts.core.events import Outcome

# Every line is one event, `{"id":{"<kind>":{...}}, ...}`; Bazel writes the id first.
_HEAD = re.compile(r'^\ufeff?\s*\{\s*"id"\s*:\s*\{\s*"[a-zA-Z]+"\s*:')
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)s$")
_FAILED = {"FAILED", "TIMEOUT"}
_NOT_BUILT = {"FAILED_TO_BUILD"}


def is_bep_json(head: str) -> bool:
    """Whether a file's first characters are a BEP JSON stream's."""
    return _HEAD.match(head) is not None


def bep_cases(path: Path) -> list[ReportCase]:
    """The test attempts of a BEP JSON stream, in stream order, then the targets that did not
    build."""
    attempts: list[tuple[dict[str, Any], dict[str, Any], int]] = []
    not_built: dict[str, tuple[str, int]] = {}
    for number, event in _events(path):
        ids = event.get("id")
        if not isinstance(ids, dict):
            raise ReportError(str(path), number, 'a build event without an "id" object')
        if "testResult" in ids and "aborted" not in event:  # an aborted attempt never ended
            attempts.append((_object(ids["testResult"], path, number), event, number))
        for kind, field in (
            ("testSummary", "overallStatus"),
            ("targetSummary", "overallTestStatus"),
        ):
            if kind in ids and isinstance(event.get(kind), dict):
                status = event[kind].get(field, "")
                label = _object(ids[kind], path, number).get("label", "")
                if status in _NOT_BUILT and label:
                    not_built.setdefault(label, (status, number))
    varying = _varying_parts(attempts)
    cases = [_attempt(id_, event, number, varying, path) for id_, event, number in attempts]
    ran = {case.classname for case in cases}
    for label, (status, number) in not_built.items():
        if label not in ran:
            cases.append(
                ReportCase(
                    name="",
                    classname=label,
                    suite=label,
                    report=path,
                    outcome=Outcome.ERROR,
                    message=f"{label}: {status}",
                    line=number,
                    detail=f"{label} did not build ({status}): its tests did not run",
                )
            )
    return cases


def _events(path: Path) -> list[tuple[int, dict[str, Any]]]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ReportError(str(path), None, f"cannot read the report: {e.strerror or e}") from e
    except UnicodeDecodeError as e:
        raise ReportError(str(path), None, f"not UTF-8 text: {e.reason}") from e
    events = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            event = json.loads(line)
        except json.JSONDecodeError as e:
            raise ReportError(str(path), number, f"not a JSON build event: {e.msg}") from e
        events.append((number, _object(event, path, number)))
    return events


def _object(value: Any, path: Path, number: int) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ReportError(str(path), number, f"a build event field is {value!r}, not an object")
    return value


def _varying_parts(attempts: list[tuple[dict[str, Any], dict[str, Any], int]]) -> dict[str, list]:
    """Per label, which of run, shard and attempt take more than one value."""
    values: dict[str, dict[str, set[int]]] = {}
    for id_, _, _ in attempts:
        parts = values.setdefault(
            id_.get("label", ""), {"run": set(), "shard": set(), "attempt": set()}
        )
        for part, seen in parts.items():
            seen.add(int(id_.get(part, 0)))
    return {
        label: [p for p, seen in parts.items() if len(seen) > 1] for label, parts in values.items()
    }


def _attempt(
    id_: dict[str, Any], event: dict[str, Any], number: int, varying: dict[str, list], path: Path
) -> ReportCase:
    label = id_.get("label")
    if not isinstance(label, str) or not label.startswith(("//", "@")):
        raise ReportError(str(path), number, f"a testResult whose label {label!r} is no target")
    result = _object(event.get("testResult", {}), path, number)
    status = result.get("status") or ("PASSED" if result.get("success") else "FAILED")
    if status == "PASSED":
        outcome = Outcome.PASSED
    elif status in _FAILED:
        outcome = Outcome.FAILED
    else:
        outcome = Outcome.ERROR
    details = str(result.get("statusDetails") or "")
    message = "" if outcome is Outcome.PASSED else f"{status}: {details}" if details else status
    # The suite tells the attempts of one target apart (they become its variants).
    # run and shard count from 0 (and 0 is left out), attempts from 1: named as bazel-testlogs
    # names them (shard_1_of_2, run_1_of_3, attempt_1)
    which = ", ".join(
        f"{part} {int(id_.get(part, 0)) + (part != 'attempt')}" for part in varying.get(label, [])
    )
    return ReportCase(
        name=label.rpartition(":")[2] or label,
        classname=label,
        suite=which or label,
        report=path,
        outcome=outcome,
        duration_s=_seconds(result, path, number),
        message=truncated(message, MAX_MESSAGE),
        line=number,
    )


def _seconds(result: dict[str, Any], path: Path, number: int) -> float:
    duration = result.get("testAttemptDuration")
    if duration is not None:
        found = _DURATION.match(str(duration))
        if found is None:
            raise ReportError(str(path), number, f"testAttemptDuration {duration!r} is no duration")
        return float(found.group(1))
    millis = result.get("testAttemptDurationMillis")
    try:
        return int(millis) / 1000 if millis is not None else 0.0
    except (TypeError, ValueError) as e:
        raise ReportError(
            str(path), number, f"testAttemptDurationMillis {millis!r} is no duration"
        ) from e
