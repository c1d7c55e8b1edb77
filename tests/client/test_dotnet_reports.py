"""dotnet's report formats (NUnit 3 XML of nunit3-console and NunitXml.TestLogger, TRX, the
JUnit logger) and listings (NUnit `--explore`, `dotnet test --list-tests`): every result is
read, ids keep the namespace and are the same whichever format recorded them, and a listing is
never taken for results."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from pts.client.junit_reports import parse_report
from pts.client.runners import runner
from pts.core.errors import ConfigError, ReportError
from pts.core.events import Outcome
from tests.conftest import run_pts

DOTNET = Path(__file__).resolve().parent.parent / "fixtures" / "runners" / "dotnet"
REPORTS = [
    "nunit3.xml",
    "nunit-logger.xml",
    "nunit3-console.xml",
    "junit-logger.xml",
    "junit-logger-docs.xml",
    "xunit.trx",
    "nunit-adapter.trx",
    "mstest-datarows.trx",
]


def results_in(path: Path) -> int:
    """How many results the file states, counted from its text: NUnit's test cases with a
    result, JUnit's test cases, TRX's results less the summaries of data-driven tests."""
    text = path.read_text()
    if path.suffix == ".trx":
        return len(re.findall(r"<UnitTestResult\b", text)) - text.count(
            'resultType="DataDrivenTest"'
        )
    return len(re.findall(r"<test-case\b[^>]*\bresult=", text)) + len(
        re.findall(r"<testcase\b", text)
    )


DN = runner("dotnet")


def key(report: str) -> list[tuple[str, str, Outcome]]:
    return [(r.test_id, r.variant, r.outcome) for r in parse_report(DOTNET / report, runner=DN)]


@pytest.mark.parametrize("report", REPORTS)
def test_every_result_is_read_once(report: str) -> None:
    results = parse_report(DOTNET / report, runner=DN)
    assert len(results) == results_in(DOTNET / report) > 0
    assert len({(r.test_id, r.variant) for r in results}) == len(results)
    assert all("." in r.test_id for r in results)  # a class with its namespace


def test_the_nunit_logger_class_keeps_its_namespace() -> None:
    # NunitXml.TestLogger writes classname="ExampleTest"; the fixture names the namespace
    assert {test for test, _, _ in key("nunit-logger.xml")} == {"rocket_car_dotnet.ExampleTest"}
    assert DN.format(["rocket_car_dotnet.ExampleTest"]) == (
        "--filter FullyQualifiedName~rocket_car_dotnet.ExampleTest."
    )


def test_the_junit_logger_class_is_the_full_class_and_repeats_are_variants() -> None:
    results = key("junit-logger-docs.xml")
    assert {test for test, _, _ in results} == {"UnitTestLibrary1.MathTests"}
    repeated = [
        variant for _, variant, _ in results if variant.startswith("Multiply_ReturnsEight(1,2)")
    ]
    assert repeated == ["Multiply_ReturnsEight(1,2) #1", "Multiply_ReturnsEight(1,2) #2"]


def test_one_suite_gets_the_same_ids_in_every_format() -> None:
    nunit = key("nunit3.xml")
    assert nunit == key("junit-logger.xml") == key("nunit-adapter.trx")
    assert ("Acme.Tests.CalcTests", "Add(2,2,5)", Outcome.FAILED) in nunit
    assert ("Acme.Tests.CalcTests", "Rounds", Outcome.SKIPPED) in nunit


def test_xunit_full_names_are_cut_to_the_name_within_the_class() -> None:
    trx = {variant: outcome for _, variant, outcome in key("xunit.trx")}
    nunit = {variant: outcome for _, variant, outcome in key("nunit3-console.xml")}
    assert {test for test, _, _ in key("xunit.trx")} == {"DotnetTests.XUnitTests.CalculatorTests"}
    assert {test for test, _, _ in key("nunit3-console.xml")} == {
        "DotnetTests.XUnitTests.CalculatorTests"
    }
    shared = {"Failing_Test", "Passing_Test", "Skipped_Test", "Exception_In_Test"}
    assert shared <= set(trx) & set(nunit)
    assert trx["Skipped_Test"] is Outcome.SKIPPED and trx["Failing_Test"] is Outcome.FAILED
    assert nunit["Exception_In_Test"] is Outcome.ERROR  # NUnit's label="Error"


def test_trx_rows_and_retries_are_variants_and_messages_are_kept() -> None:
    results = parse_report(DOTNET / "mstest-datarows.trx", runner=DN)
    assert [(r.test_id, r.variant, r.outcome) for r in results] == [
        ("Acme.Tests.DivisionTests", "Divides (4,2,2)", Outcome.PASSED),
        ("Acme.Tests.DivisionTests", "Divides (1,0,0)", Outcome.FAILED),
        ("Acme.Tests.NetTests", "Connects #1", Outcome.FAILED),
        ("Acme.Tests.NetTests", "Connects #2", Outcome.PASSED),
        ("Acme.Tests.DivisionTests", "Rows (Data Row 0)", Outcome.PASSED),
        ("Acme.Tests.DivisionTests", "Rows (Data Row 1)", Outcome.PASSED),
    ]
    assert "DivideByZeroException" in results[1].message
    assert results[2].message == "Timeout" and results[2].duration_s == 1.5


def test_a_trx_result_of_no_test_is_an_error_naming_the_line(tmp_path: Path) -> None:
    broken = tmp_path / "broken.trx"
    text = (DOTNET / "nunit-adapter.trx").read_text()
    upcases = 'testId="b1000000-0000-0000-0000-000000000004"'
    broken.write_text(text.replace(upcases, 'testId="x"', 1))
    with pytest.raises(ReportError, match=r"broken.trx:\d+: UnitTestResult 'Upcases' names no"):
        parse_report(broken, runner=DN)


def test_an_explore_listing_is_candidates_never_results() -> None:
    with pytest.raises(ReportError, match="an NUnit --explore listing .4 test cases, no results"):
        parse_report(DOTNET / "explore.xml", runner=DN)
    listed = DN.candidates((DOTNET / "explore.xml").read_text())
    assert listed.ids == ["Acme.Tests.CalcTests", "Acme.Tests.StrTests"]
    assert listed.ids == list(dict.fromkeys(test for test, _, _ in key("nunit3.xml")))


def test_list_tests_gives_the_classes_of_full_names_and_names_the_rest() -> None:
    listed = DN.candidates((DOTNET / "list-tests.txt").read_text())
    assert listed.ids == ["Acme.XTests.ParserTests", "Acme.XTests.Net.ClientTests"]
    # NUnit's default display names carry no class: left out, and warned of
    assert listed.unrecognized == ["Add(1,2,3)", "Add(2,2,5)", "Rounds", "Upcases"]


def test_an_xml_document_that_is_no_explore_listing_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"root <testsuites>, not NUnit's `--explore"):
        DN.candidates((DOTNET / "junit-logger.xml").read_text())
    with pytest.raises(ConfigError, match="not well-formed XML"):
        DN.candidates("<test-run><test-case></test-run>")


def test_class_lines_stay_candidates_and_garbage_lines_are_left_out() -> None:
    listed = DN.candidates("Acme.Tests.CalcTests\nnot a class\nAcme.Generic`1\n")
    assert listed.ids == ["Acme.Tests.CalcTests", "Acme.Generic`1"]
    assert listed.unrecognized == ["not a class"]


def test_record_refuses_an_explore_listing_and_reads_trx_in_a_folder(
    unreachable_bootstrap: str, tmp_path: Path
) -> None:
    env = {**os.environ, "PTS_KAFKA_BOOTSTRAP": unreachable_bootstrap}
    args = ("record", "tests", "-p", "p", "-b", "1", "--runner", "dotnet", "--dry-run")
    refused = run_pts(env, *args, str(DOTNET / "explore.xml"))
    assert refused.returncode == 2
    assert refused.stdout == ""
    [line] = refused.stderr.strip().splitlines()
    assert "explore.xml:2: an NUnit --explore listing" in line
    folder = tmp_path / "TestResults"
    folder.mkdir()
    (folder / "run.trx").write_bytes((DOTNET / "xunit.trx").read_bytes())
    read = run_pts(env, *args, str(folder))
    assert read.returncode == 0, read.stderr
    assert len(read.stdout.splitlines()) == results_in(DOTNET / "xunit.trx")


def test_subset_of_an_explore_listing_prints_a_filter_of_classes(
    unreachable_bootstrap: str, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "PTS_KAFKA_BOOTSTRAP": unreachable_bootstrap,
        "PTS_SUBSET_TIMEOUT_S": "1",
        "PTS_DATA_DIR": str(tmp_path / "data"),
    }
    listing = (DOTNET / "explore.xml").read_text()
    answer = run_pts(
        env, "subset", "-p", "p", "-b", "1", "--target", "20%", "--runner", "dotnet", stdin=listing
    )
    assert answer.returncode == 0, answer.stderr
    # no broker: everything, as the runner takes it, and not one XML tag
    assert answer.stdout.strip() == (
        "--filter FullyQualifiedName~Acme.Tests.CalcTests.|FullyQualifiedName~Acme.Tests.StrTests."
    )
    assert "candidate line" not in answer.stderr


def test_a_fixture_that_failed_in_its_one_time_set_up_is_a_result_of_the_class(
    tmp_path: Path,
) -> None:
    # NUnit 3 marks the fixture site="SetUp" and each of its cases site="Parent"
    report = tmp_path / "setup.xml"
    report.write_text(
        '<test-run result="Failed"><test-suite type="TestFixture" name="DbTests" '
        'fullname="Acme.DbTests" result="Failed" label="Error" site="SetUp">'
        "<failure><message>OneTimeSetUp: no database</message></failure>"
        '<test-case name="Reads" fullname="Acme.DbTests.Reads" classname="Acme.DbTests" '
        'result="Failed" label="Error" site="Parent"><failure><message>OneTimeSetUp: no '
        "database</message></failure></test-case></test-suite></test-run>"
    )
    results = parse_report(report, runner=DN)
    assert [(r.test_id, r.name, r.outcome) for r in results] == [
        ("Acme.DbTests", "", Outcome.ERROR),
        ("Acme.DbTests", "Reads", Outcome.ERROR),
    ]
    assert results[0].message == "OneTimeSetUp: no database"
