"""NUnit 3 XML (`<test-run>`): the results of nunit3-console and of `dotnet test -l:nunit`
(NunitXml.TestLogger), and the listing nunit3-console's `--explore=tests.xml` writes.

A test case's class is its enclosing `TestFixture`'s full name (`rocket_car_dotnet.ExampleTest`):
NunitXml.TestLogger writes the case's own `classname` without its namespace (`ExampleTest`),
which would make `FullyQualifiedName~` over-select and two classes of one name share a history.
"""

from __future__ import annotations

from pathlib import Path
from xml.etree.ElementTree import Element

from pts.client.messages import first_lines
from pts.client.runners.base import ReportCase
from pts.core.errors import ReportError
from pts.core.events import Outcome

_OUTCOMES = {
    "Passed": Outcome.PASSED,
    "Failed": Outcome.FAILED,
    "Skipped": Outcome.SKIPPED,
    "Inconclusive": Outcome.SKIPPED,
    "Warning": Outcome.PASSED,
}
# Where a fixture's own failure happened: in its OneTimeSetUp or OneTimeTearDown, outside its cases.
_FIXTURE_SITES = ("SetUp", "TearDown")


def nunit_cases(root: Element, lines: dict[Element, int], report: Path) -> list[ReportCase]:
    """The `<test-case>`s of an NUnit 3 result file, in document order, each of the class
    of its fixture; a fixture that failed in its one-time set-up or tear-down is also a result
    of the class with no name. An `--explore` listing (cases, no results) is refused."""
    if is_explore_listing(root):
        count = sum(1 for _ in root.iter("test-case"))
        raise ReportError(
            str(report),
            lines.get(root),
            f"an NUnit --explore listing ({count} test cases, no results): give it to "
            "`pts subset --runner dotnet` as the candidates, not to `pts record tests`",
        )
    cases: list[ReportCase] = []
    _walk(root, "", lines, report, cases)
    return cases


def is_explore_listing(root: Element) -> bool:
    """Whether a `<test-run>` lists tests without running them: no case has a result."""
    return root.get("result") is None and all(
        case.get("result") is None for case in root.iter("test-case")
    )


def fixture_classes(root: Element) -> list[str]:
    """The class of each test case of a `<test-run>` (results or `--explore`), in document
    order, each once."""
    classes: list[str] = []
    _classes(root, "", classes)
    return list(dict.fromkeys(classes))


def _classes(element: Element, fixture: str, classes: list[str]) -> None:
    for child in element:
        if child.tag == "test-suite":
            _classes(child, _fixture_class(child) or fixture, classes)
        elif child.tag == "test-case":
            classes.append(_case_class(child, fixture))


def _fixture_class(suite: Element) -> str:
    if suite.get("type") != "TestFixture":
        return ""
    return suite.get("classname") or suite.get("fullname") or ""


def _case_class(case: Element, fixture: str) -> str:
    """The fixture's full name; else the case's classname; else its full name less its name."""
    if fixture:
        return fixture
    fullname, name = case.get("fullname") or "", case.get("name") or ""
    if fullname.endswith("." + name):
        return fullname[: -len(name) - 1]
    return case.get("classname") or ""


def _walk(
    element: Element, fixture: str, lines: dict[Element, int], report: Path, cases: list
) -> None:
    for child in element:
        if child.tag == "test-suite":
            inner = _fixture_class(child) or fixture
            if inner != fixture and _failed_outside_cases(child):
                cases.append(_fixture_failure(child, inner, lines, report))
            _walk(child, inner, lines, report, cases)
        elif child.tag == "test-case":
            cases.append(_case(child, _case_class(child, fixture), lines, report))


def _failed_outside_cases(suite: Element) -> bool:
    return suite.get("result") == "Failed" and suite.get("site") in _FIXTURE_SITES


def _outcome(element: Element) -> Outcome:
    result = element.get("result", "Passed")
    if result == "Failed" and element.get("label") in ("Error", "Cancelled"):
        return Outcome.ERROR
    return _OUTCOMES.get(result, Outcome.ERROR)


def _case(case: Element, classname: str, lines: dict[Element, int], report: Path) -> ReportCase:
    message = case.findtext("failure/message") or case.findtext("reason/message") or ""
    return ReportCase(
        name=case.get("name") or case.get("methodname") or "",
        classname=classname,
        report=report,
        outcome=_outcome(case),
        duration_s=float(case.get("duration") or 0.0),
        message=message.strip(),
        line=lines.get(case),
        detail=first_lines((case.findtext("failure/stack-trace") or "").strip()),
    )


def _fixture_failure(
    suite: Element, classname: str, lines: dict[Element, int], report: Path
) -> ReportCase:
    message = (suite.findtext("failure/message") or "").strip()
    return ReportCase(
        name="",
        classname=classname,
        report=report,
        outcome=_outcome(suite),
        message=message,
        line=lines.get(suite),
        detail=first_lines(message),
    )
