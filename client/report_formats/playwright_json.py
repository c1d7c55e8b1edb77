"""Playwright's JSON reporter (`playwright test --reporter=json`).

The report nests suites (a spec file, then its `describe` blocks) around specs; each spec has
one test per project, and each test one result per attempt (its retries). Every attempt is a
result: the case is the spec's title path (`division › exact`, as Playwright's JUnit reporter
names it), in the spec file (relative to the test directory, as Playwright names it in its
listing and its JUnit report); the project and the retry tell the repeats apart
(`alpha`, `alpha retry #1`), as the suite of the case.

An attempt passes when its status is the one the test expects (a `test.fail()` that fails
passes); `skipped` is skipped; `interrupted` (the run stopped before the test ended) is
skipped too, as nothing is known of the test; any other status fails. An error outside the
tests (a spec file that did not load, which stops the whole run) is in the report's top-level
`errors`, with its location: the failure of that spec file. An error with no location (a
global setup that threw) names no file, and no unit to run: it is left out.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pts.client.messages import first_lines
from pts.client.report_formats.json_text import plain, read_json
from pts.client.runners.base import ReportCase, relative_path
from pts.core.errors import ReportError
from pts.core.events import Outcome

FORM = "Playwright JSON report"
_TITLE_JOIN = " › "


def sniff(head: str) -> bool:
    start = head.lstrip("\ufeff \t\r\n")
    # The config comes first, and may be long: its rootDir is near its start.
    return start.startswith("{") and all(key in head for key in ('"config"', '"rootDir"'))


def read(path: Path) -> list[ReportCase]:
    report = read_json(path, FORM)
    if not isinstance(report, dict) or not isinstance(report.get("suites"), list):
        raise ReportError(str(path), None, f"not a {FORM}: no suites")
    root = Path(str((report.get("config") or {}).get("rootDir") or "."))
    cases = [_load_failure(path, error, root) for error in report.get("errors") or []]
    kept = [case for case in cases if case is not None]
    for suite in report["suites"]:
        kept += _suite_cases(path, suite, [])
    return kept


def _suite_cases(path: Path, suite: dict[str, Any], titles: list[str]) -> list[ReportCase]:
    cases = []
    for spec in suite.get("specs") or []:
        title = _TITLE_JOIN.join([*titles, spec.get("title", "")])
        for test in spec.get("tests") or []:
            cases += [_attempt(path, spec, test, title, result) for result in test["results"]]
    for child in suite.get("suites") or []:
        cases += _suite_cases(path, child, [*titles, child.get("title", "")])
    return cases


def _attempt(
    path: Path, spec: dict[str, Any], test: dict[str, Any], title: str, result: dict[str, Any]
) -> ReportCase:
    status, expected = result.get("status"), test.get("expectedStatus", "passed")
    if status in ("skipped", "interrupted"):
        outcome = Outcome.SKIPPED
    else:
        outcome = Outcome.PASSED if status == expected else Outcome.FAILED
    project, retry = test.get("projectName") or "", result.get("retry") or 0
    errors = [result["error"]] if result.get("error") else result.get("errors") or []
    message = plain(errors[0].get("message", "")) if errors and outcome is Outcome.FAILED else ""
    return ReportCase(
        name=title,
        classname=spec.get("file", ""),
        file=spec.get("file", ""),
        suite=f"{project} retry #{retry}".strip() if retry else project,
        report=path,
        outcome=outcome,
        duration_s=max(float(result.get("duration") or 0), 0.0) / 1000,
        message=message or (status if status == "interrupted" else ""),
    )


def _load_failure(path: Path, error: dict[str, Any], root: Path) -> ReportCase | None:
    file = (error.get("location") or {}).get("file")
    if not file:
        return None
    spec = relative_path(file, root)
    message = plain(error.get("message", ""))
    return ReportCase(
        name="",
        classname=spec,
        file=spec,
        report=path,
        outcome=Outcome.FAILED,
        message=message,
        detail=first_lines(message),
    )
