"""Round trips of Robot Framework, CTest and Google Test on the real tools and the real worker:
list the candidates in the runner's own listing (`robot --dryrun`'s output.xml, `ctest
--show-only=json-v1`, `--gtest_list_tests`), `pts subset --runner`, run exactly the subset,
and record the runner's own report (Robot's output.xml, CTest's Test.xml, Google Test's JSON)
under ids that match.

Each test builds or runs a sample project of `tests/fixtures/runners/` copied to a temporary
folder; it is skipped when its tool is not on this machine.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

import pytest

from pts.client.junit_reports import parse_report
from pts.client.runners import runner
from tests.conftest import RunningWorker
from tests.end_to_end.test_runner_round_trips import explained, ok, record, run, sample, subset

pytestmark = pytest.mark.integration

ROBOT_TESTS = 5  # tests/fixtures/runners/robot/project: 3 in Calc, 2 in Network
CTEST_TESTS = 6  # tests/fixtures/runners/ctest/project/CMakeLists.txt: six add_test
GTEST_TESTS = 6  # tests/fixtures/runners/gtest/project/calc_test.cpp: four, and two instances


def robot(*args: str) -> list[str]:
    return [sys.executable, "-m", "robot", "--log", "NONE", "--report", "NONE", *args]


@pytest.mark.skipif(importlib.util.find_spec("robot") is None, reason="no robotframework")
def test_robot_round_trip(pts_worker: RunningWorker, tmp_path: Path) -> None:
    env = pts_worker.env
    project = sample("robot", tmp_path)
    first = run(robot("--output", "r1.xml", "tests"), project, env)
    assert first.returncode == 3, first.stdout  # Divide fails, and Network's suite setup
    stderr = record(env, "rt-robot", "b1", "--runner", "robot", "r1.xml", cwd=project)
    assert f"recorded {ROBOT_TESTS} test results" in stderr
    ok(run(robot("--dryrun", "--output", "dryrun.xml", "tests"), project, env))
    listing = (project / "dryrun.xml").read_text()
    answer = subset(env, "rt-robot", "b2", "--target", "40%", "--runner", "robot", stdin=listing)
    assert "candidate line" not in answer.stderr
    reasons = explained(answer.stderr)
    assert len(reasons) == ROBOT_TESTS
    assert "new" not in reasons.values()  # every candidate is a recorded id
    lines = answer.stdout.splitlines()
    assert lines and all(line.startswith("--test ") for line in lines)
    chosen = [line.removeprefix("--test ") for line in lines]
    assert 0 < len(chosen) < ROBOT_TESTS
    (project / "subset.txt").write_text(answer.stdout)
    second = run(robot("--argumentfile", "subset.txt", "--output", "r2.xml", "tests"), project, env)
    assert (project / "r2.xml").exists(), second.stdout
    results = parse_report(project / "r2.xml", runner=runner("robot"))
    assert sorted(r.test_id for r in results) == sorted(chosen)
    stderr = record(env, "rt-robot", "b2", "--runner", "robot", "r2.xml", cwd=project)
    assert f"recorded {len(chosen)} test result" in stderr


def cmake_build(project: Path, env: dict[str, str]) -> Path:
    build = project / "build"
    ok(run(["cmake", "-S", ".", "-B", "build"], project, env))
    ok(run(["cmake", "--build", "build"], project, env))
    return build


def last_test_xml(build: Path) -> Path:
    """The Test.xml of the newest `ctest -T Test` (its tag is the first line of Testing/TAG)."""
    tag = (build / "Testing" / "TAG").read_text().splitlines()[0]
    return build / "Testing" / tag / "Test.xml"


@pytest.mark.skipif(
    shutil.which("cmake") is None or shutil.which("ctest") is None, reason="no cmake"
)
def test_ctest_round_trip(pts_worker: RunningWorker, tmp_path: Path) -> None:
    env = pts_worker.env
    build = cmake_build(sample("ctest", tmp_path), env)
    first = run(["ctest", "-T", "Test", "--output-junit", "r1-junit.xml"], build, env)
    assert first.returncode == 8, first.stdout  # calc.div fails, net_dns has no executable
    report = last_test_xml(build)
    stderr = record(env, "rt-ctest", "b1", "--runner", "ctest", str(report), cwd=build)
    assert f"recorded {CTEST_TESTS} test results" in stderr
    junit = parse_report(build / "r1-junit.xml", runner=runner("ctest"))
    dashboard = parse_report(report, runner=runner("ctest"))
    assert [r.test_id for r in junit] == [r.test_id for r in dashboard]
    listing = ok(run(["ctest", "--show-only=json-v1"], build, env)).stdout
    answer = subset(env, "rt-ctest", "b2", "--target", "40%", "--runner", "ctest", stdin=listing)
    reasons = explained(answer.stderr)
    assert len(reasons) == CTEST_TESTS and "new" not in reasons.values()
    option, regex = answer.stdout.strip().split(" ", 1)  # one regex, though a name has a blank
    assert option == "-R" and regex.startswith("^(") and regex.endswith(")$")
    chosen = [t for t in reasons if explained_run(answer.stderr, t)]
    assert 0 < len(chosen) < CTEST_TESTS
    second = run(["ctest", "-T", "Test", "--output-junit", "r2-junit.xml", "-R", regex], build, env)
    assert second.returncode in (0, 8), second.stdout
    results = parse_report(last_test_xml(build), runner=runner("ctest"))
    assert sorted(r.test_id for r in results) == sorted(chosen)
    junit = parse_report(build / "r2-junit.xml", runner=runner("ctest"))
    assert sorted(r.test_id for r in junit) == sorted(chosen)
    stderr = record(
        env, "rt-ctest", "b2", "--runner", "ctest", str(last_test_xml(build)), cwd=build
    )
    assert f"recorded {len(chosen)} test result" in stderr


def explained_run(stderr: str, test: str) -> bool:
    """Whether --explain marks `test` to run."""
    return any(
        line.startswith("run ") and line.split(None, 4)[4] == test for line in stderr.splitlines()
    )


def gtest_installed() -> bool:
    return shutil.which("cmake") is not None and any(
        Path(d, "cmake", "GTest", "GTestConfig.cmake").exists()
        for d in (
            "/usr/lib/x86_64-linux-gnu",
            "/usr/lib/aarch64-linux-gnu",
            "/usr/lib",
            "/usr/local/lib",
        )
    )


@pytest.mark.skipif(not gtest_installed(), reason="no cmake or GoogleTest (libgtest-dev)")
def test_gtest_round_trip(pts_worker: RunningWorker, tmp_path: Path) -> None:
    env = pts_worker.env
    build = cmake_build(sample("gtest", tmp_path), env)
    binary = str(build / "calc_test")
    first = run([binary, "--gtest_output=json:r1.json"], build, env)
    assert first.returncode == 1, first.stdout  # CalcTest.Divide fails
    stderr = record(env, "rt-gtest", "b1", "--runner", "gtest", "r1.json", cwd=build)
    assert f"recorded {GTEST_TESTS} test results" in stderr
    listing = ok(run([binary, "--gtest_list_tests"], build, env)).stdout
    answer = subset(env, "rt-gtest", "b2", "--target", "40%", "--runner", "gtest", stdin=listing)
    reasons = explained(answer.stderr)
    assert len(reasons) == GTEST_TESTS and "new" not in reasons.values()
    chosen = [t for t in reasons if explained_run(answer.stderr, t)]
    assert 0 < len(chosen) < GTEST_TESTS
    arguments = answer.stdout.split()  # as an unquoted $(...) splits it
    assert arguments == ["--gtest_filter=" + ":".join(chosen)]
    second = run([binary, *arguments, "--gtest_output=xml:r2.xml"], build, env)
    assert second.returncode in (0, 1), second.stdout
    results = parse_report(build / "r2.xml", runner=runner("gtest"))
    assert sorted(r.test_id for r in results) == sorted(chosen)
    stderr = record(env, "rt-gtest", "b2", "--runner", "gtest", "r2.xml", cwd=build)
    assert f"recorded {len(chosen)} test result" in stderr
