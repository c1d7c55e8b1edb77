"""Runner round trips on real runners and the real worker: list the candidates the way the
runner lists them, `pts subset --runner`, run exactly the subset with the runner, and record
its results under ids that match. Also the pytest plugin (with and without xdist), and
--split, --flavor, --observe and the zero-input subset.

Each test runs a sample project of `tests/fixtures/runners/` copied to a temporary folder.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pts.client.junit_reports import parse_report
from pts.client.runners import runner
from tests.conftest import RunningWorker, run_pts

pytestmark = pytest.mark.integration

SAMPLES = Path(__file__).resolve().parent.parent / "fixtures" / "runners"
PYTEST_CASES = 9  # tests/fixtures/runners/pytest/project: 9 node ids


def sample(name: str, tmp_path: Path) -> Path:
    project = tmp_path / name
    shutil.copytree(SAMPLES / name / "project", project, ignore=shutil.ignore_patterns("node_*"))
    return project


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, result.stderr
    return result


def run(args: list[str], cwd: Path, env: dict[str, str], timeout: float = 180):
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def pytest_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "pytest", *args]


def record(env: dict[str, str], project: str, build: str, *args: str, cwd: Path) -> str:
    return ok(run_pts(env, "record", "tests", "-p", project, "-b", build, *args, cwd=cwd)).stderr


def subset(env: dict[str, str], project: str, build: str, *args: str, stdin: str = "", cwd=None):
    return ok(
        run_pts(env, "subset", "-p", project, "-b", build, *args, "--explain", stdin=stdin, cwd=cwd)
    )


def explained(stderr: str) -> dict[str, str]:
    """--explain lines: test id -> reason."""
    reasons = {}
    for line in stderr.splitlines():
        if line.startswith(("run ", "skip ")):
            parts = line.split(None, 4)
            reasons[parts[4]] = parts[3]
    return reasons


def chosen_in(stderr: str) -> list[str]:
    """The ids --explain marks `run`."""
    return [line.split(None, 4)[4] for line in stderr.splitlines() if line.startswith("run ")]


def wait_for(worker: RunningWorker, sql: str, expected, timeout_s: float = 90):
    found = None
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        result = ok(run_pts(worker.env, "query", sql))
        found = [json.loads(line) for line in result.stdout.splitlines()]
        if found == expected:
            return found
        time.sleep(1)
    return found


def test_pytest_round_trip(pts_worker: RunningWorker, tmp_path: Path) -> None:
    env = pts_worker.env
    project = sample("pytest", tmp_path)
    ok_or_failed = run(pytest_cmd("--junitxml=r1.xml", "-o", "junit_family=xunit2"), project, env)
    assert ok_or_failed.returncode == 1  # test_flaky fails on purpose
    assert "recorded 9 test results" in record(env, "rt-pytest", "b1", "--runner", "pytest",
                                               "r1.xml", cwd=project)  # fmt: skip
    listing = ok(run(pytest_cmd("--collect-only", "-q"), project, env)).stdout
    answer = subset(env, "rt-pytest", "b2", "--target", "50%", "--runner", "pytest", stdin=listing)
    assert "candidate line" not in answer.stderr  # the summary line is no candidate
    chosen = answer.stdout.splitlines()
    assert 0 < len(chosen) < PYTEST_CASES
    reasons = explained(answer.stderr)
    assert len(reasons) == PYTEST_CASES
    # every candidate matched a recorded id: none is new; the skipped test is known, never ran
    assert "new" not in reasons.values()
    assert {t for t, reason in reasons.items() if reason == "never-ran"} == {
        "tests/test_calc.py::test_skipped"
    }
    (project / "run.txt").write_text(answer.stdout)
    ran = run(pytest_cmd("@run.txt", "--junitxml=r2.xml"), project, env)
    assert ran.returncode in (0, 1), ran.stderr
    results = parse_report(project / "r2.xml", runner=runner("pytest"))
    assert sorted(r.test_id for r in results) == sorted(chosen)
    stderr = record(env, "rt-pytest", "b2", "--runner", "pytest", "r2.xml", cwd=project)
    assert f"recorded {len(chosen)} test result" in stderr


@pytest.mark.skipif(shutil.which("go") is None, reason="no Go toolchain on this machine")
def test_go_round_trip(pts_worker: RunningWorker, tmp_path: Path) -> None:
    env = {**pts_worker.env, "GOTOOLCHAIN": "local", "GOFLAGS": "-count=1"}
    project = sample("go", tmp_path)
    first = run(["go", "test", "-json", "./..."], project, env)
    assert first.returncode == 1, first.stderr  # TestFlaky fails on purpose
    (project / "r1.json").write_text(first.stdout)
    stderr = record(env, "rt-go", "b1", "--runner", "go", "r1.json", cwd=project)
    assert "recorded 10 test results" in stderr  # 6 tests and 4 subtests
    listing = ok(run(["go", "test", "-list", ".", "./..."], project, env)).stdout
    answer = subset(env, "rt-go", "b2", "--target", "50%", "--runner", "go", stdin=listing)
    reasons = explained(answer.stderr)
    assert len(reasons) == 6
    assert "new" not in reasons.values()  # the skipped test is known: it never ran
    assert {t for t, r in reasons.items() if r == "never-ran"} == {
        "example.com/sample/calc::TestSkipped"
    }
    chosen = chosen_in(answer.stderr)
    arguments = answer.stdout.split()  # as an unquoted $(...) splits it
    assert arguments[0].startswith("-run=^(") and arguments[0].endswith(")$")
    second = run(["go", "test", "-json", *arguments], project, env)
    (project / "r2.json").write_text(second.stdout)
    results = parse_report(project / "r2.json", runner=runner("go"))
    ran = {r.test_id for r in results}
    assert ran == set(chosen) and ran < set(reasons)
    names = arguments[0].removeprefix("-run=^(").removesuffix(")$").split("|")
    assert {t.rpartition("::")[2] for t in ran} == set(names)
    stderr = record(env, "rt-go", "b2", "--runner", "go", "r2.json", cwd=project)
    assert f"recorded {len(results)} test result" in stderr


def jest_modules() -> Path | None:
    """The Jest sample's node_modules: installed by `npm ci` (ops/install.sh does it when npm
    is there); None when it cannot be."""
    folder = SAMPLES / "jest" / "project"
    if not (folder / "node_modules" / ".bin" / "jest").exists():
        if shutil.which("npm") is None:
            return None
        installed = subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--silent"],
            cwd=folder,
            capture_output=True,
            timeout=300,
        )
        if installed.returncode != 0:
            return None
    return folder / "node_modules"


def test_jest_round_trip(pts_worker: RunningWorker, tmp_path: Path) -> None:
    modules = jest_modules()
    if modules is None:
        pytest.skip("no npm, or `npm ci` of the Jest sample failed (offline?)")
    env = {**pts_worker.env, "JEST_JUNIT_ADD_FILE_ATTRIBUTE": "true", "CI": "true"}
    project = sample("jest", tmp_path)
    (project / "node_modules").symlink_to(modules)
    jest = [str(project / "node_modules" / ".bin" / "jest"), "--ci"]
    reporters = ["--reporters=default", "--reporters=jest-junit"]
    first = run([*jest, *reporters], project, {**env, "JEST_JUNIT_OUTPUT_FILE": "r1.xml"})
    assert first.returncode == 1, first.stderr  # flaky.test.js fails on purpose
    stderr = record(env, "rt-jest", "b1", "--runner", "jest", "r1.xml", cwd=project)
    assert "recorded 5 test results" in stderr
    listing = ok(run([*jest, "--listTests"], project, env)).stdout
    answer = subset(
        env, "rt-jest", "b2", "--target", "10%", "--runner", "jest", stdin=listing, cwd=project
    )
    reasons = explained(answer.stderr)
    assert set(reasons) == {"src/flaky.test.js", "src/sum.test.js"}
    assert "new" not in reasons.values()
    chosen = answer.stdout.splitlines()
    assert chosen and set(chosen) < set(reasons)
    second = run(
        [*jest, *reporters, "--runTestsByPath", *chosen],
        project,
        {**env, "JEST_JUNIT_OUTPUT_FILE": "r2.xml"},
    )
    assert second.returncode in (0, 1), second.stderr
    results = parse_report(project / "r2.xml", runner=runner("jest"))
    assert {r.test_id for r in results} == set(chosen)
    stderr = record(env, "rt-jest", "b2", "--runner", "jest", "r2.xml", cwd=project)
    assert f"recorded {len(results)} test result" in stderr


@pytest.mark.parametrize("xdist", [[], ["-n", "2"]], ids=["plain", "xdist"])
def test_pytest_plugin_round_trip(pts_worker: RunningWorker, tmp_path: Path, xdist) -> None:
    env = pts_worker.env
    project = sample("pytest", tmp_path)
    name = f"rt-plugin-{len(xdist)}"
    plugin = ["--pts-project", name]
    first = run(pytest_cmd(*plugin, "--pts-build", "b1", "--pts-record", *xdist), project, env)
    assert first.returncode == 1, first.stdout  # test_flaky fails on purpose
    assert f"pts: recorded {PYTEST_CASES} test results of build b1" in first.stdout
    second = run(
        pytest_cmd(*plugin, "--pts-build", "b2", "--pts-target", "50%", "--junitxml=r2.xml",
                   *xdist),
        project,
        env,
    )  # fmt: skip
    assert second.returncode in (0, 1), second.stdout
    line = next(line for line in second.stdout.splitlines() if line.startswith("pts: running"))
    kept = int(line.split()[2])
    assert 0 < kept < PYTEST_CASES
    results = parse_report(project / "r2.xml", runner=runner("pytest"))
    assert len(results) == len({r.test_id for r in results}) == kept  # each chosen test once
    assert f"pts: recorded {kept} test results of build b2" in second.stdout


def test_pytest_plugin_runs_everything_when_pts_cannot_answer(
    pts_env: dict[str, str], unreachable_bootstrap: str, tmp_path: Path
) -> None:
    env = {
        **pts_env,
        "PTS_KAFKA_BOOTSTRAP": unreachable_bootstrap,
        "PTS_SUBSET_TIMEOUT_S": "1",
        "PTS_RECORD_TIMEOUT_S": "1",
        "PTS_SAMPLE_PASS": "1",
    }
    project = sample("pytest", tmp_path)
    args = ["--pts-project", "p", "--pts-build", "b", "--pts-target", "20%", "-n", "2"]
    result = run(pytest_cmd(*args), project, env)
    assert result.returncode == 1, result.stdout  # the setup error is the sample's own
    assert "7 passed, 1 skipped, 1 error" in result.stdout  # all ran: pts broke nothing
    assert "could not choose a subset" in result.stdout
    assert f"running all {PYTEST_CASES} tests" in result.stdout
    assert "the results were not recorded" in result.stdout


def test_split_gives_bins_of_the_subset(pts_worker: RunningWorker, tmp_path: Path) -> None:
    env = pts_worker.env
    project = sample("pytest", tmp_path)
    run(pytest_cmd("--junitxml=r1.xml"), project, env)
    record(env, "rt-split", "b1", "--runner", "pytest", "r1.xml", cwd=project)
    listing = ok(run(pytest_cmd("--collect-only", "-q"), project, env)).stdout
    answer = subset(env, "rt-split", "b2", "--target", "90%", "--runner", "pytest", "--split",
                    "3", stdin=listing)  # fmt: skip
    chosen = chosen_in(answer.stderr)
    (project / "subset.json").write_text(answer.stdout)
    bins = []
    for index in (1, 2, 3):
        shard = ok(run_pts(env, "split-subset", "--bin", f"{index}/3", "subset.json", cwd=project))
        bins.append(shard.stdout.splitlines())
        (project / f"bin{index}.txt").write_text(shard.stdout)
        if not bins[-1]:
            assert "is empty" in shard.stderr  # an empty bin is said, as nothing is printed
            continue
        ran = run(pytest_cmd(f"@bin{index}.txt", f"--junitxml=s{index}.xml"), project, env)
        assert ran.returncode in (0, 1), ran.stdout
        results = parse_report(project / f"s{index}.xml", runner=runner("pytest"))
        assert sorted(r.test_id for r in results) == sorted(bins[-1])
    everything = [t for b in bins for t in b]
    assert sorted(everything) == sorted(set(everything))  # disjoint
    assert sorted(everything) == sorted(chosen)  # together, the whole subset
    assert sum(map(bool, bins)) == min(3, len(chosen))  # no bin empty while another has two
    wrong = run_pts(env, "split-subset", "--bin", "1/2", "subset.json", cwd=project)
    assert wrong.returncode == 2 and "split into 3, not 2" in wrong.stderr


def test_flavors_keep_a_history_each(pts_worker: RunningWorker, tmp_path: Path) -> None:
    env = pts_worker.env
    project = sample("pytest", tmp_path)
    run(pytest_cmd("--junitxml=linux.xml"), project, env)  # test_flaky fails
    run(pytest_cmd("--junitxml=mac.xml"), project, {**env, "PTS_SAMPLE_PASS": "1"})
    for flavor, report in (("os=linux", "linux.xml"), ("os=mac", "mac.xml")):
        stderr = record(env, "rt-flavor", "b1", "--runner", "pytest", "--flavor", flavor,
                        "--flavor", "py=3.11", report, cwd=project)  # fmt: skip
        assert "recorded 9 test results" in stderr
    listing = ok(run(pytest_cmd("--collect-only", "-q"), project, env)).stdout
    reasons = {}
    for flavor in ("os=linux", "os=mac"):
        answer = subset(env, "rt-flavor", "b2", "--target", "100%", "--runner", "pytest",
                        "--flavor", "py=3.11", "--flavor", flavor, stdin=listing)  # fmt: skip
        # the runner sees its own ids, without the flavor
        assert sorted(explained(answer.stderr)) == sorted(runner("pytest").candidates(listing).ids)
        assert set(answer.stdout.splitlines()) == set(chosen_in(answer.stderr))
        reasons[flavor] = explained(answer.stderr)
    flaky = "tests/test_calc.py::test_flaky"
    assert reasons["os=linux"][flaky] == "failed-last-run"
    assert reasons["os=mac"][flaky] != "failed-last-run"
    assert "new" not in {reasons["os=mac"][t] for t in reasons["os=mac"] if "skipped" not in t}
    # without a flavor, these tests were never recorded
    plain = subset(env, "rt-flavor", "b2", "--target", "100%", "--runner", "pytest", stdin=listing)
    assert set(explained(plain.stderr).values()) == {"new"}
    rows = wait_for(
        pts_worker,
        "SELECT flavor, count() AS n FROM pts.test_results WHERE project = 'rt-flavor' "
        "GROUP BY flavor ORDER BY flavor",
        [{"flavor": "os=linux,py=3.11", "n": 9}, {"flavor": "os=mac,py=3.11", "n": 9}],
    )
    assert rows == [{"flavor": "os=linux,py=3.11", "n": 9}, {"flavor": "os=mac,py=3.11", "n": 9}]


def test_observation_and_the_zero_input_subset(pts_worker: RunningWorker, tmp_path: Path) -> None:
    env = pts_worker.env
    project = sample("pytest", tmp_path)
    run(pytest_cmd("--junitxml=r1.xml"), project, env)
    record(env, "rt-observe", "b1", "--runner", "pytest", "r1.xml", cwd=project)
    # zero input: the tests reported recently are the candidates, the skipped one too (it is
    # known, though it never ran)
    known = subset(env, "rt-observe", "b2", "--target", "100%", "--runner", "pytest",
                   "--known-tests")  # fmt: skip
    listing = ok(run(pytest_cmd("--collect-only", "-q"), project, env)).stdout
    reported = set(runner("pytest").candidates(listing).ids)
    assert set(explained(known.stderr)) == reported
    assert set(known.stdout.splitlines()) == set(chosen_in(known.stderr))
    # observation: every test is printed, the subset is only recorded
    watched = subset(env, "rt-observe", "b3", "--target", "20%", "--runner", "pytest",
                     "--observe", stdin=listing)  # fmt: skip
    assert sorted(watched.stdout.splitlines()) == sorted(runner("pytest").candidates(listing).ids)
    assert "observing" in watched.stderr
    would_run = int(watched.stderr.split("would have run ")[1].split()[0])
    assert 0 < would_run < PYTEST_CASES
    (project / "all.txt").write_text(watched.stdout)
    run(pytest_cmd("@all.txt", "--junitxml=r3.xml"), project, env)
    record(env, "rt-observe", "b3", "--runner", "pytest", "r3.xml", cwd=project)
    deadline = time.monotonic() + 90
    rows: list[dict] = []
    while time.monotonic() < deadline and not rows:
        result = ok(run_pts(env, "query", "observed-builds", "-p", "rt-observe"))
        rows = [json.loads(line) for line in result.stdout.splitlines()]
        time.sleep(0 if rows else 1)
    [row] = rows
    assert row["build_id"] == "b3" and row["subset_size"] == would_run
    assert row["candidates"] == PYTEST_CASES and row["failed"] == 2  # test_flaky, setup error
    assert set(row["missed"]) <= {"tests/test_calc.py::test_flaky",
                                  "tests/test_errors.py::test_setup_error"}  # fmt: skip
    assert row["time_saved_s"] >= 0


def test_the_jest_sample_lock_file_is_committed() -> None:
    # CI installs the Jest sample with `npm ci`, which needs the lock file.
    lock = json.loads((SAMPLES / "jest" / "project" / "package-lock.json").read_text())
    assert lock["packages"]["node_modules/jest"]["version"] == "29.7.0"
    assert os.path.exists(SAMPLES / "jest" / "project" / "package.json")
