"""The native report formats and listings of Robot Framework, CTest, Google Test and Bazel's
Build Event Protocol, on the fixtures their tools wrote (Bazel's by hand): every result the
file holds, counted apart from the reader, under the id the runner's subset runs."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from pts.client.junit_reports import parse_report
from pts.client.runners import runner
from pts.core.errors import ConfigError, ReportError
from pts.core.events import Outcome
from tests.conftest import run_pts

RUNS = Path(__file__).resolve().parent.parent / "fixtures" / "runners"
ROBOT_VERSIONS = ["rf3", "rf6", "rf7"]  # Robot Framework 3.2.2, 6.1.1, 7.5
ROBOT_IDS = [
    "Tests.Calc.Add Numbers",
    "Tests.Calc.Divide Numbers",
    "Tests.Calc.Round Numbers",
    "Tests.Network.Fetch Page",
    "Tests.Network.Resolve Name",
]
CTEST_IDS = ["calc_add", "calc.div", "net_fetch", "str_upper", "str trim", "net_dns"]
GTEST_IDS = [
    "CalcTest.Add",
    "CalcTest.Divide",
    "CalcTest.Round",
    "CalcTest.DISABLED_Overflow",
    "Small/EvenTest.IsEven/0",
    "Small/EvenTest.IsEven/1",
]


def outcomes(path: Path, name: str) -> list[tuple[str, Outcome]]:
    return [(r.test_id, r.outcome) for r in parse_report(path, runner=runner(name))]


# Robot Framework


@pytest.mark.parametrize("version", ROBOT_VERSIONS)
def test_robot_output_xml_gives_every_test_the_id_of_its_xunit_report(version: str) -> None:
    output = RUNS / "robot" / version / "output.xml"
    results = parse_report(output, runner=runner("robot"))
    assert len(results) == len(re.findall(r"<test id=", output.read_text())) == 5
    assert [r.test_id for r in results] == ROBOT_IDS
    xunit = RUNS / "robot" / version / "xunit.xml"
    assert outcomes(output, "robot") == outcomes(xunit, "robot")
    assert all(r.duration_s >= 0 for r in results) and any(r.duration_s > 0 for r in results)


@pytest.mark.parametrize("version", ["rf6", "rf7"])
def test_robot_outcomes_messages_and_a_failed_suite_setup(version: str) -> None:
    results = parse_report(RUNS / "robot" / version / "output.xml", runner=runner("robot"))
    by_id = {r.test_id: r for r in results}
    assert by_id["Tests.Calc.Add Numbers"].outcome is Outcome.PASSED
    assert by_id["Tests.Calc.Divide Numbers"].outcome is Outcome.FAILED
    assert by_id["Tests.Calc.Divide Numbers"].message == "3 != 2"
    assert by_id["Tests.Calc.Round Numbers"].outcome is Outcome.SKIPPED  # RF 4+'s Skip
    assert by_id["Tests.Calc.Round Numbers"].message == "not on this machine"
    # Robot fails each test of a suite whose setup failed: each is a failed result
    for test in ("Tests.Network.Fetch Page", "Tests.Network.Resolve Name"):
        assert by_id[test].outcome is Outcome.FAILED
        assert by_id[test].message.startswith("Parent suite setup failed:")


def test_robot_7_output_json_reads_as_its_output_xml() -> None:
    output = RUNS / "robot/rf7/output.json"
    results = parse_report(output, runner=runner("robot"))
    assert len(results) == len(re.findall(r'"id":"s1(-s\d+)+-t\d+"', output.read_text())) == 5
    assert outcomes(output, "robot") == outcomes(RUNS / "robot/rf7/output.xml", "robot")
    assert results[1].message == "3 != 2" and results[1].duration_s > 0
    listing = (RUNS / "robot/rf7/dryrun.json").read_text()
    assert runner("robot").candidates(listing).ids == ROBOT_IDS


def test_robot_listing_that_is_other_json_is_refused() -> None:
    with pytest.raises(ConfigError, match="not Robot's output.json") as refused:
        runner("robot").candidates((RUNS / "gtest/gtest.json").read_text())
    assert "robot --dryrun" in str(refused.value)


def test_robot_3_has_no_skip_and_times_its_tests_by_start_and_end() -> None:
    results = parse_report(RUNS / "robot/rf3/output.xml", runner=runner("robot"))
    assert results[2].outcome is Outcome.FAILED
    assert results[2].message == "No keyword with name 'Skip' found."
    assert results[0].duration_s == pytest.approx(0.001)  # 19:43:35.234 to .235


@pytest.mark.parametrize("version", ROBOT_VERSIONS)
def test_robot_dryrun_output_is_the_listing(version: str) -> None:
    listing = (RUNS / "robot" / version / "dryrun.xml").read_text()
    found = runner("robot").candidates(listing)
    assert found.ids == ROBOT_IDS
    assert found.unrecognized == []
    assert len(found.ids) == len(re.findall(r"<test id=", listing))


def test_robot_listing_of_plain_names_still_reads() -> None:
    assert runner("robot").candidates("Tests.Calc.Add Numbers\n\n# x\n").ids == ROBOT_IDS[:1]


@pytest.mark.parametrize(
    ("listing", "reason"),
    [
        ((RUNS / "robot/xunit.xml").read_text(), "root <testsuite>, not Robot's output.xml"),
        ('<?xml version="1.0"?>\n<robot><suite name="T">', "not well-formed XML"),
    ],
    ids=["junit-xml", "broken-xml"],
)
def test_robot_listing_that_is_other_xml_is_refused(listing: str, reason: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(reason)) as refused:
        runner("robot").candidates(listing)
    assert "robot --dryrun" in str(refused.value) and "\n" not in str(refused.value)


def test_robot_output_with_a_status_robot_never_writes_is_refused(tmp_path: Path) -> None:
    report = tmp_path / "output.xml"
    report.write_text(
        '<robot><suite name="T"><test name="A">\n<status status="MAYBE"/></test></suite></robot>'
    )
    with pytest.raises(ReportError, match=r"output.xml:1: test 'A' has status 'MAYBE'"):
        parse_report(report, runner=runner("robot"))


# CTest


def test_ctest_test_xml_gives_every_test_the_id_of_its_junit_report() -> None:
    dashboard = RUNS / "ctest/Test.xml"
    results = parse_report(dashboard, runner=runner("ctest"))
    assert len(results) == len(re.findall(r'<Test Status="', dashboard.read_text())) == 6
    assert [r.test_id for r in results] == CTEST_IDS
    junit = parse_report(RUNS / "ctest/ctest-junit-3.25.xml", runner=runner("ctest"))
    assert [r.test_id for r in junit] == CTEST_IDS
    assert [r.outcome for r in results] == [
        Outcome.PASSED,
        Outcome.FAILED,
        Outcome.SKIPPED,  # DISABLED
        Outcome.SKIPPED,  # SKIP_RETURN_CODE
        Outcome.PASSED,
        Outcome.ERROR,  # its executable is missing: CTest counts it failed
    ]
    div = results[1]
    assert div.message == "Failed (exit value 1)"
    assert div.duration_s == pytest.approx(0.00776746)
    assert results[5].message == "Unable to find executable"


def test_ctest_junit_disabled_test_is_skipped_not_passed() -> None:
    junit = parse_report(RUNS / "ctest/ctest-junit-3.25.xml", runner=runner("ctest"))
    assert junit[2].test_id == "net_fetch" and junit[2].outcome is Outcome.SKIPPED


def test_ctest_listings_json_v1_and_n_agree() -> None:
    ctest = runner("ctest")
    assert ctest.candidates((RUNS / "ctest/show-only-json-v1.json").read_text()).ids == CTEST_IDS
    listed = ctest.candidates((RUNS / "ctest/ctest-N-3.25.txt").read_text())
    assert listed.ids == CTEST_IDS  # "net_fetch (Disabled)" is net_fetch
    # ctest -N also prints where it looked for a missing executable: no test, warned of
    assert "Could not find executable no_such_tool" in listed.unrecognized
    assert ctest.format(["calc.div", "str_upper"]) == r"-R ^(calc\.div|str_upper)$"


@pytest.mark.parametrize(
    ("listing", "reason"),
    [
        ((RUNS / "gtest/gtest.json").read_text(), 'no "kind": "ctestInfo"'),
        ('{"kind": "ctestInfo", "tests": [', "not well-formed JSON (line 1"),
        ('{"kind": "ctestInfo", "tests": [{"command": ["a"]}]}', "no list of named tests"),
    ],
    ids=["gtest-json", "broken-json", "unnamed-test"],
)
def test_ctest_listing_that_is_other_json_is_refused(listing: str, reason: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(reason)) as refused:
        runner("ctest").candidates(listing)
    assert "\n" not in str(refused.value)


def test_ctest_dashboard_file_of_no_tests_is_refused(tmp_path: Path) -> None:
    build = tmp_path / "Build.xml"
    build.write_text('<?xml version="1.0"?>\n<Site Name="ci">\n<Build></Build></Site>')
    with pytest.raises(ReportError, match=r"Build.xml:2: a CTest dashboard file without <Testing>"):
        parse_report(build, runner=runner("ctest"))


def test_ctest_test_xml_with_an_unknown_status_names_the_line(tmp_path: Path) -> None:
    report = tmp_path / "Test.xml"
    report.write_text(
        '<Site>\n<Testing>\n<Test Status="maybe"><Name>a</Name></Test>\n</Testing></Site>'
    )
    with pytest.raises(ReportError, match=r"Test.xml:3: <Test> has Status 'maybe'"):
        parse_report(report, runner=runner("ctest"))


# Google Test


def test_gtest_xml_and_json_give_the_same_results() -> None:
    xml, report = RUNS / "gtest/gtest.xml", RUNS / "gtest/gtest.json"
    assert outcomes(xml, "gtest") == outcomes(report, "gtest")
    results = parse_report(report, runner=runner("gtest"))
    assert len(results) == len(json.loads(report.read_text())["testsuites"][0]["testsuite"]) + 2
    assert len(results) == report.read_text().count('"classname"') == 6
    assert [r.test_id for r in results] == GTEST_IDS
    assert [r.outcome for r in results] == [
        Outcome.PASSED,
        Outcome.FAILED,
        Outcome.SKIPPED,  # GTEST_SKIP
        Outcome.SKIPPED,  # DISABLED_: status notrun, no <skipped> in the XML
        Outcome.PASSED,
        Outcome.PASSED,
    ]
    assert "Which is: 3" in results[1].message


def test_gtest_list_tests_is_the_listing_and_the_filter_its_subset() -> None:
    gtest = runner("gtest")
    found = gtest.candidates((RUNS / "gtest/gtest_list_tests.txt").read_text())
    assert found.ids == GTEST_IDS and found.unrecognized == []
    assert gtest.candidates("Running main() from gtest_main.cc\nA.\n  B\n").ids == ["A.B"]
    assert gtest.format(GTEST_IDS[:2]) == "--gtest_filter=CalcTest.Add:CalcTest.Divide"


def test_gtest_json_that_breaks_names_the_file(tmp_path: Path) -> None:
    report = tmp_path / "gtest.json"
    report.write_text('{\n  "tests": 1,\n  "failures": 0,\n  "disabled": 0,\n  "testsuites": [\n')
    with pytest.raises(ReportError, match=r"gtest.json:6: not a well-formed Google Test JSON"):
        parse_report(report, runner=runner("gtest"))


def test_gtest_suite_failure_outside_its_tests_reruns_the_suite(tmp_path: Path) -> None:
    """A nameless entry with a failure is the suite's own (GoogleTest 1.12 writes none: it
    reports the tests of a suite whose SetUpTestSuite failed as skipped)."""
    xml = tmp_path / "gtest.xml"
    xml.write_text(
        '<testsuites><testsuite name="DbTest"><testcase name="Query" classname="DbTest"/>\n'
        '<testcase name="" classname="" status="run"><failure message="no database"/>'
        "</testcase></testsuite></testsuites>"
    )
    assert outcomes(xml, "gtest") == [
        ("DbTest.Query", Outcome.PASSED),
        ("DbTest.*", Outcome.FAILED),
    ]
    assert runner("gtest").format(["DbTest.*"]) == "--gtest_filter=DbTest.*"


def test_gtest_through_ctest_is_named_by_ctest() -> None:
    """gtest_discover_tests names the CTest tests itself: DISABLED_ dropped, parameters by value;
    the ctest profile reads them as ctest -N prints them."""
    found = runner("ctest").candidates((RUNS / "gtest/ctest-N.txt").read_text())
    assert found.ids[:4] == [
        "CalcTest.Add",
        "CalcTest.Divide",
        "CalcTest.Round",
        "CalcTest.Overflow",
    ]


# Bazel's Build Event Protocol

BEP = RUNS / "bazel/bep/bep.json"


def test_bep_every_test_attempt_is_a_result_of_its_target() -> None:
    results = parse_report(BEP, runner=runner("bazel"))
    events = [json.loads(line) for line in BEP.read_text().splitlines()]
    attempts = [e for e in events if "testResult" in e["id"]]
    not_built = [
        e for e in events if e.get("testSummary", {}).get("overallStatus") == "FAILED_TO_BUILD"
    ]
    assert len(results) == len(attempts) + len(not_built) == 6
    assert [(r.test_id, r.variant, r.outcome) for r in results] == [
        ("//pkg/calc:calc_test", "shard 1", Outcome.PASSED),
        ("//pkg/calc:calc_test", "shard 2", Outcome.PASSED),
        ("//pkg/strs:strs_test", "attempt 1", Outcome.FAILED),  # flaky: failed, then passed
        ("//pkg/strs:strs_test", "attempt 2", Outcome.PASSED),
        ("//pkg/net:net_test", "", Outcome.FAILED),
        ("//pkg/broken:broken_test", "", Outcome.ERROR),
    ]
    assert results[0].duration_s == 1.25
    assert results[4].message == "TIMEOUT: Test timed out after 60 seconds"
    assert results[5].name == "" and "did not build" in results[5].message
    # the ids are what bazel query lists and bazel test runs
    listed = runner("bazel").candidates((RUNS / "bazel/query.txt").read_text()).ids
    assert {r.test_id for r in results} == {*listed, "//pkg/broken:broken_test"}


def test_bep_of_old_bazel_reads_success_and_an_aborted_attempt_is_none(tmp_path: Path) -> None:
    stream = tmp_path / "bep.json"
    stream.write_text(
        '{"id":{"started":{}},"started":{"uuid":"u"}}\n'
        '{"id":{"testResult":{"label":"//a:t","attempt":1}},'
        '"testResult":{"success":true,"testAttemptDurationMillis":"250"}}\n'
        '{"id":{"testResult":{"label":"//b:t","attempt":1}},"testResult":{}}\n'
        '{"id":{"testResult":{"label":"//c:t","attempt":1}},"aborted":{"reason":"USER_INTERRUPTED"}}\n'
    )
    results = parse_report(stream, runner=runner("bazel"))
    assert [(r.test_id, r.outcome, r.duration_s) for r in results] == [
        ("//a:t", Outcome.PASSED, 0.25),
        ("//b:t", Outcome.FAILED, 0.0),
    ]


def test_bep_line_that_is_no_json_names_its_line(tmp_path: Path) -> None:
    stream = tmp_path / "bep.json"
    stream.write_text('{"id":{"started":{}},"started":{}}\n{"id":{"testResult":\n')
    with pytest.raises(ReportError, match=r"bep.json:2: not a JSON build event"):
        parse_report(stream, runner=runner("bazel"))


# Through the command line, with no broker


def no_broker_env(unreachable: str, tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PTS_KAFKA_BOOTSTRAP": unreachable,
        "PTS_SUBSET_TIMEOUT_S": "3",
        "PTS_SUBSET_CATCH_UP_S": "1",
        "PTS_DATA_DIR": str(tmp_path / "data"),
    }


@pytest.mark.parametrize(
    ("name", "report", "count"),
    [
        ("robot", "robot/rf6/output.xml", 5),
        ("robot", "robot/rf7/output.json", 5),
        ("ctest", "ctest/Test.xml", 6),
        ("gtest", "gtest/gtest.json", 6),
        ("bazel", "bazel/bep/bep.json", 6),
    ],
)
def test_record_dry_run_reads_each_native_format(
    name: str, report: str, count: int, unreachable_bootstrap: str, tmp_path: Path
) -> None:
    env = no_broker_env(unreachable_bootstrap, tmp_path)
    args = [
        "record",
        "tests",
        "-p",
        "p",
        "-b",
        "1",
        "--runner",
        name,
        "--dry-run",
        str(RUNS / report),
    ]
    result = run_pts(env, *args)
    assert result.returncode == 0, result.stderr
    recorded = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(recorded) == count
    assert recorded == [r for r in recorded if r["report"].endswith(report)]


@pytest.mark.parametrize(
    ("name", "listing", "first"),
    [
        ("robot", "robot/rf6/dryrun.xml", "--test Tests.Calc.Add Numbers"),
        ("ctest", "ctest/show-only-json-v1.json", r"-R ^(calc_add|calc\.div|net_fetch|"),
        ("gtest", "gtest/gtest_list_tests.txt", "--gtest_filter=CalcTest.Add:CalcTest.Divide:"),
    ],
)
def test_subset_without_a_broker_runs_every_listed_test(
    name: str, listing: str, first: str, unreachable_bootstrap: str, tmp_path: Path
) -> None:
    env = no_broker_env(unreachable_bootstrap, tmp_path)
    args = [
        "subset",
        "-p",
        "p",
        "-b",
        "1",
        "--target",
        "20%",
        "--runner",
        name,
        str(RUNS / listing),
    ]
    result = run_pts(env, *args)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(first)
    assert "candidate line" not in result.stderr


@pytest.mark.parametrize(
    ("name", "text", "error"),
    [
        ("bazel", '{"id":{"started":{}},"started":{}}\n{"id":{"testResult":\n', ":2: not a JSON"),
        ("gtest", '{"tests": 1, "failures": 0, "disabled": 0, "testsuites": 3}', "testsuites"),
        ("robot", '<robot><suite name="T"><test name="A"/></suite></robot>', "has no <status>"),
        ("ctest", "<Site><Testing><Test><Name>a</Name></Test></Testing></Site>", "Status None"),
    ],
    ids=["bep", "gtest-json", "robot", "ctest"],
)
def test_record_refuses_a_broken_native_report_in_one_line(
    name: str, text: str, error: str, unreachable_bootstrap: str, tmp_path: Path
) -> None:
    report = tmp_path / "report.txt"
    report.write_text(text)
    env = no_broker_env(unreachable_bootstrap, tmp_path)
    args = ["record", "tests", "-p", "p", "-b", "1", "--runner", name, "--dry-run", str(report)]
    result = run_pts(env, *args)
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if str(report) in line]
    assert len(errors) == 1 and error in errors[0], result.stderr
