"""The pytest plugin's safety nets and fallback on the real broker and worker: pytest runs in a
subprocess on a generated project of 21 tests, of which one always fails, and its JUnit report
says what really ran.

At cold start the worker answers in the order given, so `--pts-target 20%` runs the first 4
collected tests (4 s of 21 s: each unknown test counts 1 s).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from pts.client.junit_reports import parse_report
from pts.client.runners import runner
from pts.core.events import Outcome
from tests.conftest import RunningWorker, run_pts, run_pytest, wait_until

pytestmark = pytest.mark.integration

TESTS = 21
FAILING = "tests/test_pool.py::test_02"  # among the 4 a cold start runs
LAST = "tests/test_pool.py::test_20"  # never among them


def pool_project(tmp_path: Path) -> Path:
    """21 tests, test_00 to test_20, in collection order; test_02 always fails."""
    project = tmp_path / "pool"
    (project / "tests").mkdir(parents=True)
    (project / "pytest.ini").write_text(
        "[pytest]\n# Its own rootdir: pts's conftest and settings stay out.\n"
        "addopts = -p no:cacheprovider\n"
    )
    (project / "tests" / "test_pool.py").write_text(
        "\n\n".join(f"def test_{i:02d}():\n    assert {i} != 2\n" for i in range(TESTS))
    )
    return project


def outcomes(report: Path) -> dict[str, Outcome]:
    """What really ran, by node id, from pytest's JUnit report."""
    return {r.test_id: r.outcome for r in parse_report(report, runner=runner("pytest"))}


def summary(result: subprocess.CompletedProcess[str]) -> str:
    """The plugin's `pts: running X of Y tests (...)` line."""
    lines = [line for line in result.stdout.splitlines() if line.startswith("pts: running")]
    assert len(lines) == 1, result.stdout
    return lines[0]


def learned(worker: RunningWorker, project: str) -> int:
    return worker.get("/health")["projects"].get(project, {}).get("results_learned", 0)


def asked(project: str, build: str, *nets: str) -> list[str]:
    return ["--pts-project", project, "--pts-build", build, "--pts-target", "20%",
            f"--junitxml={build}.xml", *nets]  # fmt: skip


def test_a_test_that_failed_runs_in_the_next_build_among_17_unrun_ones(
    pts_worker: RunningWorker, tmp_path: Path
) -> None:
    env, project = pts_worker.env, pool_project(tmp_path)
    first = run_pytest(project, env, *asked("nets-failed", "b1"))
    assert first.returncode == pytest.ExitCode.TESTS_FAILED, first.stdout
    ran = outcomes(project / "b1.xml")
    assert len(ran) == 4 and ran[FAILING] is Outcome.FAILED, ran
    assert "pts: running 4 of 21 tests (" in summary(first)
    assert "pts: recorded 4 test results of build b1" in first.stdout
    assert wait_until(lambda: learned(pts_worker, "nets-failed") == 4, timeout_s=120)

    second = run_pytest(project, env, *asked("nets-failed", "b2"))
    ran = outcomes(project / "b2.xml")
    assert ran[FAILING] is Outcome.FAILED, second.stdout  # it ran, and failed again
    assert len(ran) < TESTS  # a subset: the 17 others did not all come back as new
    assert second.returncode == pytest.ExitCode.TESTS_FAILED
    assert f"pts: running {len(ran)} of 21 tests (" in summary(second)


def test_must_run_adds_a_test_the_ranking_leaves_out(
    pts_worker: RunningWorker, tmp_path: Path
) -> None:
    env, project = pts_worker.env, pool_project(tmp_path)
    result = run_pytest(project, env, *asked("nets-must-run", "b1", "--pts-must-run", "*::test_2?"))
    ran = outcomes(project / "b1.xml")
    assert set(ran) == {f"tests/test_pool.py::test_{i:02d}" for i in (0, 1, 2, 3, 20)}
    assert ran[LAST] is Outcome.PASSED
    line = summary(result)
    assert line.startswith("pts: running 5 of 21 tests (")
    assert line.endswith("; 1 added by safety nets: must-run 1"), line

    # The answer the history keeps says why the test was in the subset.
    sql = (
        f"SELECT subset_size, reasons[indexOf(ranked, '{LAST}')] AS reason "
        "FROM pts.subset_responses WHERE project = 'nets-must-run'"
    )
    rows: list[dict] = []

    def answer_stored() -> bool:
        queried = run_pts(env, "query", sql)
        assert queried.returncode == 0, queried.stderr
        rows[:] = [json.loads(line) for line in queried.stdout.splitlines()]
        return bool(rows)

    assert wait_until(answer_stored, timeout_s=120)
    assert rows == [{"subset_size": 5, "reason": "must-run"}]


def test_the_tests_starved_for_a_build_run(pts_worker: RunningWorker, tmp_path: Path) -> None:
    env, project = pts_worker.env, pool_project(tmp_path)
    run_pytest(project, env, *asked("nets-starved", "b1"))
    assert len(outcomes(project / "b1.xml")) == 4
    assert wait_until(lambda: learned(pts_worker, "nets-starved") == 4, timeout_s=120)
    # One build without a result starves a test: every test the ranking leaves out runs.
    result = run_pytest(project, env, *asked("nets-starved", "b2", "--pts-starve-after-builds=1"))
    assert len(outcomes(project / "b2.xml")) == TESTS
    line = summary(result)
    assert line.startswith("pts: running 21 of 21 tests (")
    assert " added by safety nets: starved " in line, line


def test_a_full_run_on_a_release_branch_runs_everything(
    pts_worker: RunningWorker, tmp_path: Path
) -> None:
    env, project = pts_worker.env, pool_project(tmp_path)
    on_branches = ["--pts-full-run-on", "main", "--pts-full-run-on", "release/*"]
    release = run_pytest(project, env, *asked("nets-full-run", "b1", *on_branches,
                                              "--pts-branch", "release/2"))  # fmt: skip
    assert len(outcomes(project / "b1.xml")) == TESTS
    assert summary(release).endswith("; 17 added by safety nets: full-run 17")
    feature = run_pytest(project, env, *asked("nets-full-run", "b2", *on_branches,
                                              "--pts-branch", "feature/x"))  # fmt: skip
    assert len(outcomes(project / "b2.xml")) < TESTS
    assert "added by safety nets" not in summary(feature)


@pytest.fixture(params=["no broker", "no worker"])
def unanswered_env(
    request: pytest.FixtureRequest, pts_env: dict[str, str], unreachable_bootstrap: str
) -> dict[str, str]:
    """No answer can come: no broker listens, or no worker reads the topics of this prefix."""
    env = {**pts_env, "PTS_SUBSET_TIMEOUT_S": "3", "PTS_RECORD_TIMEOUT_S": "2"}
    if request.param == "no broker":
        return {**env, "PTS_KAFKA_BOOTSTRAP": unreachable_bootstrap}
    return {**env, "PTS_TOPIC_PREFIX": f"{pts_env['PTS_TOPIC_PREFIX']}-unread"}


@pytest.mark.parametrize("xdist", [[], ["-n", "2"]], ids=["plain", "xdist"])
def test_fallback_fail_stops_before_any_test_runs(
    unanswered_env: dict[str, str], tmp_path: Path, xdist: list[str]
) -> None:
    project = pool_project(tmp_path)
    result = run_pytest(
        project, unanswered_env, *asked("p", "b1", "--pts-fallback", "fail"), *xdist
    )
    assert result.returncode == pytest.ExitCode.INTERRUPTED, result.stdout
    assert outcomes(project / "b1.xml") == {}  # no test ran
    assert "no tests ran" in result.stdout
    assert "pts: error: could not choose a subset (" in result.stdout
    assert "); no test ran (--pts-fallback fail)" in result.stdout
    assert "pts: no subset: " in result.stdout  # the reason pytest stops with


def test_by_default_every_test_runs_when_pts_cannot_answer(
    unanswered_env: dict[str, str], tmp_path: Path
) -> None:
    project = pool_project(tmp_path)
    result = run_pytest(project, unanswered_env, *asked("p", "b1"))
    assert result.returncode == pytest.ExitCode.TESTS_FAILED, result.stdout  # test_02's own
    assert len(outcomes(project / "b1.xml")) == TESTS
    assert "1 failed, 20 passed" in result.stdout
    assert "pts: could not choose a subset (" in result.stdout
    assert f"running all {TESTS} tests" in result.stdout
