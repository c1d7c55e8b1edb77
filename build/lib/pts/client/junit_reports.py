"""JUnit XML test reports (pytest, Surefire, Gradle, go-junit-report, jest-junit) as `TestResult`s.

Parsing goes through defusedxml, so entity expansion and external references are refused.
Every problem is a `ReportError` naming the file and, where known, the line.

A test that appears more than once in one report (reruns, e.g. Gradle's retry plugin or
pytest-rerunfailures) is kept once: its outcome and message are those of its last occurrence
that ran (a skipped rerun does not hide a run), so a test that failed and then passed on
retry counts as passed, and its duration is the sum of all occurrences. Surefire's
`<flakyFailure>`, `<flakyError>`, `<rerunFailure>` and `<rerunError>` children do not change
the outcome: the final `<failure>`/`<error>`, if any, decides it.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Literal
from xml.etree.ElementTree import Element, ParseError, TreeBuilder

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser

from pts.core.errors import ReportError
from pts.core.events import Outcome, TestResult

MAX_MESSAGE = 1000
_OUTCOMES = (("failure", Outcome.FAILED), ("error", Outcome.ERROR), ("skipped", Outcome.SKIPPED))
_CHUNK = 1 << 20


def parse_report(path: Path, level: Literal["case", "suite"] = "case") -> list[TestResult]:
    """The results in a JUnit XML report, one per test case (or per suite), in report order."""
    root, lines = _read(path)
    if root.tag not in ("testsuites", "testsuite"):
        tag = root.tag.rpartition("}")[2]
        raise ReportError(str(path), lines[root], f"not a JUnit report: root element is <{tag}>")
    cases = _dedupe(_cases(path, root, "", lines))
    return cases if level == "case" else _by_suite(cases)


def slice_results(results: list[TestResult], max_per_slice: int = 5000) -> list[list[TestResult]]:
    """`results` cut into consecutive slices of at most `max_per_slice`; always at least one."""
    if max_per_slice < 1:
        raise ValueError(f"max_per_slice must be positive, got {max_per_slice}")
    return [results[i : i + max_per_slice] for i in range(0, len(results), max_per_slice)] or [[]]


def _read(path: Path) -> tuple[Element, dict[Element, int]]:
    lines: dict[Element, int] = {}

    def element(tag: str, attrs: dict[str, str]) -> Element:
        made = Element(tag, attrs)
        lines[made] = parser.parser.CurrentLineNumber
        return made

    parser = DefusedXMLParser(target=TreeBuilder(element_factory=element))
    try:
        with path.open("rb") as file:
            while chunk := file.read(_CHUNK):
                parser.feed(chunk)
            root = parser.close()
    except OSError as e:
        raise ReportError(str(path), None, f"cannot read the report: {e.strerror or e}") from e
    except ParseError as e:
        line = e.position[0]
        raise ReportError(str(path), line, f"not well-formed XML: {_expat_reason(e)}") from e
    except DefusedXmlException as e:
        line = parser.parser.CurrentLineNumber
        raise ReportError(str(path), line, f"refused XML construct: {type(e).__name__}") from e
    return root, lines


def _expat_reason(error: ParseError) -> str:
    return str(error).split(": line ")[0]


def _cases(path: Path, element: Element, suite: str, lines: dict[Element, int]) -> list[TestResult]:
    if element.tag == "testsuite":
        suite = element.get("name") or suite
    results = []
    for child in element:
        if child.tag == "testcase":
            results.append(_case(path, child, suite, lines[child]))
        elif child.tag == "testsuite":
            results.extend(_cases(path, child, suite, lines))
    return results


def _case(path: Path, case: Element, suite: str, line: int) -> TestResult:
    name = case.get("name")
    if not name:
        raise ReportError(str(path), line, "<testcase> has no name attribute")
    suite = case.get("classname") or suite or case.get("file") or ""
    if not suite:
        raise ReportError(str(path), line, f"testcase {name!r} has no classname, suite or file")
    outcome, message = Outcome.PASSED, ""
    for tag, candidate in _OUTCOMES:
        found = case.find(tag)
        if found is not None:
            outcome, message = candidate, _message(found)
            break
    return TestResult(
        test_id=f"{suite}::{name}",
        suite=suite,
        name=name,
        outcome=outcome,
        duration_s=_duration(path, case.get("time"), line),
        message=message,
    )


def _message(element: Element) -> str:
    text = (element.get("message") or "").strip() or (element.text or "").strip()
    return text[:MAX_MESSAGE]


def _duration(path: Path, time: str | None, line: int) -> float:
    if time is None or not time.strip():
        return 0.0
    try:
        seconds = float(time.replace(",", ""))
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or seconds < 0:
        raise ReportError(str(path), line, f"time {time!r} is not a duration in seconds")
    return seconds


def _dedupe(cases: list[TestResult]) -> list[TestResult]:
    kept: dict[str, TestResult] = {}
    for case in cases:
        earlier = kept.get(case.test_id)
        if earlier is None:
            kept[case.test_id] = case
            continue
        final = earlier if earlier.ran and not case.ran else case
        kept[case.test_id] = TestResult(
            test_id=case.test_id,
            suite=case.suite,
            name=case.name,
            outcome=final.outcome,
            duration_s=round(earlier.duration_s + case.duration_s, 6),
            message=final.message,
        )
    return list(kept.values())


def _by_suite(cases: list[TestResult]) -> list[TestResult]:
    suites: dict[str, list[TestResult]] = {}
    for case in cases:
        suites.setdefault(case.suite, []).append(case)
    return [_suite_result(suite, members) for suite, members in suites.items()]


def _suite_result(suite: str, cases: list[TestResult]) -> TestResult:
    outcomes = {case.outcome for case in cases}
    if Outcome.FAILED in outcomes:
        outcome = Outcome.FAILED
    elif Outcome.ERROR in outcomes:
        outcome = Outcome.ERROR
    elif outcomes == {Outcome.SKIPPED}:
        outcome = Outcome.SKIPPED
    else:
        outcome = Outcome.PASSED
    message = next((c.message for c in cases if c.failed and c.outcome is outcome), "")
    return TestResult(
        test_id=suite,
        suite=suite,
        name="",
        outcome=outcome,
        duration_s=round(sum(case.duration_s for case in cases), 6),
        message=message,
    )
