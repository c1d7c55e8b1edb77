"""Failures outside test cases, read from each runner's real output (hand-made for Gradle): a
pytest module that does not import, a Go package that does not build or whose TestMain exits,
a Java class whose @BeforeAll throws, a Jest or Vitest file that does not load. Each is a
failed result of the unit the runner can run, with the first lines of the error, and the
runner's listing of the next build names that unit as a candidate."""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree

import pytest

from pts.client.junit_reports import parse_report
from pts.client.messages import MAX_MESSAGE, MAX_MESSAGE_LINES, first_lines
from pts.client.pytest_plugin import _collect_failure
from pts.client.runners import runner
from pts.core.errors import ReportError
from pts.core.events import Outcome, TestResult

RUNS = Path(__file__).resolve().parent.parent / "fixtures" / "runners"
BROKEN_MODULE = "tests/test_broken.py"

# (runner, report under RUNS, the unit's id, its outcome, a line its message starts with)
FAILURES = [
    (
        "pytest",
        "pytest/broken/xunit2.xml",
        "tests/test_broken.py",
        Outcome.ERROR,
        "ImportError while importing test module",
    ),
    (
        "pytest",
        "pytest/broken/legacy.xml",
        "tests/test_broken.py",
        Outcome.ERROR,
        "ImportError while importing test module",
    ),
    (
        "go",
        "go/broken/go-test.json",
        "example.com/broken/parse",
        Outcome.FAILED,
        "parse/parse_test.go:6:13: undefined: ParseNumber",
    ),
    (
        "go",
        "go/broken/go-junit-report-v1.xml",
        "example.com/broken/parse",
        Outcome.FAILED,
        "parse/parse_test.go:6:13: undefined: ParseNumber",
    ),
    (
        "go",
        "go/broken/go-junit-report-v2.xml",
        "example.com/broken/parse",
        Outcome.ERROR,
        "parse/parse_test.go:6:13: undefined: ParseNumber",
    ),
    (
        "maven",
        "maven/broken/surefire-reports/TEST-com.acme.DatabaseTest.xml",
        "com.acme.DatabaseTest",
        Outcome.ERROR,
        "java.lang.IllegalStateException: no database at localhost:5432",
    ),
    (
        "gradle",
        "gradle/TEST-com.acme.DatabaseTest.xml",
        "com.acme.DatabaseTest",
        Outcome.FAILED,
        "java.lang.IllegalStateException: no database at localhost:5432",
    ),
    (
        "jest",
        "jest/broken/jest-junit-suite-errors.xml",
        "src/broken.test.js",
        Outcome.ERROR,
        "● Test suite failed to run",
    ),
    (
        "vitest",
        "vitest/broken/vitest-junit.xml",
        "src/broken.test.js",
        Outcome.FAILED,
        "Error: Failed to load url ./parser.js",
    ),
]


def unit_failures(results: list[TestResult]) -> list[TestResult]:
    return [r for r in results if not r.name]


@pytest.mark.parametrize(
    ("name", "report", "unit", "outcome", "first_line"),
    FAILURES,
    ids=[report for _, report, *_ in FAILURES],
)
def test_a_failure_outside_cases_is_one_failed_result_of_the_unit(
    name: str, report: str, unit: str, outcome: Outcome, first_line: str
) -> None:
    results = parse_report(RUNS / report, runner=runner(name))
    [failure] = [r for r in unit_failures(results) if r.test_id == unit]
    assert failure.failed and failure.outcome is outcome
    assert (failure.suite, failure.name, failure.variant) == (unit, "", "")
    assert failure.message.startswith(first_line)
    assert len(failure.message.splitlines()) <= MAX_MESSAGE_LINES + 1
    assert failure.duration_s >= 0.0
    # the other cases of the report are still results of their own
    assert len({(r.test_id, r.variant) for r in results}) == len(results)


def test_pytest_module_keeps_the_error_and_no_time() -> None:
    results = parse_report(RUNS / "pytest/broken/xunit2.xml", runner=runner("pytest"))
    assert [(r.test_id, r.outcome, r.duration_s) for r in results] == [
        ("tests/test_broken.py", Outcome.ERROR, 0.0),
        ("tests/test_ok.py::test_one", Outcome.PASSED, 0.001),
        ("tests/test_ok.py::test_two", Outcome.PASSED, 0.0),
    ]
    message = results[0].message
    assert "collection failure" not in message  # the label, not the error
    assert message.endswith("E   ModuleNotFoundError: No module named 'tests.helpers'")


def test_pytest_listing_names_the_module_that_failed_to_collect() -> None:
    listed = runner("pytest").candidates((RUNS / "pytest/broken/collect-only-q.txt").read_text())
    # the module's id, as recorded; no traceback line taken for an id or warned of
    assert listed.ids == [
        "tests/test_ok.py::test_one",
        "tests/test_ok.py::test_two",
        "tests/test_broken.py",
    ]
    assert listed.unrecognized == []
    assert runner("pytest").format(["tests/test_broken.py"]) == "tests/test_broken.py"


def test_pytest_plugin_records_a_collection_failure_as_the_junit_report_does() -> None:
    report = RUNS / "pytest/broken/xunit2.xml"
    junit = parse_report(report, runner=runner("pytest"))[0]
    error = ElementTree.parse(report).find(".//error")  # pytest writes str(report.longrepr)
    assert error is not None and error.text
    collected = pytest.CollectReport(BROKEN_MODULE, "failed", error.text, None)
    assert _collect_failure(BROKEN_MODULE, BROKEN_MODULE, collected) == junit


def test_go_package_failures_are_the_same_in_every_report_format() -> None:
    def key(report: str) -> list[tuple[str, bool, str]]:
        results = unit_failures(parse_report(RUNS / report, runner=runner("go")))
        return sorted((r.test_id, r.failed, r.message) for r in results)

    json = key("go/broken/go-test.json")
    assert json == key("go/broken/go-junit-report-v1.xml")
    assert json == key("go/broken/go-junit-report-v2.xml")
    assert json == [
        ("example.com/broken/parse", True, "parse/parse_test.go:6:13: undefined: ParseNumber"),
        ("example.com/broken/store", True, "store: STORE_URL is not set"),  # TestMain exited
    ]


def test_go_test_json_records_the_packages_tests_and_own_failures_once() -> None:
    results = parse_report(RUNS / "go/broken/go-test.json", runner=runner("go"))
    assert sorted((r.test_id, r.outcome, r.duration_s == 0.0) for r in results) == [
        ("example.com/broken/calc::TestAdd", Outcome.PASSED, True),
        ("example.com/broken/parse", Outcome.FAILED, True),  # no time: it did not build
        ("example.com/broken/store", Outcome.FAILED, False),
    ]
    # a package that failed because a test failed is that test's failure, not one more
    sample = parse_report(RUNS / "go/go-test.json", runner=runner("go"))
    assert unit_failures(sample) == [] and len(sample) == 10


def test_go_before_1_24_says_only_that_the_build_failed(tmp_path: Path) -> None:
    # Before Go 1.24, the compiler's output went to stderr, not into the -json stream.
    stream = tmp_path / "old.json"
    stream.write_text(
        '{"Action":"start","Package":"example.com/m/parse"}\n'
        '{"Action":"output","Package":"example.com/m/parse",'
        '"Output":"FAIL\\texample.com/m/parse [build failed]\\n"}\n'
        '{"Action":"fail","Package":"example.com/m/parse","Elapsed":0}\n'
    )
    [result] = parse_report(stream, runner=runner("go"))
    assert (result.test_id, result.outcome, result.duration_s) == (
        "example.com/m/parse",
        Outcome.FAILED,
        0.0,
    )
    assert result.message == "FAIL\texample.com/m/parse [build failed]"


def test_go_listing_names_the_package_that_cannot_list_its_tests() -> None:
    listed = runner("go").candidates((RUNS / "go/broken/go-test-list.txt").read_text())
    assert listed.ids == [
        "example.com/broken/calc::TestAdd",
        "example.com/broken/parse",
        "example.com/broken/store",
    ]
    assert listed.unrecognized == ["store: STORE_URL is not set"]  # its TestMain's own line


def test_go_subset_of_packages_runs_them_whole() -> None:
    go = runner("go")
    assert go.format(["example.com/broken/parse"]) == "example.com/broken/parse"
    assert go.format(["example.com/broken/parse", "example.com/broken/calc::TestAdd"]) == (
        "-run=^(TestAdd)$ example.com/broken/parse example.com/broken/calc"
    )
    assert go.format(["TestAdd"]) == "-run=^(TestAdd)$"  # a name whose package is not known


def test_surefire_static_initializer_failure_is_already_a_case_of_the_class() -> None:
    [result] = parse_report(
        RUNS / "maven/broken/surefire-reports/TEST-com.acme.ConfigTest.xml", runner=runner("maven")
    )
    assert (result.test_id, result.variant, result.outcome) == (
        "com.acme.ConfigTest",
        "readsPort",
        Outcome.ERROR,
    )
    assert result.message.startswith("java.lang.ExceptionInInitializerError")


CLASS = "com.acme.DatabaseTest$Rows"  # a nested class: its @BeforeAll threw


CLASS_FAILURES = ["", CLASS, "initializationError", "executionError", "classMethod"]


@pytest.mark.parametrize("name", CLASS_FAILURES)
def test_every_jvm_name_of_a_class_failure_is_the_class(tmp_path: Path, name: str) -> None:
    report = tmp_path / "TEST-com.acme.DatabaseTest.xml"
    report.write_text(
        f'<testsuite name="com.acme.DatabaseTest"><testcase name="{name}" '
        f'classname="{CLASS}" time="0.2"><error message="boom" '
        'type="java.lang.IllegalStateException">java.lang.IllegalStateException: boom\n'
        "\tat com.acme.DatabaseTest.connect(DatabaseTest.java:12)</error></testcase></testsuite>"
    )
    for profile in ("maven", "gradle"):
        [result] = parse_report(report, runner=runner(profile))
        assert (result.test_id, result.name, result.variant) == (
            "com.acme.DatabaseTest",
            "",
            "Rows",
        )
        assert result.message.splitlines()[0] == "java.lang.IllegalStateException: boom"
        assert result.duration_s == 0.2


def test_jest_junit_writes_a_load_failure_twice_and_it_is_one_result() -> None:
    text = (RUNS / "jest/broken/jest-junit-suite-errors.xml").read_text()
    assert text.count('classname="Test suite failed to run"') == 2
    results = parse_report(RUNS / "jest/broken/jest-junit-suite-errors.xml", runner=runner("jest"))
    [failure] = unit_failures(results)
    assert "Cannot find module './parser' from 'src/broken.test.js'" in failure.message
    assert [r.test_id for r in results].count("src/broken.test.js") == 1


def test_a_nameless_case_that_passed_is_still_a_broken_report(tmp_path: Path) -> None:
    report = tmp_path / "r.xml"
    report.write_text('<testsuite name="s">\n<testcase name="" classname="c"/></testsuite>')
    with pytest.raises(ReportError, match="<testcase> has no name"):
        parse_report(report, runner=runner("maven"))


def test_a_nameless_failure_of_a_runner_that_ids_cases_by_name_is_refused(tmp_path: Path) -> None:
    report = tmp_path / "r.xml"
    case = '<testcase classname="c"><failure/></testcase>'
    report.write_text(f'<testsuite name="s">\n{case}</testsuite>')
    with pytest.raises(ReportError, match="<testcase> has no name"):
        parse_report(report, runner=runner("ctest"))


def test_the_message_keeps_the_first_lines_within_bounds() -> None:
    traceback = "\n".join(f"  frame {i}: " + "x" * 20 for i in range(200))
    kept = first_lines("\n\nError: boom\n" + traceback)
    lines = kept.splitlines()
    assert lines[0] == "Error: boom"
    assert len(lines) == MAX_MESSAGE_LINES + 1 and lines[-1] == "…[161 more lines]"
    assert len(first_lines("y" * 10_000)) == MAX_MESSAGE
