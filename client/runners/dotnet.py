"""dotnet test: NUnit 3 XML, TRX and the JUnit logger; the unit is the class, with its namespace.

The readers of NUnit 3 XML and TRX are in `pts.client.report_formats`; JunitXml.TestLogger's
`classname` is the full class already.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from pts.client.report_formats.nunit import fixture_classes
from pts.client.runners.base import (
    Candidates,
    Identity,
    ReportCase,
    Runner,
    _lines,
    _unique,
    xml_listing,
)

LIST_TESTS_HEADER = "The following Tests are available:"  # `dotnet test --list-tests`
_NAME = re.compile(r"^[A-Za-z_][\w`]*(\.[A-Za-z_][\w`+<>,]*)*$")  # Ns.Class (generic: Class`1)


class Dotnet(Runner):
    """Ids are the test class's full name (`Acme.Tests.CalcTests`); each test is a result,
    its variant the test's name within the class (`Add(1,2,3)`), the same whichever format
    recorded it. The subset is one `--filter` expression.

    Candidates: NUnit's `--explore=tests.xml`, `dotnet test --list-tests` (the names that
    carry their class), or class names one per line.

    >>> Dotnet().identify(ReportCase("Acme.CalcTests.Add(1,2)", "Acme.CalcTests")).variant
    'Add(1,2)'
    >>> Dotnet().format(["Acme.CalcTests", "Acme.StrTests"])
    '--filter FullyQualifiedName~Acme.CalcTests.|FullyQualifiedName~Acme.StrTests.'
    """

    name = "dotnet"
    lists_with = (
        "nunit3-console --explore=tests.xml, dotnet test --list-tests (full names), "
        "or one test class per line"
    )
    example = "Acme.Tests.CalcTests"
    takes_with = "--filter FullyQualifiedName~Class.|..."
    listing_documents = ("xml",)
    report_suffixes = (".xml", ".trx")

    def identify(self, case: ReportCase) -> Identity:
        classname = case.classname or case.suite
        # xUnit names a test by its full name in TRX and the JUnit logger: the variant is the
        # name within the class, as NUnit writes it.
        name = case.name.removeprefix(classname + ".") if classname else case.name
        if not name:
            return Identity(classname, classname, "")
        return Identity(classname, classname, name, name)

    def candidates(self, text: str) -> Candidates:
        if text.lstrip("\ufeff \t\r\n").startswith("<"):
            return Candidates(_explore_classes(text))
        if LIST_TESTS_HEADER in text:
            return _listed_tests(text)
        ids, unrecognized = [], []
        for line in _lines(text):
            (ids if _NAME.match(line) else unrecognized).append(line)
        return Candidates(_unique(ids), unrecognized)

    def format(self, tests: Sequence[str]) -> str:
        return "--filter " + "|".join(f"FullyQualifiedName~{test}." for test in tests)


def _explore_classes(text: str) -> list[str]:
    """The classes of an NUnit `--explore` (or results) XML document."""
    root = xml_listing(text, "dotnet", "test-run", "NUnit's `--explore=tests.xml` (<test-run>)")
    return fixture_classes(root)


def _listed_tests(output: str) -> Candidates:
    """`dotnet test --list-tests`: under each project's header, each test's display name
    (indented), which names its class where the adapter writes full names (xUnit's default,
    NUnit's with `DisplayName=FullName`); a bare method name (MSTest's, NUnit's default) names
    no class and is left out. The build's and vstest's own lines are no candidates."""
    ids, unrecognized = [], []
    listing = False
    for line in output.splitlines():
        if line.strip() == LIST_TESTS_HEADER:
            listing = True
        elif not line.startswith((" ", "\t")) or not line.strip():
            listing = False
        elif listing:
            name = line.strip()
            classname, dot, _ = name.split("(", 1)[0].rpartition(".")  # Ns.C.Add(1,2) -> Ns.C
            if dot and _NAME.match(classname):
                ids.append(classname)
            else:
                unrecognized.append(name)
    return Candidates(_unique(ids), unrecognized)
