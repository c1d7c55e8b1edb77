"""End to end on real parts: `pts record` -> Kafka -> `pts worker` (faust, River, chdb) ->
`pts subset` answered over the request/reply topics, and the rows in ClickHouse."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import RunningWorker, run_pts, start_worker

pytestmark = pytest.mark.integration

REPORT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" tests="3" failures="{failures}">
<testcase classname="tests.test_calc" name="test_add" time="0.50">{add_outcome}</testcase>
<testcase classname="tests.test_calc" name="test_mul" time="2.00"/>
<testcase classname="tests.test_io" name="test_read" time="4.00"/>
</testsuite></testsuites>
"""


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


def commit_file(repo: Path, path: str, text: str, message: str) -> None:
    (repo / path).parent.mkdir(parents=True, exist_ok=True)
    (repo / path).write_text(text)
    git(repo, "add", path)
    git(repo, "commit", "-q", "-m", message)


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = tmp_path_factory.mktemp("repo")
    git(repo, "init", "-q")
    git(repo, "config", "user.email", "ci@example.com")
    git(repo, "config", "user.name", "CI")
    commit_file(repo, "src/calc.py", "def add(a, b):\n    return a + b\n", "calc")
    return repo


def wait_for_rows(worker: RunningWorker, sql: str, expected: int, timeout_s: float = 60) -> int:
    count = -1
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        result = run_pts(worker.env, "query", sql)
        assert result.returncode == 0, result.stderr
        count = json.loads(result.stdout.splitlines()[0])["n"]
        if count == expected:
            return count
        time.sleep(1)
    return count


def record_build_and_report(
    env: dict[str, str], repo: Path, build: str, add_fails: bool, tmp_path: Path
) -> None:
    recorded = run_pts(env, "record", "build", "-p", "shop", "-b", build, "--repo", str(repo))
    assert recorded.returncode == 0, recorded.stderr
    report = tmp_path / f"report-{build}.xml"
    report.write_text(
        REPORT.format(
            failures=int(add_fails),
            add_outcome='<failure message="assert 3 == 4">boom</failure>' if add_fails else "",
        )
    )
    recorded = run_pts(env, "record", "tests", "-p", "shop", "-b", build, str(report))
    assert recorded.returncode == 0, recorded.stderr
    assert "recorded 3 test results" in recorded.stderr


def test_record_learn_subset_and_history(
    pts_worker: RunningWorker, repo: Path, tmp_path: Path
) -> None:
    env = pts_worker.env
    record_build_and_report(env, repo, "b1", add_fails=True, tmp_path=tmp_path)
    commit_file(repo, "src/calc.py", "def add(a, b):\n    return a - b\n", "break add")
    record_build_and_report(env, repo, "b2", add_fails=True, tmp_path=tmp_path)
    commit_file(repo, "src/io.py", "def read():\n    pass\n", "io")
    recorded = run_pts(env, "record", "build", "-p", "shop", "-b", "b3", "--repo", str(repo))
    assert recorded.returncode == 0, recorded.stderr

    candidates = (
        "tests.test_io::test_read\ntests.test_calc::test_mul\n"
        "tests.test_calc::test_add\ntests.test_new::test_brand_new\n"
    )
    rest = tmp_path / "rest.txt"
    answer = run_pts(
        env,
        "subset",
        "-p",
        "shop",
        "-b",
        "b3",
        "--target",
        "40%",
        "--rest",
        str(rest),
        "--explain",
        stdin=candidates,
    )
    assert answer.returncode == 0, answer.stderr
    subset = answer.stdout.split()
    # The test that failed in its last run first (it is cheap, too), above anything new.
    assert subset[0] == "tests.test_calc::test_add"
    assert "tests.test_new::test_brand_new" in subset  # new: ranked by its chance, and cheap
    assert sorted(subset + rest.read_text().split()) == sorted(candidates.split())
    assert "tests.test_io::test_read" in rest.read_text().split()  # expensive, never failed
    # The champion for a time target, at first the model in its per-second order, after
    # learning both builds' 6 results.
    assert "(ranker learned/s@6)" in answer.stderr

    # Everything landed in ClickHouse, queried through the worker that owns chdb.
    n_results = "SELECT count() AS n FROM pts.test_results WHERE project = 'shop'"
    assert wait_for_rows(pts_worker, n_results, 6) == 6
    n_failed = (
        "SELECT count() AS n FROM pts.test_results WHERE project = 'shop' "
        "AND outcome = 'failed' AND test_id = 'tests.test_calc::test_add'"
    )
    assert wait_for_rows(pts_worker, n_failed, 2) == 2
    n_builds = "SELECT count() AS n FROM pts.builds WHERE project = 'shop'"
    assert wait_for_rows(pts_worker, n_builds, 3) == 3
    n_answers = "SELECT count() AS n FROM pts.subset_responses WHERE project = 'shop'"
    assert wait_for_rows(pts_worker, n_answers, 1) == 1
    changed = run_pts(
        env,
        "query",
        "SELECT changed_files FROM pts.builds FINAL WHERE project = 'shop' AND build_id = 'b2'",
    )
    assert "src/calc.py" in changed.stdout

    health = pts_worker.get("/health")
    assert health["projects"]["shop"]["results_learned"] == 6

    # A saved query, its project filled in by the worker: test_add failed in both builds.
    saved = run_pts(env, "query", "failure-rates", "--project", "shop")
    assert saved.returncode == 0, saved.stderr
    [failing] = [json.loads(line) for line in saved.stdout.splitlines()]
    assert (failing["test_id"], failing["runs"], failing["failure_rate"]) == (
        "tests.test_calc::test_add",
        2,
        1.0,
    )
    assert run_pts(env, "query", "failure-rates", "--project", "elsewhere").stdout == ""
    listed = run_pts(env, "query", "--list")
    assert "subset-quality" in listed.stdout and "flaky-tests" in listed.stdout

    # What the model predicted before learning each result is history too.
    n_predictions = "SELECT count() AS n FROM pts.predictions WHERE project = 'shop'"
    assert wait_for_rows(pts_worker, n_predictions, 6) == 6
    quality = run_pts(env, "query", "model-quality-by-week", "-p", "shop")
    [week] = [json.loads(line) for line in quality.stdout.splitlines()]
    assert (week["results"], week["failures"]) == (6, 2)
    bands = run_pts(env, "query", "model-quality", "-p", "shop")  # the calibration table
    rows = [json.loads(line) for line in bands.stdout.splitlines()]
    assert sum(r["results"] for r in rows) == 6 and sum(r["failures"] for r in rows) == 2

    # Nothing is left behind: the model and the history loader have read every message.
    assert wait_for_no_lag(pts_worker) == {
        "model": {"builds": 0, "test-results": 0, "subset-requests": 0},
        "history": {
            "commits": 0,
            "builds": 0,
            "test-results": 0,
            "subset-responses": 0,
            "predictions": 0,
            "champion-decisions": 0,
        },
    }
    status = run_pts(env, "status")
    assert status.returncode == 0, status.stderr
    assert "model lag: caught up" in status.stdout and "history lag: caught up" in status.stdout
    assert "  shop: 6 results learned, model logistic@6" in status.stdout
    # This worker is the group's only member: it owns every partition.
    assert "partitions 0, 1, 2 (restored with" in status.stdout  # PTS_PARTITIONS=3


def wait_for_no_lag(worker: RunningWorker, timeout_s: float = 30) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        lag = worker.get("/lag")
        settled = all(n == 0 for reader in lag.values() for n in reader.values())
        if settled or time.monotonic() > deadline:
            return lag
        time.sleep(0.5)


def test_unknown_project_gets_the_cold_start_answer(pts_worker: RunningWorker) -> None:
    answer = run_pts(
        pts_worker.env,
        "subset",
        "-p",
        "never-seen",
        "-b",
        "1",
        "--target",
        "50%",
        stdin="a\nb\nc\nd\n",
    )
    assert answer.returncode == 0, answer.stderr
    assert answer.stdout.split() == ["a", "b"]  # the first half of the list, as given
    assert "(ranker cold-start)" in answer.stderr


def test_restart_restores_the_model_without_learning_twice(pts_worker: RunningWorker) -> None:
    """Runs last in this module: it stops the module's worker."""
    before = pts_worker.get("/health")["projects"]["shop"]["results_learned"]
    pts_worker.stop()  # its last snapshot round runs as it stops
    restarted = start_worker(pts_worker.env, pts_worker.log)
    try:
        # A subset answer waits until the worker caught up with the topics after its restart.
        answer = run_pts(
            pts_worker.env,
            "subset",
            "-p",
            "shop",
            "-b",
            "b3",
            "--target",
            "90%c",
            stdin="tests.test_calc::test_add\ntests.test_io::test_read\n",
        )
        assert answer.returncode == 0, answer.stderr
        assert answer.stdout.split()[0] == "tests.test_calc::test_add"
        health = restarted.get("/health")
        assert health["projects"]["shop"]["results_learned"] == before
        # ...restored from the snapshot topic, not learned again from the start
        assert sum(p["restored_results"] for p in health["partitions"].values()) == before
    finally:
        restarted.stop()
        pts_worker.process = restarted.process
