"""Failures outside test cases through the real runners, the real `pts` command line and the
pytest plugin, and the real worker: a Go package that stops building, and a pytest module that
stops importing, are recorded as failed results of the package or module, and rank first in the
next build's subset, which names the unit the way the runner's listing does.

Each test runs a sample of `tests/fixtures/runners/*/broken/project` copied to a temporary
folder; every wait is for the worker to have learned what was recorded (`--catch-up`), not for
a clock.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pts.client.junit_reports import parse_report
from pts.client.runners import runner
from pts.core.events import Outcome
from tests.conftest import RunningWorker, run_pts

pytestmark = pytest.mark.integration

SAMPLES = Path(__file__).resolve().parent.parent / "fixtures" / "runners"
PARSE = "example.com/broken/parse"  # the Go package whose test stops building
BROKEN_MODULE = "tests/test_broken.py"  # the pytest module that stops importing
ASK = ("--catch-up", "60", "--timeout", "150", "--explain")  # generous: a loaded 2-core machine


def run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def record(env: dict[str, str], project: str, build: str, *args: str, cwd: Path) -> str:
    result = run_pts(env, "record", "tests", "-p", project, "-b", build, *args, cwd=cwd)
    assert result.returncode == 0, result.stderr
    return result.stderr


def ranked(env: dict[str, str], project: str, build: str, runner_name: str, listing: str):
    """`pts subset` of the listing: its stdout, and the --explain lines as (id, reason) in rank
    order."""
    answer = run_pts(
        env, "subset", "-p", project, "-b", build, "--target", "20%", "--runner", runner_name,
        *ASK, stdin=listing, timeout=200,
    )  # fmt: skip
    assert answer.returncode == 0, answer.stderr
    # an answer, not the run-everything fallback, from a model that learned every result
    assert "running all" not in answer.stderr and "had not learned" not in answer.stderr, (
        answer.stderr
    )
    order = [
        (line.split(None, 4)[4], line.split(None, 4)[3])
        for line in answer.stderr.splitlines()
        if line.startswith(("run ", "skip "))
    ]
    return answer.stdout, order


def stored(worker: RunningWorker, project: str, build: str, timeout_s: float = 120) -> list[dict]:
    """The results of a build as the store holds them, once it holds any."""
    sql = (
        "SELECT test_id, name, outcome, message FROM pts.test_results "
        f"WHERE project = '{project}' AND build_id = '{build}' ORDER BY test_id"
    )
    deadline = time.monotonic() + timeout_s
    while True:
        result = run_pts(worker.env, "query", sql)
        assert result.returncode == 0, result.stderr
        rows = [json.loads(line) for line in result.stdout.splitlines()]
        if rows or time.monotonic() > deadline:
            return rows
        time.sleep(1)


@pytest.mark.skipif(shutil.which("go") is None, reason="no Go toolchain on this machine")
def test_a_go_package_that_does_not_build_ranks_first(
    pts_worker: RunningWorker, tmp_path: Path
) -> None:
    env = {**pts_worker.env, "GOTOOLCHAIN": "local", "GOFLAGS": "-count=1", "STORE_URL": "mem:"}
    project = tmp_path / "go"
    shutil.copytree(SAMPLES / "go" / "broken" / "project", project)
    test_file = project / "parse" / "parse_test.go"
    broken = test_file.read_text()

    # b1: the package builds, and its two tests pass
    test_file.write_text(broken.replace("ParseNumber(", "Number("))
    first = run(["go", "test", "-json", "./..."], project, env)
    assert first.returncode == 0, first.stdout + first.stderr
    (project / "r1.json").write_text(first.stdout)
    assert "recorded 4 test results" in record(env, "fo-go", "b1", "--runner", "go", "r1.json",
                                               cwd=project)  # fmt: skip

    # b2: the test calls a function that is not there: the package does not build
    test_file.write_text(broken)
    second = run(["go", "test", "-json", "./..."], project, env)
    assert second.returncode == 1, second.stderr
    (project / "r2.json").write_text(second.stdout)
    stderr = record(env, "fo-go", "b2", "--runner", "go", "r2.json", cwd=project)
    assert "recorded 3 test results" in stderr  # calc's and store's tests, and the package
    rows = stored(pts_worker, "fo-go", "b2")
    assert [r["test_id"] for r in rows] == [
        "example.com/broken/calc::TestAdd",
        PARSE,
        "example.com/broken/store::TestOpen",
    ]
    package = rows[1]
    assert (package["name"], package["outcome"]) == ("", "failed")
    assert package["message"] == "parse/parse_test.go:6:13: undefined: ParseNumber"

    # b3: `go test -list` names the package in place of the tests it cannot list; it ranks
    # first, ahead of the tests that passed
    listing = run(["go", "test", "-list", ".", "./..."], project, env)
    assert f"FAIL\t{PARSE} [build failed]" in listing.stdout
    printed, order = ranked(env, "fo-go", "b3", "go", listing.stdout)
    assert order[0] == (PARSE, "failed-last-run")
    assert {test for test, _ in order} == {
        "example.com/broken/calc::TestAdd",
        PARSE,
        "example.com/broken/store::TestOpen",
    }
    # the subset, run as printed, builds the package again and so shows its failure again
    arguments = printed.split()
    assert PARSE in arguments
    third = run(["go", "test", "-json", *arguments], project, env)
    assert third.returncode == 1
    (project / "r3.json").write_text(third.stdout)
    results = parse_report(project / "r3.json", runner=runner("go"))
    assert (PARSE, Outcome.FAILED) in {(r.test_id, r.outcome) for r in results}


def test_a_pytest_module_that_does_not_import_ranks_first(
    pts_worker: RunningWorker, tmp_path: Path
) -> None:
    env = pts_worker.env
    project = tmp_path / "py"
    shutil.copytree(SAMPLES / "pytest" / "broken" / "project", project)
    helpers = project / "tests" / "helpers.py"
    plugin = [sys.executable, "-m", "pytest", "--pts-project", "fo-pytest", "--pts-record"]

    # b1: the module imports: its test and the others pass, recorded by the plugin
    helpers.write_text("def renamed_helper():\n    return 1\n")
    first = run([*plugin, "--pts-build", "b1"], project, env)
    assert first.returncode == 0, first.stdout
    assert "pts: recorded 3 test results of build b1" in first.stdout

    # b2: the helper is gone: the module fails to collect, and pytest runs nothing
    helpers.unlink()
    second = run([*plugin, "--pts-build", "b2"], project, env)
    assert second.returncode == 2, second.stdout  # interrupted: 1 error during collection
    assert "pts: recorded 1 test result of build b2" in second.stdout
    [row] = stored(pts_worker, "fo-pytest", "b2")
    assert (row["test_id"], row["name"], row["outcome"]) == (BROKEN_MODULE, "", "error")
    assert row["message"].startswith("ImportError while importing test module")
    assert "No module named 'tests.helpers'" in row["message"]

    # b3: the listing names the module (`ERROR tests/test_broken.py`); it ranks first
    listing = run([sys.executable, "-m", "pytest", "--collect-only", "-q"], project, env)
    printed, order = ranked(env, "fo-pytest", "b3", "pytest", listing.stdout)
    assert order[0] == (BROKEN_MODULE, "failed-last-run")
    assert {test for test, _ in order} == {
        BROKEN_MODULE,
        "tests/test_ok.py::test_one",
        "tests/test_ok.py::test_two",
    }
    # the subset, run as printed, collects the module again and so shows its failure again
    assert BROKEN_MODULE in printed.splitlines()
    (project / "run.txt").write_text(printed)
    third = run([sys.executable, "-m", "pytest", "@run.txt", "--junitxml=r3.xml"], project, env)
    assert third.returncode == 2, third.stdout
    results = parse_report(project / "r3.xml", runner=runner("pytest"))
    assert [(r.test_id, r.outcome) for r in results] == [(BROKEN_MODULE, Outcome.ERROR)]
