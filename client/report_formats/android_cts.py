"""Android CTS and the other Tradefed compatibility suites (VTS, GTS, ...): `test_result.xml`,
root `<Result>`, each `<Module name abi>` holding `<TestCase name=class>` holding
`<Test result name>` (a failure's `<Failure message>` and `<StackTrace>` inside).

A case is named `module class` in `classname` (what `--include-filter` takes) and its ABI in
`suite`, so that one test run for two ABIs is two results told apart by their ABI. A module
that did not finish (`done="false"` with a `<Reason>`) failed outside its cases: a result of
the module with no name. The report gives no test's duration, only each module's.
"""

from __future__ import annotations

from pathlib import Path
from xml.etree.ElementTree import Element

from pts.client.messages import first_lines
from pts.client.runners.base import ReportCase
from pts.core.errors import ReportError
from pts.core.events import Outcome

ROOT = "Result"
_OUTCOMES = {
    "pass": Outcome.PASSED,
    "fail": Outcome.FAILED,
    "ignored": Outcome.SKIPPED,
    "assumption_failure": Outcome.SKIPPED,
    "skipped": Outcome.SKIPPED,
    "not_executed": Outcome.SKIPPED,
}


def cts_cases(root: Element, lines: dict[Element, int], report: Path) -> list[ReportCase]:
    """The `<Test>`s of a compatibility suite's result, in file order."""
    modules = root.findall("Module")
    if not modules and root.find("Summary") is None:
        raise ReportError(
            str(report), lines.get(root), "not a JUnit report nor a Tradefed test_result.xml: "
            "root element is <Result> without <Module>s"
        )  # fmt: skip
    cases = []
    for module in modules:
        name, abi = module.get("name") or "", module.get("abi") or ""
        if not name:
            raise ReportError(str(report), lines.get(module), "<Module> has no name attribute")
        for testcase in module.findall("TestCase"):
            unit = f"{name} {testcase.get('name') or ''}"
            for test in testcase.findall("Test"):
                cases.append(_case(test, unit, name, abi, lines, report))
        reason = module.find("Reason")
        if module.get("done") == "false" and reason is not None:
            message = (reason.get("message") or "").strip()
            cases.append(
                ReportCase(
                    name="",
                    classname=name,
                    file=name,
                    suite=abi,
                    report=report,
                    outcome=Outcome.ERROR,
                    message=message,
                    line=lines.get(reason),
                    detail=first_lines(message),
                )
            )
    return cases


def _case(
    test: Element, unit: str, module: str, abi: str, lines: dict[Element, int], report: Path
) -> ReportCase:
    line = lines.get(test)
    name, result = test.get("name") or "", (test.get("result") or "").lower()
    if not name:
        raise ReportError(str(report), line, "<Test> has no name attribute")
    if result not in _OUTCOMES:
        raise ReportError(str(report), line, f"<Test> result {test.get('result')!r} is unknown")
    failure = test.find("Failure")
    message = (failure.get("message") or "").strip() if failure is not None else ""
    trace = (failure.findtext("StackTrace") or "").strip() if failure is not None else ""
    return ReportCase(
        name=name,
        classname=unit,
        file=module,
        suite=abi,
        report=report,
        outcome=_OUTCOMES[result],
        message=message,
        line=line,
        detail=first_lines(trace),
    )
