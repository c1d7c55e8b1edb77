"""`pts subset` never blocks a build, and every other command fails in one clear line.

Whatever goes wrong once the candidates are read, `pts subset` prints them all and exits 0;
a candidates file it cannot read is a warning, nothing printed and exit code 0 (with
`--fallback fail`, a one-line error with exit code 1).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import FIXTURES_JUNIT, RunningWorker, run_pts

pytestmark = pytest.mark.integration

CANDIDATES = "tests.test_calc::test_add\n\n# a comment\ntests.test_calc::test_mul\n"
TESTS = ["tests.test_calc::test_add", "tests.test_calc::test_mul"]


def subset(env: dict[str, str], *args: str, stdin: str = CANDIDATES):
    return run_pts(env, "subset", "-p", "shop", "-b", "1", "--target", "50%", *args, stdin=stdin)


def assert_one_line_error(result, exit_code: int, text: str) -> None:
    assert result.returncode == exit_code
    assert "Traceback" not in result.stderr
    assert text in result.stderr


def test_a_missing_candidates_file_is_a_warning_or_with_fallback_fail_an_error(
    pts_env: dict[str, str],
) -> None:
    result = subset(pts_env, "no-such-file.txt")
    assert_one_line_error(result, 0, "cannot read the candidate tests from no-such-file.txt")
    assert "pts: warning: " in result.stderr and "run every test" in result.stderr
    assert result.stdout == ""
    result = subset(pts_env, "no-such-file.txt", "--fallback", "fail")
    assert_one_line_error(result, 1, "cannot read the candidate tests from no-such-file.txt")
    assert "pts: error: " in result.stderr and result.stdout == ""


@pytest.mark.parametrize(
    ("kafka_config", "reason"),
    [
        ("{not json", "PTS_KAFKA_CONFIG is not valid JSON"),
        ('{"bogus.key": "1"}', "No such configuration property"),
    ],
)
def test_a_bad_setting_still_prints_every_candidate(
    pts_env: dict[str, str], kafka_config: str, reason: str
) -> None:
    result = subset({**pts_env, "PTS_KAFKA_CONFIG": kafka_config})
    assert result.returncode == 0
    assert result.stdout.split() == TESTS  # blank lines and comments are not test ids
    assert reason in result.stderr and "running all 2 tests" in result.stderr


def test_no_candidates_print_nothing(pts_env: dict[str, str]) -> None:
    result = subset({**pts_env, "PTS_SUBSET_TIMEOUT_S": "2"}, stdin="\n# nothing here\n")
    assert result.returncode == 0
    assert result.stdout == ""


def test_other_commands_report_a_bad_setting_in_one_line(pts_env: dict[str, str]) -> None:
    report = str(FIXTURES_JUNIT / "pytest.xml")
    result = run_pts(
        {**pts_env, "PTS_LOG_LEVEL": "loud"}, "record", "tests", "-p", "x", "-b", "1", report
    )
    assert_one_line_error(result, 2, "invalid settings: PTS_LOG_LEVEL")


def test_recording_without_topics_says_to_create_them(pts_env: dict[str, str]) -> None:
    env = {**pts_env, "PTS_TOPIC_PREFIX": "never-created", "PTS_RECORD_TIMEOUT_S": "3"}
    report = str(FIXTURES_JUNIT / "pytest.xml")
    result = run_pts(env, "record", "tests", "-p", "x", "-b", "1", report)
    assert_one_line_error(result, 3, "has no topic never-created.test-results")
    assert "`pts topics`" in result.stderr


def test_query_names_and_placeholders_are_checked(pts_env: dict[str, str]) -> None:
    unknown = run_pts(pts_env, "query", "flaky")
    assert_one_line_error(unknown, 2, "no saved query is named 'flaky'")
    unused = run_pts(pts_env, "query", "SELECT 1 AS one", "-p", "shop")
    assert_one_line_error(unused, 2, "the SQL has no such placeholder")


def test_an_unwritable_rest_file_means_running_everything(
    pts_worker: RunningWorker, tmp_path: Path
) -> None:
    result = subset(pts_worker.env, "--rest", str(tmp_path / "no-such-dir" / "rest.txt"))
    assert result.returncode == 0
    assert result.stdout.split() == TESTS
    assert "No such file or directory" in result.stderr


def test_candidates_that_match_no_recorded_id_are_warned_about(
    pts_worker: RunningWorker,
) -> None:
    env = pts_worker.env
    report = str(FIXTURES_JUNIT / "pytest.xml")
    recorded = run_pts(env, "record", "tests", "-p", "ids", "-b", "1", report)
    assert recorded.returncode == 0, recorded.stderr
    by_path = "tests/test_calc.py::test_add\ntests/test_calc.py::test_mul\n"
    answer = run_pts(env, "subset", "-p", "ids", "-b", "2", "--target", "50%", stdin=by_path)
    assert answer.returncode == 0
    assert "none of the 2 candidates (e.g. 'tests/test_calc.py::test_add')" in answer.stderr
    known = json.loads(
        run_pts(env, "query", "SELECT any(test_id) AS t FROM pts.test_results").stdout
    )["t"]
    again = run_pts(env, "subset", "-p", "ids", "-b", "2", "--target", "50%", stdin=known)
    assert "none of the" not in again.stderr


def test_every_bad_report_is_named(pts_env: dict[str, str]) -> None:
    reports = [
        str(FIXTURES_JUNIT / name) for name in ("truncated.xml", "pytest.xml", "not_junit.xml")
    ]
    result = run_pts(pts_env, "record", "tests", "-p", "x", "-b", "1", "--dry-run", *reports)
    assert_one_line_error(result, 2, "2 bad reports, not published")
    assert "truncated.xml:9:" in result.stderr and "not_junit.xml:2:" in result.stderr
    assert result.stdout.count('"kind": "test_result"') == 7  # the good report's results


def test_status_without_a_worker_exits_3(pts_env: dict[str, str]) -> None:
    result = run_pts({**pts_env, "PTS_WORKER_HTTP_PORT": "1"}, "status")
    assert_one_line_error(result, 3, "no worker answers at http://127.0.0.1:1/health")


def test_subsets_in_a_runners_format(pts_worker: RunningWorker, tmp_path: Path) -> None:
    env = pts_worker.env
    report = str(FIXTURES_JUNIT / "surefire.xml")
    assert run_pts(env, "record", "tests", "-p", "mvn", "-b", "1", report).returncode == 0
    candidates = "org.example.FooTest::parsesEmptyInput\norg.example.FooTest::rejectsNegative\n"
    rest = tmp_path / "rest.txt"
    args = ("subset", "-p", "mvn", "-b", "2", "--target", "1%", "--rest", str(rest))
    answer = run_pts(env, *args, "--format", "maven", stdin=candidates)
    assert answer.returncode == 0, answer.stderr
    assert answer.stdout.startswith("-Dtest=org.example.FooTest#")
    assert rest.read_text().startswith("-Dtest=org.example.FooTest#")
    fallback = subset({**env, "PTS_KAFKA_CONFIG": "{"}, "--format", "gradle")
    assert fallback.stdout.strip() == (
        "--tests tests.test_calc.test_add --tests tests.test_calc.test_mul"
    )
    bad = subset(env, "--format", "xml")
    assert_one_line_error(bad, 2, "--format must be one of lines, comma, maven, gradle")
