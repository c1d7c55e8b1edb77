"""dotnet test: NUnit 3 XML (`<test-run>`) and the JUnit loggers; the unit is the class."""

from __future__ import annotations

from collections.abc import Sequence
from xml.etree.ElementTree import Element

from pts.client.runners.base import Candidates, Identity, ReportCase, Runner, _lines, _unique
from pts.core.events import Outcome

_NUNIT_OUTCOMES = {
    "Passed": Outcome.PASSED,
    "Failed": Outcome.FAILED,
    "Skipped": Outcome.SKIPPED,
    "Inconclusive": Outcome.SKIPPED,
    "Warning": Outcome.PASSED,
}


class Dotnet(Runner):
    """Ids are the test class's full name (`Acme.Tests.CalcTests`); each test is a result,
    its variant the test's name. The subset is one `--filter` expression.

    >>> Dotnet().format(["Acme.CalcTests", "Acme.StrTests"])
    '--filter FullyQualifiedName~Acme.CalcTests.|FullyQualifiedName~Acme.StrTests.'
    """

    name = "dotnet"
    lists_with = "one test class per line"
    example = "Acme.Tests.CalcTests"
    takes_with = "--filter FullyQualifiedName~Class.|..."

    def identify(self, case: ReportCase) -> Identity:
        classname = case.classname or case.suite
        return Identity(classname, classname, case.name, case.name)

    def candidates(self, text: str) -> Candidates:
        ids, unrecognized = [], []
        for line in _lines(text):
            (unrecognized if " " in line else ids).append(line)
        return Candidates(_unique(ids), unrecognized)

    def format(self, tests: Sequence[str]) -> str:
        return "--filter " + "|".join(f"FullyQualifiedName~{test}." for test in tests)


def nunit_cases(root: Element, lines: dict[Element, int], report) -> list[ReportCase]:
    """The `<test-case>`s of an NUnit 3 result file, in document order."""
    cases = []
    for case in root.iter("test-case"):
        result = case.get("result", "Passed")
        outcome = _NUNIT_OUTCOMES.get(result, Outcome.ERROR)
        if result == "Failed" and case.get("label") == "Error":
            outcome = Outcome.ERROR
        message = case.findtext("failure/message") or case.findtext("reason/message") or ""
        cases.append(
            ReportCase(
                name=case.get("name") or case.get("methodname") or "",
                classname=case.get("classname") or "",
                report=report,
                outcome=outcome,
                duration_s=float(case.get("duration") or 0.0),
                message=message.strip(),
                line=lines.get(case),
            )
        )
    return cases
