"""Google Test's JSON report (`--gtest_output=json:FILE`).

Each test of each `testsuites[].testsuite[]` is a result with the classname and name Google
Test's XML report gives it (`CalcTest`, `Add`; `Small/EvenTest`, `IsEven/0`), so a profile
names it the same from either file. A test with `failures` failed, its message the first
failure; `"result": "SKIPPED"` (GTEST_SKIP) and `"status": "NOTRUN"` (a DISABLED_ test) are
skipped. Its `time` is `"0.012s"`.

The XML report (`--gtest_output=xml`) is JUnit XML and is read as such.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pts.client.messages import MAX_MESSAGE, first_lines, truncated
from pts.client.report_formats.json_text import read_json
from pts.client.runners.base import ReportCase
from pts.core.errors import ReportError
from pts.core.events import Outcome

# How the file starts: the totals of a Google Test run, in the order gtest writes them.
_HEAD = re.compile(r'^\ufeff?\s*\{\s*"tests"\s*:\s*\d+\s*,\s*"failures"\s*:\s*\d+\s*,\s*"disabled"')
_TIME = re.compile(r"^(\d+(?:\.\d+)?)s$")


def is_gtest_json(head: str) -> bool:
    """Whether a file's first characters are a Google Test JSON report's."""
    return _HEAD.match(head) is not None


def gtest_json_cases(path: Path) -> list[ReportCase]:
    """The tests of a Google Test JSON report, in file order."""
    report = read_json(path, "well-formed Google Test JSON report")
    suites = report.get("testsuites") if isinstance(report, dict) else None
    if not isinstance(suites, list):
        raise ReportError(str(path), None, 'a Google Test JSON report without "testsuites"')
    return [
        _case(test, suite.get("name", ""), path)
        for suite in suites
        for test in _tests_of(suite, path)
    ]


def _tests_of(suite: Any, path: Path) -> list[dict[str, Any]]:
    tests = suite.get("testsuite") if isinstance(suite, dict) else None
    if not isinstance(tests, list) or not all(isinstance(t, dict) for t in tests):
        raise ReportError(str(path), None, 'a test suite whose "testsuite" is no list of tests')
    return tests


def _case(test: dict[str, Any], suite: str, path: Path) -> ReportCase:
    name, classname = test.get("name"), test.get("classname") or suite
    failures = test.get("failures") or []
    texts = [f.get("failure", "") for f in failures if isinstance(f, dict)]
    # a nameless entry with failures is the suite's own (SetUpTestSuite, TearDownTestSuite)
    if not isinstance(name, str) or not (name or texts) or not isinstance(classname, str):
        raise ReportError(str(path), None, f"a test of suite {suite!r} has no name")
    if texts:
        outcome = Outcome.FAILED
    elif test.get("result") == "SKIPPED" or test.get("status") == "NOTRUN":
        outcome = Outcome.SKIPPED
    else:
        outcome = Outcome.PASSED
    message = texts[0] if texts else ""
    return ReportCase(
        name=name,
        classname=classname,
        file=str(test.get("file") or ""),
        suite=suite,
        report=path,
        outcome=outcome,
        duration_s=_seconds(test.get("time"), name, path),
        message=truncated(str(message).strip(), MAX_MESSAGE),
        detail=first_lines("\n".join(str(t) for t in texts)),
    )


def _seconds(time: Any, name: str, path: Path) -> float:
    if time is None:
        return 0.0
    found = _TIME.match(str(time))
    if found is None:
        raise ReportError(str(path), None, f"test {name!r} has time {time!r}: not like '0.012s'")
    return float(found.group(1))
