"""The test package's JSON reporter: `flutter test --machine`, `dart test --reporter json`.

The output is JSON lines: a `suite` event per test file (and platform), then per test a
`testStart` (its name, with its groups' names before it), `error`s and a `testDone` (result
`success`, `failure` or `error`; `skipped`). Each test's `testDone` is a result of its file, in
the order the tests ended; the file's platform tells the repeats apart (`dart test -p
vm,chrome`).

Hidden tests are not tests: the runner's virtual "loading FILE" test of each file, and its
`(setUpAll)` and `(tearDownAll)`, are hidden when they succeed. One that fails is shown, and
is the failure of the file outside its tests (a file that did not load or compile, a
`setUpAll` that threw). An error that arrives after its test's `testDone` (an async failure
after the test completed) fails that test after all.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pts.client.messages import first_lines
from pts.client.report_formats.json_text import json_lines, plain, sniff_lines
from pts.client.runners.base import ReportCase, relative_path
from pts.core.events import Outcome

FORM = "test package JSON reporter (flutter test --machine)"
_RESULTS = {"success": Outcome.PASSED, "failure": Outcome.FAILED, "error": Outcome.ERROR}


def sniff(head: str) -> bool:
    return sniff_lines(head, '"protocolVersion"') or sniff_lines(head, '"testStart"')


@dataclass
class _Test:
    name: str
    file: str
    platform: str
    started_ms: float
    line: int
    errors: list[str]
    visible: bool  # a test of the file, not the runner's loading or setUpAll/tearDownAll


def read(path: Path) -> list[ReportCase]:
    suites: dict[Any, tuple[str, str]] = {}  # id -> (file, platform)
    tests: dict[Any, _Test] = {}
    done: dict[Any, int] = {}  # test id -> its case's index
    hidden: set[Any] = set()  # the hidden tests that passed
    cases: list[ReportCase] = []
    for number, event in json_lines(path, FORM):
        kind = event.get("type")
        if kind == "suite":
            suite = event.get("suite") or {}
            suites[suite.get("id")] = (_file(suite.get("path")), suite.get("platform") or "")
        elif kind == "testStart":
            test = event.get("test") or {}
            file, platform = suites.get(test.get("suiteID"), (_file(test.get("url")), ""))
            tests[test.get("id")] = _Test(
                name=str(test.get("name") or ""),
                file=file,
                platform=platform,
                started_ms=float(event.get("time") or 0),
                line=number,
                errors=[],
                visible=bool(test.get("groupIDs")) and not _hook(str(test.get("name") or "")),
            )
        elif kind == "error" and event.get("testID") in tests:
            test_id = event["testID"]
            tests[test_id].errors.append(plain(str(event.get("error") or "")))
            if test_id in done:  # failed after it completed
                index = done[test_id]
                cases[index] = _failed_late(cases[index], tests[test_id], event)
            elif test_id in hidden:  # a hidden test that failed after it completed is shown
                hidden.discard(test_id)
                done[test_id] = len(cases)
                cases.append(_case(path, tests[test_id], Outcome.ERROR, 0.0))
        elif kind == "testDone" and event.get("testID") in tests:
            test = tests[event["testID"]]
            outcome = (
                Outcome.SKIPPED
                if event.get("skipped")
                else _RESULTS.get(str(event.get("result")), Outcome.ERROR)
            )
            if event.get("hidden") and outcome is Outcome.PASSED:
                hidden.add(event["testID"])
                continue
            elapsed_s = max(float(event.get("time") or 0) - test.started_ms, 0.0) / 1000
            done[event["testID"]] = len(cases)
            cases.append(_case(path, test, outcome, elapsed_s))
    return cases


def _case(path: Path, test: _Test, outcome: Outcome, elapsed_s: float) -> ReportCase:
    message = test.errors[0] if test.errors and outcome is not Outcome.PASSED else ""
    own = not test.visible  # the file's own failure: loading, setUpAll, tearDownAll
    return ReportCase(
        name="" if own else test.name,
        classname=test.file,
        file=test.file,
        suite=test.platform,
        report=path,
        outcome=Outcome.FAILED if own and outcome is not Outcome.SKIPPED else outcome,
        duration_s=elapsed_s,
        message=message,
        line=test.line,
        detail=first_lines("\n".join(test.errors)) if own else "",
    )


def _failed_late(case: ReportCase, test: _Test, event: dict[str, Any]) -> ReportCase:
    if case.outcome in (Outcome.FAILED, Outcome.ERROR):
        return case
    outcome = Outcome.FAILED if event.get("isFailure") else Outcome.ERROR
    return replace(case, outcome=outcome, message=test.errors[0])


def _hook(name: str) -> bool:
    return name in ("(setUpAll)", "(tearDownAll)")


def _file(path: Any) -> str:
    text = str(path or "").removeprefix("file://")
    return relative_path(text)
