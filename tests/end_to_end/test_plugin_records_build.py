"""The pytest plugin records the build from git, as `pts record build` does, and writes to the
terminal only through pytest's reporter: pytest runs for real in a subprocess (`run_pytest`)
on a sample project in a git repository, against a real worker, and against no broker."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from tests.conftest import RunningWorker, run_pts, run_pytest, wait_until

pytestmark = pytest.mark.integration

# pytest's own lines (session header, progress, summary) and the plugin's notes: anything else
# on the terminal was written past pytest's reporter.
PYTEST_LINE = re.compile(
    r"(=+ .* =+|platform .*|rootdir: .*|configfile: .*|plugins: .*|cachedir: .*"
    r"|collected \d+ items?( / \d+ deselected / \d+ selected)?"
    r"|tests/test_calc\.py \.+ +\[100%\]|pts: .*|)"
)


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True)  # fmt: skip
    return done.stdout.strip()


def commit(repo: Path, files: dict[str, str], message: str) -> str:
    for path, text in files.items():
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_text(text)
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A git repository of two commits; the second changes src/calc.py only."""
    repo = tmp_path / "calc"
    repo.mkdir()
    git(repo, "init", "-q")
    git(repo, "config", "user.email", "ci@example.com")
    git(repo, "config", "user.name", "CI")
    commit(repo, {
        "pytest.ini": "[pytest]\n# Its own rootdir: pts's conftest stays out.\n"
                      "addopts = -p no:cacheprovider\n",
        "src/calc.py": "def add(a, b):\n    return a + b\n",
        "tests/test_calc.py": "def test_add():\n    assert 1 + 1 == 2\n\n\n"
                              "def test_mul():\n    assert 2 * 3 == 6\n",
    }, "calc")  # fmt: skip
    commit(repo, {"src/calc.py": "def add(a, b):\n    return b + a\n"}, "add, the other way")
    return repo


def terminal_lines_not_pytests(result: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in result.stdout.splitlines() if not PYTEST_LINE.fullmatch(line)]


def changed_files(worker: RunningWorker, project: str, build: str) -> list[str]:
    sql = (
        "SELECT changed_files FROM pts.builds FINAL "
        f"WHERE project = '{project}' AND build_id = '{build}'"
    )
    queried = run_pts(worker.env, "query", sql)
    assert queried.returncode == 0, queried.stderr
    rows = [json.loads(line) for line in queried.stdout.splitlines()]
    return [changed["path"] for row in rows for changed in row["changed_files"]]


def learned(worker: RunningWorker, project: str) -> int:
    return worker.get("/health")["projects"].get(project, {}).get("results_learned", 0)


def unrecorded(worker: RunningWorker, project: str) -> list[dict]:
    """The worker's `results_of_unrecorded_build` lines about `project`."""
    lines = [json.loads(line) for line in worker.log.read_text().splitlines()
             if line.startswith("{")]  # fmt: skip
    event = "results_of_unrecorded_build"
    return [line for line in lines if line["event"] == event and line["project"] == project]


def test_the_build_and_its_changed_files_reach_the_worker(
    pts_worker: RunningWorker, project: Path
) -> None:
    head = git(project, "rev-parse", "HEAD")
    asked = ["--pts-project", "plugin-build", "--pts-build", "b1", "--pts-target", "100%"]
    result = run_pytest(project, pts_worker.env, *asked)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"pts: recorded build b1 at {head[:12]}: 1 changed file" in result.stdout
    assert "pts: recorded 2 test results of build b1" in result.stdout
    assert terminal_lines_not_pytests(result) == [] and result.stderr == ""

    assert wait_until(lambda: changed_files(pts_worker, "plugin-build", "b1") == ["src/calc.py"])
    assert wait_until(lambda: learned(pts_worker, "plugin-build") == 2)
    assert unrecorded(pts_worker, "plugin-build") == []


def test_under_xdist_one_worker_records_the_build_and_the_terminal_says_so_once(
    pts_worker: RunningWorker, project: Path
) -> None:
    result = run_pytest(project, pts_worker.env, "--pts-project", "plugin-xdist",
                        "--pts-build", "x1", "--pts-target", "100%", "-n", "2")  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    [said] = [line for line in result.stdout.splitlines() if "recorded build" in line]
    assert said.startswith("pts: recorded build x1 at ") and said.endswith(": 1 changed file")
    assert wait_until(lambda: changed_files(pts_worker, "plugin-xdist", "x1") == ["src/calc.py"])


def test_a_branch_build_diffs_against_the_merge_base_with_pts_base(
    pts_worker: RunningWorker, project: Path
) -> None:
    git(project, "branch", "-M", "main")
    git(project, "checkout", "-q", "-b", "feature")
    commit(project, {"src/io.py": "def read():\n    return 1\n"}, "io")
    commit(project, {"src/net.py": "def get():\n    return 2\n"}, "net")
    result = run_pytest(project, pts_worker.env, "--pts-project", "plugin-base",
                        "--pts-build", "f1", "--pts-record", "--pts-base", "main")  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "pts: recorded build f1 at " in result.stdout
    assert wait_until(
        lambda: changed_files(pts_worker, "plugin-base", "f1") == ["src/io.py", "src/net.py"]
    )


def test_record_only_sends_the_build_with_the_results(
    pts_worker: RunningWorker, project: Path
) -> None:
    result = run_pytest(project, pts_worker.env, "--pts-project", "plugin-record",
                        "--pts-build", "r1", "--pts-record")  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "pts: recorded build r1 at " in result.stdout
    assert wait_until(lambda: changed_files(pts_worker, "plugin-record", "r1") == ["src/calc.py"])
    assert wait_until(lambda: learned(pts_worker, "plugin-record") == 2)
    assert unrecorded(pts_worker, "plugin-record") == []


def test_told_not_to_it_records_no_build(pts_worker: RunningWorker, project: Path) -> None:
    result = run_pytest(project, pts_worker.env, "--pts-project", "plugin-no-build",
                        "--pts-build", "n1", "--pts-record", "--pts-no-record-build")  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "pts: recorded build" not in result.stdout
    assert "pts: recorded 2 test results of build n1" in result.stdout
    # The worker learns the results all the same, and says the build was never recorded.
    assert wait_until(lambda: learned(pts_worker, "plugin-no-build") == 2)
    assert wait_until(lambda: unrecorded(pts_worker, "plugin-no-build") != [])


def test_a_shallow_clone_is_warned_of_through_pytests_terminal(
    pts_worker: RunningWorker, project: Path, tmp_path: Path
) -> None:
    clone = tmp_path / "shallow"
    subprocess.run(["git", "clone", "-q", "--depth=1", project.as_uri(), str(clone)],
                   check=True, capture_output=True)  # fmt: skip
    result = run_pytest(clone, pts_worker.env, "--pts-project", "plugin-shallow",
                        "--pts-build", "s1", "--pts-target", "100%")  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    [warning] = [line for line in result.stdout.splitlines() if "shallow clone" in line]
    assert warning.startswith("pts: warning: ") and "git fetch --deepen=1" in warning
    assert "pts: recorded build s1 at " in result.stdout
    assert terminal_lines_not_pytests(result) == [] and result.stderr == ""


def test_outside_a_git_repository_it_says_so_and_still_runs(
    pts_worker: RunningWorker, project: Path, tmp_path: Path
) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    for name in ("pytest.ini", "tests/test_calc.py"):
        (plain / name).parent.mkdir(parents=True, exist_ok=True)
        (plain / name).write_text((project / name).read_text())
    result = run_pytest(plain, pts_worker.env, "--pts-project", "plugin-plain",
                        "--pts-build", "p1", "--pts-target", "100%")  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    [warning] = [line for line in result.stdout.splitlines() if "not recorded" in line]
    assert warning.startswith("pts: warning: the build was not recorded (")
    assert "not a git repository" in warning and "--pts-no-record-build" in warning
    assert "pts: recorded 2 test results of build p1" in result.stdout


def test_no_broker_no_log_line_on_the_terminal(
    pts_env: dict[str, str], unreachable_bootstrap: str, project: Path
) -> None:
    down = {**pts_env, "PTS_KAFKA_BOOTSTRAP": unreachable_bootstrap, "PTS_LOG_LEVEL": "debug",
            "PTS_RECORD_TIMEOUT_S": "2", "PTS_SUBSET_TIMEOUT_S": "2"}  # fmt: skip
    result = run_pytest(project, down, "--pts-project", "down", "--pts-build", "d1",
                        "--pts-target", "100%")  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    # librdkafka's reconnect errors and pts's debug lines went to pytest's logging, not here.
    assert terminal_lines_not_pytests(result) == [], result.stdout
    assert result.stderr == ""
    notes = [line for line in result.stdout.splitlines() if line.startswith("pts: ")]
    assert notes[0].startswith("pts: could not choose a subset (Kafka at ")
    assert notes[0].endswith("; running all 2 tests")
    assert notes[1].startswith("pts: warning: the results were not recorded: Kafka at ")
    assert len(notes) == 2
