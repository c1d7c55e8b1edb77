"""The runners' own JSON reports (Playwright's JSON reporter, pytest-reportlog, Cucumber JSON,
the test package's JSON reporter of `flutter test --machine`), on fixtures the real tools
wrote (the Flutter one by hand, after the protocol's documentation): what each result says,
and the same ids as the runner's JUnit report of the same run."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from pts.client.junit_reports import parse_report
from pts.client.runners import runner
from pts.core.errors import ReportError
from pts.core.events import Outcome

RUNS = Path(__file__).resolve().parent.parent / "fixtures" / "runners"


def test_playwright_json_keeps_every_project_and_retry() -> None:
    results = parse_report(RUNS / "playwright/report.json", runner=runner("playwright"))
    attempts = [
        (result["status"], test["projectName"])
        for suite in json.loads((RUNS / "playwright/report.json").read_text())["suites"]
        for spec in [
            *suite["specs"],
            *(s for child in suite.get("suites", []) for s in child["specs"]),
        ]
        for test in spec["tests"]
        for result in test["results"]
    ]
    assert len(results) == len(attempts) == 16
    by_variant = {(r.test_id, r.variant): r for r in results}
    assert by_variant["calc.spec.js", "division › by zero is refused beta retry #1"].outcome is (
        Outcome.FAILED
    )
    first, retry = (
        by_variant["flaky.spec.js", f"passes on retry alpha{suffix}"]
        for suffix in ("", " retry #1")
    )
    assert (first.outcome, retry.outcome) == (Outcome.FAILED, Outcome.PASSED)
    assert first.message.startswith("Error: expect(received).toBe(expected)")  # no colour codes
    assert "\x1b" not in first.message
    assert by_variant["calc.spec.js", "not yet alpha"].outcome is Outcome.SKIPPED
    assert 0 < by_variant["calc.spec.js", "adds alpha"].duration_s < 1


def test_playwright_json_and_junit_of_one_run_give_the_same_ids() -> None:
    json_ids = parse_report(RUNS / "playwright/report.json", runner=runner("playwright"))
    junit_ids = parse_report(RUNS / "playwright/junit-project.xml", runner=runner("playwright"))
    # JUnit has the last attempt of each test: the same ids and, but for retries, variants
    assert {r.test_id for r in json_ids} == {r.test_id for r in junit_ids}
    retries = {r.variant for r in json_ids if "retry #" in r.variant}
    assert {r.variant for r in json_ids} - retries == {r.variant for r in junit_ids}


def test_a_playwright_spec_that_does_not_load_is_its_files_failure() -> None:
    [result] = parse_report(RUNS / "playwright/broken/report.json", runner=runner("playwright"))
    assert (result.test_id, result.name, result.outcome) == ("broken.spec.js", "", Outcome.FAILED)
    assert "Cannot find module './missing-module'" in result.message
    # the JUnit report of the same run holds nothing at all: the run broke
    junit = parse_report(RUNS / "playwright/broken/junit.xml", runner=runner("playwright"))
    assert junit == []


def test_reportlog_gives_the_ids_and_outcomes_of_pytests_junit_report() -> None:
    pytest_profile = runner("pytest")
    junit = parse_report(RUNS / "pytest/pytest-xunit2.xml", runner=pytest_profile)
    reportlog = parse_report(RUNS / "pytest/reportlog.jsonl", runner=pytest_profile)
    assert len(reportlog) == len(junit) == 9
    assert {(r.test_id, r.outcome) for r in reportlog} == {(r.test_id, r.outcome) for r in junit}
    setup_error = next(r for r in reportlog if r.test_id.endswith("test_setup_error"))
    assert (setup_error.outcome, setup_error.message) == (
        Outcome.ERROR,
        "RuntimeError: fixture broke",
    )
    skipped = next(r for r in reportlog if r.test_id.endswith("test_skipped"))
    assert skipped.message == "Skipped: not on this machine"


def test_reportlog_reruns_are_results_of_one_node() -> None:
    results = parse_report(RUNS / "pytest/reportlog-reruns.jsonl", runner=runner("pytest"))
    per_node = Counter(r.test_id for r in results)
    assert per_node["tests/test_calc.py::test_flaky"] == 2
    assert per_node["tests/test_errors.py::test_setup_error"] == 2
    flaky = [r for r in results if r.test_id == "tests/test_calc.py::test_flaky"]
    assert [r.variant for r in flaky] == ["#1", "#2"]  # as pytest's JUnit report's reruns
    assert all(r.outcome is Outcome.FAILED for r in flaky)


def test_a_module_that_did_not_import_is_its_own_failure_in_reportlog() -> None:
    profile = runner("pytest")
    reportlog = parse_report(RUNS / "pytest/broken/reportlog.jsonl", runner=profile)
    junit = parse_report(RUNS / "pytest/broken/xunit2.xml", runner=profile)
    assert {(r.test_id, r.outcome) for r in reportlog} == {(r.test_id, r.outcome) for r in junit}
    broken = next(r for r in reportlog if r.test_id == "tests/test_broken.py")
    assert broken.name == "" and "ModuleNotFoundError" in broken.message


def test_cucumber_scenarios_are_results_of_their_feature_file() -> None:
    results = parse_report(RUNS / "cucumber/cucumber-js.json", runner=runner("cucumber"))
    outcomes = {(r.test_id, r.variant): r.outcome for r in results}
    assert outcomes == {
        ("features/calc.feature", "Adding"): Outcome.PASSED,
        ("features/calc.feature", "Dividing by zero"): Outcome.FAILED,
        ("features/calc.feature", "Multiplying #1"): Outcome.PASSED,  # the outline's rows
        ("features/calc.feature", "Multiplying #2"): Outcome.FAILED,
        ("features/calc.feature", "Square roots"): Outcome.SKIPPED,  # undefined steps
        ("features/history.feature", "Undoing"): Outcome.SKIPPED,  # a pending step
        ("features/history.feature", "Clearing"): Outcome.SKIPPED,  # a skipped step
    }
    failed = next(r for r in results if r.variant == "Dividing by zero")
    assert failed.message.startswith("AssertionError")


def test_flutter_machine_output_hides_the_runners_own_tests(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # flutter writes absolute paths: ids are relative to where it ran
    text = (
        (RUNS / "flutter/machine.jsonl").read_text().replace("/src/flutter/project", str(tmp_path))
    )
    (tmp_path / "machine.jsonl").write_text(text)
    monkeypatch.chdir(tmp_path)
    results = parse_report(tmp_path / "machine.jsonl", runner=runner("flutter"))
    assert [(r.test_id, r.variant, r.outcome) for r in results] == [
        ("test/calc_test.dart", "adds", Outcome.PASSED),
        ("test/calc_test.dart", "division exact", Outcome.PASSED),
        ("test/calc_test.dart", "division by zero", Outcome.FAILED),
        ("test/calc_test.dart", "rounds", Outcome.SKIPPED),
        ("test/calc_test.dart", "parses", Outcome.ERROR),
        ("test/widget_test.dart", "Counter increments smoke test", Outcome.PASSED),
        ("test/broken_test.dart", "", Outcome.FAILED),  # it did not compile
    ]
    assert results[2].message.startswith("Expected: <0>")
    assert "Compilation failed" in results[-1].message
    files = list(dict.fromkeys(r.test_id for r in results))
    assert runner("flutter").format(files) == "\n".join(files)  # `flutter test` takes files


def test_a_flutter_test_that_fails_after_it_completed_is_failed(tmp_path: Path) -> None:
    events = [
        {"protocolVersion": "0.1.1", "type": "start", "time": 0},
        {"suite": {"id": 0, "platform": "vm", "path": "test/a_test.dart"}, "type": "suite"},
        {"test": {"id": 1, "name": "late", "suiteID": 0, "groupIDs": [2]}, "type": "testStart"},
        {"testID": 1, "result": "success", "hidden": False, "type": "testDone", "time": 5},
        {"testID": 1, "error": "oh no", "isFailure": False, "type": "error", "time": 6},
        {
            "test": {"id": 3, "name": "(tearDownAll)", "suiteID": 0, "groupIDs": [2]},
            "type": "testStart",
        },  # fmt: skip
        {"testID": 3, "result": "success", "hidden": True, "type": "testDone", "time": 7},
        {"testID": 3, "error": "closed twice", "isFailure": False, "type": "error", "time": 8},
    ]
    report = tmp_path / "late.json"
    report.write_text("".join(json.dumps(event) + "\n" for event in events))
    results = parse_report(report, runner=runner("dart"))
    assert [(r.test_id, r.name, r.outcome, r.message) for r in results] == [
        ("test/a_test.dart", "late", Outcome.ERROR, "oh no"),
        ("test/a_test.dart", "", Outcome.FAILED, "closed twice"),  # the hidden one, shown
    ]


@pytest.mark.parametrize(
    ("fixture", "reason"),
    [
        ("playwright/report.json", "not a Playwright JSON report"),
        ("cucumber/cucumber-js.json", "not a Cucumber JSON report"),
        ("pytest/reportlog.jsonl", "not a pytest-reportlog line"),
        ("flutter/machine.jsonl", "line"),
    ],
)
def test_a_report_cut_short_is_one_error_naming_it(
    tmp_path: Path, fixture: str, reason: str
) -> None:
    """The runner crashed while it wrote the report: it ends in the middle of a line."""
    report = tmp_path / Path(fixture).name
    text = (RUNS / fixture).read_text()
    report.write_text(text[: len(text) // 2])
    with pytest.raises(ReportError, match=reason) as raised:
        parse_report(report, runner=runner("pytest"))
    assert str(report) in str(raised.value) and "\n" not in str(raised.value)


def test_cucumber_jvm_gives_the_outcomes_of_cucumber_js_under_its_classpath_uris() -> None:
    js = parse_report(RUNS / "cucumber/cucumber-js.json", runner=runner("cucumber"))
    jvm = parse_report(RUNS / "cucumber/cucumber-jvm.json", runner=runner("cucumber"))
    scenarios = (RUNS / "cucumber/cucumber-jvm.json").read_text().count('"type":"scenario"')
    assert len(jvm) == scenarios == len(js)  # its background elements are no results
    assert [(r.test_id.removeprefix("classpath:"), r.variant, r.outcome) for r in jvm] == [
        (r.test_id, r.variant, r.outcome) for r in js
    ]


def test_a_cucumber_jvm_background_that_failed_fails_its_scenario(tmp_path: Path) -> None:
    features = json.loads((RUNS / "cucumber/cucumber-jvm.json").read_text())
    history = next(f for f in features if f["uri"].endswith("history.feature"))
    background = next(e for e in history["elements"] if e["type"] == "background")
    background["steps"][0]["result"] = {"status": "failed", "error_message": "no calculator"}
    report = tmp_path / "cucumber.json"
    report.write_text(json.dumps(features))
    results = parse_report(report, runner=runner("cucumber"))
    assert [(r.variant, r.outcome, r.message) for r in results if "history" in r.test_id] == [
        ("Undoing", Outcome.FAILED, "no calculator"),  # the background before it failed
        ("Clearing", Outcome.SKIPPED, "skipped"),
    ]


@pytest.mark.skipif(
    importlib.util.find_spec("pytest_reportlog") is None, reason="pytest-reportlog missing"
)
def test_a_directory_whose_conftest_fails_has_the_id_pytests_junit_report_gives(
    tmp_path: Path,
) -> None:
    (tmp_path / "pytest.ini").write_text("[pytest]\naddopts = -p no:cacheprovider\n")
    (tmp_path / "tests" / "sub").mkdir(parents=True)
    (tmp_path / "tests" / "test_a.py").write_text("def test_a():\n    pass\n")
    (tmp_path / "tests" / "sub" / "conftest.py").write_text("import nothing_here\n")
    (tmp_path / "tests" / "sub" / "test_b.py").write_text("def test_b():\n    pass\n")
    subprocess.run(
        [sys.executable, "-m", "pytest", "--report-log=r.jsonl", "--junitxml=j.xml"],
        cwd=tmp_path,
        capture_output=True,
        timeout=120,
    )
    profile = runner("pytest")
    from_reportlog = parse_report(tmp_path / "r.jsonl", runner=profile)
    from_junit = parse_report(tmp_path / "j.xml", runner=profile)
    assert [(r.test_id, r.outcome) for r in from_reportlog] == [
        (r.test_id, r.outcome) for r in from_junit
    ]
    assert from_reportlog[0].outcome is Outcome.ERROR
