"""Visual Studio TRX (`dotnet test --logger trx`, the dotnet default), root `<TestRun>`.

Each `<UnitTestResult>` is a result, joined by its `testId` to its `<UnitTest>`'s
`<TestMethod className=...>`, which names the class with its namespace. A data-driven test
(MSTest's `[DataRow]`) writes a summary result with its rows under `<InnerResults>`, or, in
older loggers, the summary and then the rows as siblings: the rows are the results, the summary
is not. A test run twice (a retry) is two results, told apart by their ordinal.
"""

from __future__ import annotations

import re
from pathlib import Path
from xml.etree.ElementTree import Element

from pts.client.messages import first_lines
from pts.client.runners.base import ReportCase
from pts.core.errors import ReportError
from pts.core.events import Outcome

NAMESPACE = "{http://microsoft.com/schemas/VisualStudio/TeamTest/2010}"
ROOT = NAMESPACE + "TestRun"
_DURATION = re.compile(r"^(?:(\d+)\.)?(\d+):(\d+):(\d+(?:\.\d+)?)$")  # [d.]hh:mm:ss.fffffff
# The outcomes of vstest's TrxLogger (ObjectModel/TestOutcome.cs).
_OUTCOMES = {
    "Passed": Outcome.PASSED,
    "PassedButRunAborted": Outcome.PASSED,
    "Completed": Outcome.PASSED,
    "Warning": Outcome.PASSED,
    "Failed": Outcome.FAILED,
    "Timeout": Outcome.FAILED,
    "Error": Outcome.ERROR,
    "Aborted": Outcome.ERROR,
    "Disconnected": Outcome.ERROR,
    "NotExecuted": Outcome.SKIPPED,
    "Inconclusive": Outcome.SKIPPED,
    "NotRunnable": Outcome.SKIPPED,
    "Blocked": Outcome.SKIPPED,
}
# An outcome beyond these is its own message (Timeout, Aborted) when the result gives none.
_SILENT = ("Passed", "Completed", "Failed", "NotExecuted")
_SUMMARY = "DataDrivenTest"  # a data-driven test's own result, beside its rows


def trx_cases(root: Element, lines: dict[Element, int], report: Path) -> list[ReportCase]:
    """The results of a TRX file, in file order, each of its test method's class."""
    methods = {
        unit.get("id"): unit.find(f"{NAMESPACE}TestMethod")
        for unit in root.iter(f"{NAMESPACE}UnitTest")
    }
    cases = []
    for results in root.iter(f"{NAMESPACE}Results"):
        for result in results.findall(f"{NAMESPACE}UnitTestResult"):
            cases.extend(_rows(result, methods, lines, report))
    return cases


Methods = dict[str | None, Element | None]


def _rows(
    result: Element, methods: Methods, lines: dict[Element, int], report: Path
) -> list[ReportCase]:
    inner = result.find(f"{NAMESPACE}InnerResults")
    if inner is not None:
        rows = inner.findall(f"{NAMESPACE}UnitTestResult")
        return [case for row in rows for case in _rows(row, methods, lines, report)]
    if result.get("resultType") == _SUMMARY:
        return []  # its rows follow as results of their own
    return [_case(result, methods, lines, report)]


def _case(result: Element, methods: Methods, lines: dict[Element, int], report: Path) -> ReportCase:
    line = lines.get(result)
    name = result.get("testName") or ""
    method = methods.get(result.get("testId"))
    if method is None:
        raise ReportError(
            str(report), line, f"UnitTestResult {name!r} names no UnitTest of this file"
        )
    # MSTest v1 wrote the assembly-qualified name: "Acme.CalcTests, Acme.Tests, Version=..."
    classname = (method.get("className") or "").split(",")[0].strip()
    outcome_text = result.get("outcome") or "Passed"
    message = result.findtext(f"{NAMESPACE}Output/{NAMESPACE}ErrorInfo/{NAMESPACE}Message") or ""
    trace = result.findtext(f"{NAMESPACE}Output/{NAMESPACE}ErrorInfo/{NAMESPACE}StackTrace") or ""
    return ReportCase(
        name=name,
        classname=classname,
        report=report,
        outcome=_OUTCOMES.get(outcome_text, Outcome.ERROR),
        duration_s=_duration(report, result.get("duration"), line),
        message=message.strip() or ("" if outcome_text in _SILENT else outcome_text),
        line=line,
        detail=first_lines(trace.strip()),
    )


def _duration(report: Path, text: str | None, line: int | None) -> float:
    if not text:
        return 0.0
    match = _DURATION.match(text.strip())
    if not match:
        raise ReportError(str(report), line, f"duration {text!r} is not [d.]hh:mm:ss")
    days, hours, minutes, seconds = match.groups()
    return ((int(days or 0) * 24 + int(hours)) * 60 + int(minutes)) * 60 + float(seconds)
