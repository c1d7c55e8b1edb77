"""JUnit XML test reports (pytest, Surefire, Gradle, go-junit-report, jest-junit) as `TestResult`s.

Parsing goes through defusedxml, so entity expansion and external references are refused.
Every problem is a `ReportError` naming the file and, where known, the line.

Each occurrence of a test is a result. A test that appears more than once in one report (a
Playwright test once per browser project, an XCTest once per launch configuration, a rerun of
Gradle's retry plugin or pytest-rerunfailures) gives one result per occurrence, told apart by
its `variant`: the enclosing suite's `hostname` (Playwright writes the project there) or the
suite's name, whichever differs between the occurrences, and else the occurrence's ordinal
(`#1`, `#2`, ...). Surefire's `<flakyFailure>`, `<flakyError>`, `<rerunFailure>` and
`<rerunError>` children stay within their one result: the final `<failure>`/`<error>`, if
any, decides its outcome.

A failed `<testcase>` that is no test case, but the unit's own failure (pytest's "collection
failure" of a module, Surefire's nameless case of a class whose @BeforeAll threw, jest-junit's
"Test suite failed to run"), is a result of the unit as the runner names it (see
`runners.base`), its message the first lines of the error; a unit that failed so twice in one
report (jest-junit writes the error and the exception apart) is one result.

Messages are cut as `messages` says.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal
from xml.etree.ElementTree import Element, ParseError, TreeBuilder

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser

from pts.client.messages import MAX_MESSAGE, first_lines, truncated
from pts.client.report_formats import XML_READERS, text_reader_for
from pts.client.runners import Identity, ReportCase, Runner
from pts.client.runners import runner as named_runner
from pts.client.runners.go import GoTest, read_go_test_json
from pts.core.errors import ReportError
from pts.core.events import Outcome, TestResult

MAX_DURATION_S = 1_000_000  # 11.6 days: a larger time is a broken clock, and would swamp a budget
SLICE_MAX_RESULTS = 5000
SLICE_MAX_BYTES = 2 * 1024 * 1024  # well inside the test-results topic's 8 MiB messages
_OUTCOMES = (("failure", Outcome.FAILED), ("error", Outcome.ERROR), ("skipped", Outcome.SKIPPED))
_CHUNK = 1 << 20
PLAIN = named_runner(None)


def parse_report(
    path: Path, level: Literal["case", "suite"] = "case", runner: Runner = PLAIN
) -> list[TestResult]:
    """The results in a report, one per test case (or per suite), in report order, named as
    `runner` names them. A JUnit XML report, (for Go) the output of `go test -json`, or a
    runner's own format that `pts.client.report_formats` reads."""
    if isinstance(runner, GoTest) and path.suffix == ".json":
        return _results(read_go_test_json(path), runner, level)
    text_reader = text_reader_for(path)
    if text_reader is not None:
        return _results(text_reader.read(path), runner, level)
    root, lines = _read(path)
    xml_reader = XML_READERS.get(root.tag)
    if xml_reader is not None:
        return _results(xml_reader(root, lines, path), runner, level)
    if root.tag not in ("testsuites", "testsuite"):
        tag = root.tag.rpartition("}")[2]
        raise ReportError(str(path), lines[root], f"not a JUnit report: root element is <{tag}>")
    return _results(_cases(path, root, _Suite("", "", "", ""), lines), runner, level)


def _results(
    cases: list[tuple[ReportCase, _Suite]] | list[ReportCase], runner: Runner, level: str
) -> list[TestResult]:
    pairs = [c if isinstance(c, tuple) else (c, _Suite(c.suite, "", c.suite, "")) for c in cases]
    named = _once_per_unit([(_named(case, runner), suite) for case, suite in pairs])
    results = _with_variants(named)
    return results if level == "case" else _by_suite(results)


def _named(case: ReportCase, runner: Runner) -> TestResult:
    if not (case.classname or case.suite or case.file):
        raise ReportError(
            str(case.report), case.line, f"testcase {case.name!r} has no classname, suite or file"
        )
    identity = runner.identify(case)
    if not identity.test_id:  # a runner whose ids are the case names (CTest)
        raise ReportError(str(case.report), case.line, "<testcase> has no name attribute")
    return TestResult(
        test_id=identity.test_id,
        suite=identity.suite,
        name=identity.name,
        outcome=case.outcome,
        duration_s=case.duration_s,
        message=_result_message(case, identity),
        variant=identity.variant,
    )


def _result_message(case: ReportCase, identity: Identity) -> str:
    """A case's message; for a unit's own failure, the first lines of its body, which say what
    broke (the message attribute is often a bare label: "collection failure", "Build error")."""
    if identity.whole_unit and case.outcome in (Outcome.FAILED, Outcome.ERROR):
        return case.detail or first_lines(case.message)
    return truncated(case.message, MAX_MESSAGE)


def _once_per_unit(named: list[tuple[TestResult, _Suite]]) -> list[tuple[TestResult, _Suite]]:
    """The results, with a unit's own failure kept once (the first) where a report states it
    more than once."""
    seen: set[tuple[str, str]] = set()
    kept = []
    for result, suite in named:
        if not result.name and result.failed:
            if (result.test_id, result.variant) in seen:
                continue
            seen.add((result.test_id, result.variant))
        kept.append((result, suite))
    return kept


def report_digest(path: Path) -> str:
    """The first 16 hex digits of the SHA-256 of the report's bytes: its identity, with its
    path, so that two reports never collide and the same report recorded again is known."""
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()[:16]


def slice_results(
    results: list[TestResult],
    max_per_slice: int = SLICE_MAX_RESULTS,
    max_bytes: int = SLICE_MAX_BYTES,
) -> list[list[TestResult]]:
    """`results` cut into consecutive slices of at most `max_per_slice` results and about
    `max_bytes` encoded; always at least one.

    >>> r = TestResult("s::t", "s", "t", Outcome.FAILED, message="x" * 600)
    >>> [len(s) for s in slice_results([r] * 5, max_bytes=1500)]
    [2, 2, 1]
    """
    if max_per_slice < 1 or max_bytes < 1:
        raise ValueError(f"slices must hold something: {max_per_slice} results, {max_bytes} B")
    slices: list[list[TestResult]] = [[]]
    size = 0
    for result in results:
        cost = _encoded_size(result)
        if slices[-1] and (len(slices[-1]) >= max_per_slice or size + cost > max_bytes):
            slices.append([])
            size = 0
        slices[-1].append(result)
        size += cost
    return slices


def _encoded_size(result: TestResult) -> int:
    """An upper bound of the result's Avro size (UTF-8 strings, lengths, outcome, double)."""
    text = result.test_id + result.suite + result.name + result.message + result.variant
    return len(text.encode()) + 32


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


@dataclass(frozen=True, slots=True)
class _Suite:
    """The enclosing testsuite of a case: what may tell its repeats apart."""

    name: str
    hostname: str
    path: str  # the nesting of suite names, outermost first
    file: str  # the nearest enclosing suite's file attribute (Cypress names the spec there)


def _cases(
    path: Path, element: Element, suite: _Suite, lines: dict[Element, int]
) -> list[tuple[ReportCase, _Suite]]:
    if element.tag == "testsuite":
        name = element.get("name") or suite.name
        suite = _Suite(
            name,
            element.get("hostname") or "",
            f"{suite.path}/{name}",
            element.get("file") or element.get("filepath") or suite.file,
        )
    results = []
    spec = suite.file
    for child in element:
        if child.tag == "testcase":
            results.append((_case(path, child, suite, lines[child]), suite))
        elif child.tag == "testsuite":
            # mocha-junit-reporter (Cypress) names the spec only on a "Root Suite" that comes
            # before the spec's suites, as their sibling.
            spec = child.get("file") or spec
            results.extend(_cases(path, child, replace(suite, file=spec), lines))
    return results


def _with_variants(cases: list[tuple[TestResult, _Suite]]) -> list[TestResult]:
    """Every occurrence, in report order; the repeats of a test (the same id and variant) get
    distinct variants."""
    occurrences: dict[tuple[str, str], list[int]] = {}
    for index, (result, _) in enumerate(cases):
        occurrences.setdefault((result.test_id, result.variant), []).append(index)
    variants = [result.variant for result, _ in cases]
    for (_, base), indexes in occurrences.items():
        if len(indexes) == 1:
            continue
        suites = [cases[i][1] for i in indexes]
        labels = next(
            (
                values
                for values in ([s.hostname for s in suites], [s.path.lstrip("/") for s in suites])
                if all(values) and len(set(values)) > 1
            ),
            [""] * len(indexes),
        )
        seen: dict[str, int] = {}
        for i, label in zip(indexes, labels, strict=True):
            seen[label] = seen.get(label, 0) + 1
            if not label:
                repeat = f"#{seen[label]}"
            else:
                repeat = label if seen[label] == 1 else f"{label}#{seen[label]}"
            variants[i] = f"{base} {repeat}" if base else repeat
    return [
        replace(result, variant=v) if v != result.variant else result
        for (result, _), v in zip(cases, variants, strict=True)
    ]


def _case(path: Path, case: Element, suite: _Suite, line: int) -> ReportCase:
    for attribute in ("name", "classname"):
        if any(c in (case.get(attribute) or "") for c in "\r\n"):
            raise ReportError(
                str(path), line, f"testcase {attribute} {case.get(attribute)!r} holds a line break"
            )
    outcome, message, detail = Outcome.PASSED, "", ""
    for tag, candidate in _OUTCOMES:
        found = case.find(tag)
        if found is not None:
            outcome, message, detail = candidate, _message(found), (found.text or "").strip()
            break
    else:
        # Google Test writes a DISABLED_ test status="notrun", ctest --output-junit a disabled
        # test status="disabled", neither with a <skipped> child.
        if case.get("status") in ("notrun", "disabled"):
            outcome = Outcome.SKIPPED
    name = case.get("name") or ""
    # Surefire names no case when the class failed before its cases (@BeforeAll): the class's
    # failure. A passing case without a name is a broken report.
    if not name and outcome not in (Outcome.FAILED, Outcome.ERROR):
        raise ReportError(str(path), line, "<testcase> has no name attribute")
    return ReportCase(
        name=name,
        classname=case.get("classname") or "",
        file=case.get("file") or suite.file,
        suite=suite.name,
        report=path,
        outcome=outcome,
        duration_s=_duration(path, case.get("time"), line),
        message=message,
        line=line,
        detail=first_lines(detail),
    )


def _message(element: Element) -> str:
    text = (element.get("message") or "").strip() or (element.text or "").strip()
    return truncated(text, MAX_MESSAGE)


def _duration(path: Path, time: str | None, line: int) -> float:
    if time is None or not time.strip():
        return 0.0
    try:
        seconds = float(time.replace(",", ""))
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or seconds < 0:
        raise ReportError(str(path), line, f"time {time!r} is not a duration in seconds")
    if seconds > MAX_DURATION_S:
        raise ReportError(
            str(path), line, f"time {time!r} is beyond {MAX_DURATION_S:,} s: not a test's duration"
        )
    return seconds


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
