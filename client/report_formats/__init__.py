"""Runners' own report formats, beside JUnit XML: which reader reads a results file.

A reader turns a file into the `ReportCase`s it states, in file order; the runner profile
(`pts.client.runners`) then names each, exactly as for a JUnit report, so one runner's results
get the same ids whichever format recorded them. An XML format is told by its root element
(`XML_READERS`); any other by the first characters of the file (`TextReader.sniff`), whatever
`--runner` says, as long as the form is unambiguous. JUnit XML is read by
`pts.client.junit_reports` itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from xml.etree.ElementTree import Element

from pts.client.report_formats import cucumber, flutter, playwright_json, reportlog
from pts.client.report_formats.android_cts import cts_cases
from pts.client.report_formats.bazel_bep import bep_cases, is_bep_json
from pts.client.report_formats.ctest import ctest_cases
from pts.client.report_formats.gtest import gtest_json_cases, is_gtest_json
from pts.client.report_formats.nunit import nunit_cases
from pts.client.report_formats.robot import is_robot_json, robot_cases, robot_json_cases
from pts.client.report_formats.trx import ROOT as TRX_ROOT
from pts.client.report_formats.trx import trx_cases
from pts.client.runners.base import ReportCase

HEAD_CHARS = 65536  # what a sniffer sees of a file: its start, decoded with errors replaced

XmlReader = Callable[[Element, dict[Element, int], Path], list[ReportCase]]

# Root element -> reader; `testsuites` and `testsuite` are JUnit's and are not listed here.
XML_READERS: dict[str, XmlReader] = {
    "test-run": nunit_cases,  # NUnit 3 (dotnet test -l:nunit, nunit3-console)
    "Site": ctest_cases,  # CTest's dashboard Testing/<tag>/Test.xml (ctest -T Test)
    "robot": robot_cases,  # Robot Framework's output.xml, RF 3 to 7
    "Result": cts_cases,  # Android CTS and the other Tradefed suites' test_result.xml
    TRX_ROOT: trx_cases,  # Visual Studio TRX (dotnet test --logger trx)
}


@dataclass(frozen=True, slots=True)
class TextReader:
    """A format that is no XML document (JSON, JSON lines): `sniff` tells it from the start of
    a file, `read` reads the whole file (a `ReportError` naming the file and line when it
    cannot)."""

    name: str
    sniff: Callable[[str], bool]
    read: Callable[[Path], list[ReportCase]]


TEXT_READERS: list[TextReader] = [
    TextReader("Google Test JSON", is_gtest_json, gtest_json_cases),  # --gtest_output=json
    TextReader("Bazel's Build Event Protocol", is_bep_json, bep_cases),  # --build_event_json_file
    TextReader("Robot Framework output.json", is_robot_json, robot_json_cases),  # RF 7
    TextReader("Playwright JSON", playwright_json.sniff, playwright_json.read),
    TextReader("pytest-reportlog", reportlog.sniff, reportlog.read),
    TextReader("Cucumber JSON", cucumber.sniff, cucumber.read),
    TextReader("flutter test --machine", flutter.sniff, flutter.read),
]


def text_reader_for(path: Path) -> TextReader | None:
    """The reader of a file that is no XML document, if one knows its form; None for XML (and
    for a file no reader claims, which is then read as XML and refused with its reason)."""
    try:
        with path.open("rb") as file:
            head = file.read(HEAD_CHARS).decode("utf-8", errors="replace")
    except OSError:
        return None  # the XML reading names the problem
    if head.lstrip("\ufeff \t\r\n").startswith("<"):
        return None
    return next((reader for reader in TEXT_READERS if reader.sniff(head)), None)
