"""Runner profiles on the fixtures of real runs (and hand-written ones where the runner is not
on this machine): every test case is a result, ids are what the runner runs, candidate
listings are read the way the runner prints them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pts.client.junit_reports import parse_report
from pts.client.runners import RUNNERS, runner
from pts.core.errors import ConfigError, ReportError
from pts.core.events import Outcome

RUNS = Path(__file__).resolve().parent.parent / "fixtures" / "runners"

# (runner, report under RUNS, ids every result has, in order of first appearance)
REPORTS = [
    ("pytest", "pytest/pytest-xunit2.xml", ["tests/test_calc.py::test_add"]),
    ("pytest", "pytest/pytest-legacy-reruns.xml", ["tests/test_calc.py::test_add"]),
    ("pytest", "pytest/pytest-xdist.xml", []),
    ("go", "go/go-junit-report-v1.xml", ["example.com/sample/calc::TestAdd"]),
    ("go", "go/go-junit-report-v2.xml", ["example.com/sample/calc::TestAdd"]),
    ("go", "go/go-junit-report-v2-json.xml", ["example.com/sample/calc::TestAdd"]),
    ("go", "go/go-test.json", []),
    ("jest", "jest/jest-junit-file.xml", ["src/flaky.test.js", "src/sum.test.js"]),
    ("vitest", "vitest/vitest-junit.xml", ["src/flaky.test.js", "src/sum.test.js"]),
    ("maven", "maven/surefire-reports/TEST-com.acme.CalcTest$Negative.xml", ["com.acme.CalcTest"]),
    ("maven", "maven/surefire-reports/TEST-com.acme.FlakyTest.xml", ["com.acme.FlakyTest"]),
    ("gradle", "gradle/TEST-com.acme.BarTest.xml", ["com.acme.BarTest"]),
    ("cypress", "cypress/mocha-junit.xml", ["cypress/e2e/login.cy.js"]),
    ("playwright", "playwright/junit.xml", ["example.spec.ts"]),
    ("rspec", "rspec/rspec.xml", ["spec/models/calc_spec.rb", "spec/string_spec.rb"]),
    ("minitest", "minitest/TEST-CalcTest.xml", ["test/models/calc_test.rb"]),
    ("bazel", "bazel/bazel-testlogs/pkg/calc/calc_test/shard_1_of_2/test.xml", []),
    ("bazel", "bazel/bazel-testlogs/pkg/calc/calc_test/shard_2_of_2/test.xml", []),
    ("bazel", "bazel/bazel-testlogs/pkg/strs/strs_test/test.xml", ["//pkg/strs:strs_test"]),
    ("dotnet", "dotnet/nunit3.xml", ["Acme.Tests.CalcTests", "Acme.Tests.StrTests"]),
    ("dotnet", "dotnet/junit-logger.xml", ["Acme.Tests.CalcTests", "Acme.Tests.StrTests"]),
    ("dotnet", "dotnet/nunit-adapter.trx", ["Acme.Tests.CalcTests", "Acme.Tests.StrTests"]),
    ("cts", "cts/test_result.xml", []),
    ("ctest", "ctest/ctest-junit.xml", ["calc_add", "calc.div", "net_fetch"]),
    ("robot", "robot/xunit.xml", ["Tests.Calc.Add Numbers"]),
    ("gtest", "gtest/gtest.xml", ["CalcTest.Add", "CalcTest.Divide"]),
    ("playwright", "playwright/report.json", ["calc.spec.js", "flaky.spec.js"]),
    ("pytest", "pytest/reportlog-reruns.jsonl", ["tests/test_calc.py::test_add"]),
    ("pytest", "pytest/broken/reportlog.jsonl", ["tests/test_broken.py"]),
    ("cucumber", "cucumber/cucumber-js.json", ["features/calc.feature"]),
    ("flutter", "flutter/machine.jsonl", []),
    ("dart", "flutter/machine.jsonl", []),
]


def cases_in(path: Path) -> int:
    """How many test cases the report holds, counted from its text."""
    text = path.read_text()
    if path.name == "report.json":  # Playwright: a result per project and attempt
        return text.count('"workerIndex"')
    if path.name == "reportlog.jsonl" or path.name.startswith("reportlog-"):
        teardowns = text.count('"when": "teardown"')  # one per attempt of a test
        collect_failed = [
            line
            for line in text.splitlines()
            if '"CollectReport"' in line and '"outcome": "failed"' in line
        ]
        return teardowns + len(collect_failed)
    if path.parent.name == "cucumber":
        return text.count('"type": "scenario"')
    if path.name == "machine.jsonl":  # every testDone but the hidden ones that passed
        done = re.findall(r'^\{"testID":\d+,"result":"(\w+)".*"hidden":(\w+)', text, re.M)
        return sum(1 for result, hidden in done if not (hidden == "true" and result == "success"))
    if path.suffix == ".json":
        return len(re.findall(r'"Action":"(pass|fail|skip)","Package":"[^"]*","Test"', text))
    return len(re.findall(r"<(testcase|test-case|UnitTestResult|Test)\b", text))


def test_every_profile_has_a_fixture() -> None:
    assert {name for name, _, _ in REPORTS} == set(RUNNERS)


@pytest.mark.parametrize(("name", "report", "ids"), REPORTS, ids=[r for _, r, _ in REPORTS])
def test_every_case_is_a_result_with_a_runnable_id(name: str, report: str, ids: list[str]) -> None:
    results = parse_report(RUNS / report, runner=runner(name))
    assert len(results) == cases_in(RUNS / report) > 0
    first_seen = list(dict.fromkeys(r.test_id for r in results))
    assert first_seen[: len(ids)] == ids or set(ids) <= set(first_seen)
    # no two results of one report are the same (id, variant): none overwrites another
    assert len({(r.test_id, r.variant) for r in results}) == len(results)


def test_pytest_ids_are_node_ids_whatever_the_junit_family() -> None:
    def key(report: str) -> set[tuple[str, Outcome]]:
        return {
            (r.test_id, r.outcome) for r in parse_report(RUNS / report, runner=runner("pytest"))
        }

    xunit2 = key("pytest/pytest-xunit2.xml")
    assert xunit2 == key("pytest/pytest-xdist.xml")
    assert ("tests/test_calc.py::TestDivision::test_exact", Outcome.PASSED) in xunit2
    assert ("tests/test_calc.py::test_concat[x y-z]", Outcome.PASSED) in xunit2
    assert ("tests/test_errors.py::test_setup_error", Outcome.ERROR) in xunit2
    assert ("tests/test_calc.py::test_skipped", Outcome.SKIPPED) in xunit2
    collected = runner("pytest").candidates((RUNS / "pytest/collect-only-q.txt").read_text())
    assert {test for test, _ in xunit2} == set(collected.ids)
    assert collected.unrecognized == []  # the summary line is no candidate, and no warning


def test_pytest_reruns_are_variants_of_one_node() -> None:
    results = parse_report(RUNS / "pytest/pytest-legacy-reruns.xml", runner=runner("pytest"))
    flaky = [r for r in results if r.test_id == "tests/test_calc.py::test_flaky"]
    assert [r.variant for r in flaky] == ["#1", "#2"]


def test_go_ids_are_the_same_in_every_report_format() -> None:
    def key(report: str) -> list[tuple[str, str, Outcome]]:
        results = parse_report(RUNS / report, runner=runner("go"))
        return sorted((r.test_id, r.variant, r.outcome) for r in results)

    v1 = key("go/go-junit-report-v1.xml")
    assert v1 == key("go/go-junit-report-v2.xml") == key("go/go-junit-report-v2-json.xml")
    assert v1 == key("go/go-test.json")
    assert ("example.com/sample/calc::TestDiv", "4/2", Outcome.PASSED) in v1
    assert ("example.com/sample/calc::TestFlaky", "", Outcome.FAILED) in v1
    listed = runner("go").candidates((RUNS / "go/go-test-list.txt").read_text())
    assert set(listed.ids) == {test for test, _, _ in v1}
    assert listed.unrecognized == []


def test_go_test_json_keeps_the_failure_output() -> None:
    results = parse_report(RUNS / "go/go-test.json", runner=runner("go"))
    flaky = next(r for r in results if r.test_id.endswith("::TestFlaky"))
    assert "failed on purpose" in flaky.message


def test_jest_default_report_names_no_file_and_says_what_to_set() -> None:
    with pytest.raises(ReportError, match="JEST_JUNIT_ADD_FILE_ATTRIBUTE=true"):
        parse_report(RUNS / "jest/jest-junit-default.xml", runner=runner("jest"))


def test_jest_list_tests_are_relative_spec_files(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(RUNS / "jest")
    listing = re.sub("(?m)^/src/", f"{RUNS}/", (RUNS / "jest/list-tests.txt").read_text())
    assert runner("jest").candidates(listing).ids == [
        "project/src/flaky.test.js",
        "project/src/sum.test.js",
    ]


def test_vitest_list_gives_each_file_once() -> None:
    listed = runner("vitest").candidates((RUNS / "vitest/vitest-list.txt").read_text())
    assert listed.ids == ["src/flaky.test.js", "src/sum.test.js"]


def test_surefire_flaky_and_nested_classes() -> None:
    maven = runner("maven")
    flaky = parse_report(RUNS / "maven/surefire-reports/TEST-com.acme.FlakyTest.xml", runner=maven)
    assert [(r.variant, r.outcome) for r in flaky] == [
        ("alwaysFails", Outcome.ERROR),
        ("passesOnRerun", Outcome.PASSED),
    ]
    calc = parse_report(
        RUNS / "maven/surefire-reports/TEST-com.acme.CalcTest$Negative.xml", runner=maven
    )
    assert "Negative.addsBelowZero" in {r.variant for r in calc}
    sources = maven.candidates((RUNS / "maven/sources.txt").read_text())
    assert sorted(sources.ids) == ["com.acme.CalcTest", "com.acme.FlakyTest"]


def test_gradle_prints_no_blank_or_bracket_of_a_parameterized_name() -> None:
    results = parse_report(RUNS / "gradle/TEST-com.acme.BarTest.xml", runner=runner("gradle"))
    assert {r.test_id for r in results} == {"com.acme.BarTest"}
    assert "add(int, int)[1]" in {r.variant for r in results}
    printed = runner("gradle").format(sorted({r.test_id for r in results}))
    assert printed == "--tests com.acme.BarTest"


def test_cypress_cases_inherit_the_spec_file_of_the_root_suite() -> None:
    results = parse_report(RUNS / "cypress/mocha-junit.xml", runner=runner("cypress"))
    assert {r.test_id for r in results} == {"cypress/e2e/login.cy.js"}
    assert runner("cypress").format(["a.cy.js", "b.cy.js"]) == "a.cy.js,b.cy.js"


def test_playwright_projects_are_repeats_of_the_spec() -> None:
    results = parse_report(RUNS / "playwright/junit.xml", runner=runner("playwright"))
    assert [r.variant for r in results] == [
        "has title chromium",
        "navigation › get started link chromium",
        "has title firefox",
        "navigation › get started link firefox",
    ]
    listed = runner("playwright").candidates((RUNS / "playwright/list.txt").read_text())
    assert listed.ids == ["example.spec.ts", "checkout.spec.ts"]
    assert listed.unrecognized == []


def test_bazel_ids_are_target_labels_not_java_classes() -> None:
    bazel = runner("bazel")
    shards = sorted((RUNS / "bazel/bazel-testlogs/pkg/calc").rglob("test.xml"))
    results = [r for shard in shards for r in parse_report(shard, runner=bazel)]
    assert {r.test_id for r in results} == {"//pkg/calc:calc_test"}
    assert [r.variant for r in results][:2] == [
        "com.acme.CalcTest::testAdd1",
        "com.acme.CalcTest::testDiv1",
    ]
    assert bazel.candidates((RUNS / "bazel/query.txt").read_text()).ids[0] == "//pkg/calc:calc_test"


def test_a_report_outside_bazel_testlogs_is_refused(tmp_path: Path) -> None:
    report = tmp_path / "test.xml"
    report.write_text('<testsuite name="s"><testcase name="t" classname="c"/></testsuite>')
    with pytest.raises(ReportError, match="bazel-testlogs"):
        parse_report(report, runner=runner("bazel"))


def test_dotnet_nunit3_and_the_junit_logger_agree() -> None:
    def key(report: str) -> list[tuple[str, str, Outcome]]:
        results = parse_report(RUNS / report, runner=runner("dotnet"))
        return [(r.test_id, r.variant, r.outcome) for r in results]

    assert key("dotnet/nunit3.xml") == key("dotnet/junit-logger.xml")


def test_ctest_and_robot_subsets() -> None:
    assert runner("ctest").candidates((RUNS / "ctest/ctest-N.txt").read_text()).ids == [
        "calc_add",
        "calc.div",
        "net_fetch",
    ]
    assert runner("ctest").format(["calc.div"]) == r"-R ^(calc\.div)$"
    robot = parse_report(RUNS / "robot/xunit.xml", runner=runner("robot"))
    assert robot[1].test_id == "Tests.Calc.Divide Numbers"
    assert robot[1].outcome is Outcome.FAILED


@pytest.mark.parametrize("name", sorted(RUNNERS))
def test_every_subset_survives_an_unquoted_command_substitution(name: str) -> None:
    """The one-line formats pass through `$(...)` unchanged; the others are one id per line,
    for an argument file or `xargs -d '\\n'`."""
    profile = runner(name)
    printed = profile.format([profile.example, profile.example + "2"])
    if "\n" not in printed and name != "robot":
        assert all(re.fullmatch(r"[^\s*?\[]+", word) for word in printed.split(" "))


def test_an_unknown_runner_is_a_usage_error() -> None:
    with pytest.raises(ConfigError, match="--runner must be one of pytest, maven"):
        runner("nose")
