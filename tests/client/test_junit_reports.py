from __future__ import annotations

from pathlib import Path

import pytest

from pts.client.junit_reports import MAX_MESSAGE, parse_report, slice_results
from pts.core.errors import ReportError
from pts.core.events import Outcome, TestResult

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "junit"

P, F, E, S = Outcome.PASSED, Outcome.FAILED, Outcome.ERROR, Outcome.SKIPPED


def summary(results: list[TestResult]) -> list[tuple[str, Outcome, float, str]]:
    return [(r.test_id, r.outcome, r.duration_s, r.message) for r in results]


def write(tmp_path: Path, xml: str) -> Path:
    path = tmp_path / "report.xml"
    path.write_text(xml, encoding="utf-8")
    return path


def test_pytest() -> None:
    results = parse_report(FIXTURES / "pytest.xml")
    assert summary(results) == [
        ("tests.test_parser::test_ok", P, 0.002, ""),
        ("tests.test_parser::test_parse[a-1]", P, 0.004, ""),
        ("tests.test_parser::test_fails", F, 0.013, "assert 3 == 4\n +  where 3 = add(1, 2)"),
        ("tests.test_parser::test_network", S, 0.0, "needs network"),
        ("tests.test_parser::test_unicode_names", S, 0.001, "bug #12: unicode names"),
        (
            "tests.test_db::test_query",
            E,
            0.001,
            'failed on setup with "ConnectionRefusedError: [Errno 111] Connection refused"',
        ),
        ("tests.test_db::test_schema", P, 0.12, ""),
    ]
    assert results[0].suite == "tests.test_parser"
    assert results[0].name == "test_ok"


def test_surefire() -> None:
    assert summary(parse_report(FIXTURES / "surefire.xml")) == [
        ("org.example.FooTest::parsesEmptyInput", P, 0.012, ""),
        ("org.example.FooTest::rejectsNegative", F, 0.034, "expected: <-1> but was: <0>"),
        (
            "org.example.FooTest::readsConfig",
            E,
            0.002,
            "config.properties (No such file or directory)",
        ),
        ("org.example.FooTest::slowPath", S, 0.0, "not on CI"),
        ("org.example.FooTest::disabled", S, 0.0, ""),
        ("org.example.FooTest::survivesClockSkew", P, 1043.118, ""),
        ("org.example.FooTest::talksToServer", F, 0.104, "Connection refused"),
    ]


def test_gradle_parameterized_names_and_retried_test() -> None:
    assert summary(parse_report(FIXTURES / "gradle.xml")) == [
        ("com.acme.BarTest::add(int, int)[1]", P, 0.011, ""),
        ("com.acme.BarTest::add(int, int)[2]", P, 0.001, ""),
        (
            "com.acme.BarTest::divideByZero()",
            F,
            0.004,
            "org.opentest4j.AssertionFailedError: Expected java.lang.ArithmeticException to be "
            "thrown, but nothing was thrown.",
        ),
        ("com.acme.BarTest::ignored()", S, 0.0, ""),
        (
            "com.acme.BarTest::fetchesRemote()",
            F,
            0.052,
            "java.net.SocketTimeoutException: Read timed out",
        ),
        ("com.acme.BarTest::fetchesRemote()", P, 0.018, ""),
    ]
    retried = [r for r in parse_report(FIXTURES / "gradle.xml") if "fetchesRemote" in r.test_id]
    assert [r.variant for r in retried] == ["#1", "#2"]  # the retry plugin's two runs


def test_go_junit_report() -> None:
    assert summary(parse_report(FIXTURES / "go-junit-report.xml")) == [
        ("github.com/acme/pkg::TestParse", P, 0.0, ""),
        ("github.com/acme/pkg::TestX", F, 0.01, "Failed"),
        ("github.com/acme/pkg::TestX/case_1", P, 0.0, ""),
        ("github.com/acme/pkg::TestX/case_2", F, 0.01, "Failed"),
        ("github.com/acme/pkg::TestNeedsDocker", S, 0.0, "Skipped"),
        ("github.com/acme/pkg/internal/util::TestClamp", P, 0.1, ""),
        ("github.com/acme/pkg/internal/util::TestRound", P, 0.005, ""),
    ]


def test_jest_junit_takes_the_failure_text_as_message() -> None:
    results = parse_report(FIXTURES / "jest-junit.xml")
    assert [(r.test_id, r.outcome, r.duration_s) for r in results] == [
        ("sum adds 1 + 2::sum adds 1 + 2", P, 0.002),
        ("sum handles negatives::sum handles negatives", F, 0.004),
        ("sum todo big numbers::sum todo big numbers", S, 0.0),
        ("product multiplies two numbers::product multiplies two numbers", P, 0.003),
    ]
    message = results[1].message
    assert message.startswith("Error: expect(received).toBe(expected) // Object.is equality\n")
    assert message.endswith("at new Promise (<anonymous>)")


def test_nested_testsuites_use_the_nearest_suite_name(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """<testsuites name="all">
  <testsuite name="outer">
    <testsuite name="inner">
      <testcase name="a" time="1"/>
    </testsuite>
    <testsuite>
      <testcase name="b" time="2"/>
    </testsuite>
    <testcase name="c" classname="" file="test/c.js"/>
  </testsuite>
  <testsuite><testcase name="d" file="test/d.js"/></testsuite>
</testsuites>""",
    )
    assert [r.test_id for r in parse_report(path)] == [
        "inner::a",
        "outer::b",
        "outer::c",
        "test/d.js::d",
    ]


def test_empty_testsuites_gives_nothing(tmp_path: Path) -> None:
    assert parse_report(write(tmp_path, "<testsuites/>")) == []
    assert parse_report(write(tmp_path, '<testsuite name="x" tests="0"></testsuite>')) == []


def test_time_with_thousands_separator_and_missing_time(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '<testsuite name="s"><testcase name="a" time="1,234.5"/><testcase name="b"/></testsuite>',
    )
    assert [r.duration_s for r in parse_report(path)] == [1234.5, 0.0]


def test_message_is_truncated(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        f'<testsuite name="s"><testcase name="a"><error>  {"x" * 5000}  </error></testcase>'
        "</testsuite>",
    )
    message = parse_report(path)[0].message
    assert len(message) == MAX_MESSAGE
    assert message.startswith("xxx") and message.endswith(" more chars]")
    kept = message.index("…")
    assert message[kept:] == f"…[{5000 - kept} more chars]"  # says how much was cut


def test_each_occurrence_is_a_result_with_its_ordinal(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """<testsuite name="s">
  <testcase classname="C" name="passes_on_retry" time="1"><failure message="boom"/></testcase>
  <testcase classname="C" name="once" time="1"/>
  <testcase classname="C" name="passes_on_retry" time="2"/>
</testsuite>""",
    )
    results = parse_report(path)
    assert summary(results) == [
        ("C::passes_on_retry", F, 1.0, "boom"),
        ("C::once", P, 1.0, ""),
        ("C::passes_on_retry", P, 2.0, ""),
    ]
    assert [r.variant for r in results] == ["#1", "", "#2"]


def test_playwright_projects_are_variants(tmp_path: Path) -> None:
    """Playwright writes each spec once per project, naming the project in `hostname`."""
    suites = "".join(
        f'<testsuite name="login.spec.ts" hostname="{project}" tests="1">'
        f'<testcase name="logs in" classname="login.spec.ts" time="{time}">{failure}</testcase>'
        "</testsuite>"
        for project, time, failure in [
            ("chromium", 1.0, ""), ("firefox", 1.2, '<failure message="timeout"/>'),
            ("webkit", 0.9, ""),
        ]
    )  # fmt: skip
    results = parse_report(write(tmp_path, f"<testsuites>{suites}</testsuites>"))
    assert [(r.variant, r.outcome, r.duration_s) for r in results] == [
        ("chromium", P, 1.0), ("firefox", F, 1.2), ("webkit", P, 0.9),
    ]  # fmt: skip


def test_a_rerun_within_one_project_gets_an_ordinal_after_the_project(tmp_path: Path) -> None:
    suites = "".join(
        f'<testsuite name="a.spec.ts" hostname="{project}"><testcase name="t" classname="a"/>'
        "</testsuite>"
        for project in ["chromium", "chromium", "firefox"]
    )
    results = parse_report(write(tmp_path, f"<testsuites>{suites}</testsuites>"))
    assert [r.variant for r in results] == ["chromium", "chromium#2", "firefox"]


def test_suites_that_differ_tell_repeats_apart(tmp_path: Path) -> None:
    """XCTest-style: one suite per launch configuration, the same test in each."""
    suites = "".join(
        f'<testsuite name="AppTests ({config})"><testcase classname="AppTests" name="testLaunch"/>'
        "</testsuite>"
        for config in ["English", "Arabic", "Dark", "Large Text"]
    )
    results = parse_report(write(tmp_path, f"<testsuites>{suites}</testsuites>"))
    assert [r.variant for r in results] == [
        "AppTests (English)", "AppTests (Arabic)", "AppTests (Dark)", "AppTests (Large Text)",
    ]  # fmt: skip


def test_byte_bounded_slices_keep_every_result() -> None:
    failure = TestResult("s::t", "s", "t", F, 0.1, "m" * 2000)
    slices = slice_results([failure] * 2000)
    assert sum(len(s) for s in slices) == 2000
    assert len(slices) > 1  # 2,000 results of 2 KB do not fit one 2 MiB slice


def test_suite_level() -> None:
    by_suite = parse_report(FIXTURES / "pytest.xml", level="suite")
    assert summary(by_suite) == [
        ("tests.test_parser", F, 0.02, "assert 3 == 4\n +  where 3 = add(1, 2)"),
        (
            "tests.test_db",
            E,
            0.121,
            'failed on setup with "ConnectionRefusedError: [Errno 111] Connection refused"',
        ),
    ]
    assert all(r.name == "" and r.suite == r.test_id for r in by_suite)
    assert summary(parse_report(FIXTURES / "go-junit-report.xml", level="suite")) == [
        ("github.com/acme/pkg", F, 0.02, "Failed"),
        ("github.com/acme/pkg/internal/util", P, 0.105, ""),
    ]


def test_suite_level_all_skipped(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '<testsuite name="s"><testcase name="a"><skipped/></testcase>'
        '<testcase name="b"><skipped message="later"/></testcase></testsuite>',
    )
    assert summary(parse_report(path, level="suite")) == [("s", S, 0.0, "")]


def test_slices() -> None:
    results = [TestResult(f"s::t{i}", "s", f"t{i}", P) for i in range(7)]
    assert [len(s) for s in slice_results(results, max_per_slice=3)] == [3, 3, 1]
    assert [r for s in slice_results(results, max_per_slice=3) for r in s] == results
    assert slice_results(results) == [results]
    assert slice_results([]) == [[]]
    with pytest.raises(ValueError):
        slice_results(results, max_per_slice=0)


def assert_report_error(path: Path, line: int | None, reason: str) -> None:
    with pytest.raises(ReportError) as caught:
        parse_report(path)
    error = caught.value
    assert error.exit_code == 2
    assert (error.path, error.line) == (str(path), line)
    assert reason in error.reason
    text = str(error)
    assert text.startswith(f"{path}:{line}: " if line else f"{path}: ")
    assert "\n" not in text


def test_truncated_report() -> None:
    assert_report_error(FIXTURES / "truncated.xml", 9, "not well-formed XML: unclosed token")


def test_not_a_junit_report() -> None:
    assert_report_error(
        FIXTURES / "not_junit.xml", 2, "not a JUnit report: root element is <project>"
    )


def test_testcase_without_name() -> None:
    assert_report_error(FIXTURES / "testcase_without_name.xml", 5, "<testcase> has no name")


def test_missing_file(tmp_path: Path) -> None:
    assert_report_error(tmp_path / "nope.xml", None, "cannot read the report")


def test_empty_file(tmp_path: Path) -> None:
    assert_report_error(write(tmp_path, ""), 1, "not well-formed XML: no element found")


def test_bad_time(tmp_path: Path) -> None:
    path = write(tmp_path, '<testsuite name="s">\n\n<testcase name="a" time="fast"/></testsuite>')
    assert_report_error(path, 3, "time 'fast' is not a duration")
    path = write(tmp_path, '<testsuite name="s"><testcase name="a" time="-1"/></testsuite>')
    assert_report_error(path, 1, "time '-1' is not a duration")


def test_testcase_without_any_suite(tmp_path: Path) -> None:
    path = write(tmp_path, "<testsuites>\n<testsuite><testcase name='a'/></testsuite></testsuites>")
    assert_report_error(path, 2, "has no classname, suite or file")


def test_entity_expansion_is_refused(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '<?xml version="1.0"?>\n<!DOCTYPE t [<!ENTITY a "aaaa">]>\n<testsuites>&a;</testsuites>',
    )
    assert_report_error(path, 2, "refused XML construct: EntitiesForbidden")
