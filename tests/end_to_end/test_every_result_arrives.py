"""Every result a report holds reaches the model and ClickHouse, whatever the report's name,
layout or size, through the real CLI, broker, worker and chdb."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import RunningWorker, free_port, run_pts

pytestmark = pytest.mark.integration


def junit(*cases: str, suite: str = "suite", hostname: str = "") -> str:
    host = f' hostname="{hostname}"' if hostname else ""
    return f'<testsuite name="{suite}"{host}>{"".join(cases)}</testsuite>'


def case(classname: str, name: str, time_s: float = 0.5, failure: str = "") -> str:
    body = f'<failure message="{failure}"/>' if failure else ""
    return f'<testcase classname="{classname}" name="{name}" time="{time_s}">{body}</testcase>'


def write(path: Path, *suites: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"<testsuites>{''.join(suites)}</testsuites>", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git repository of two commits, for `pts record build`."""
    repo = tmp_path_factory.mktemp("repo")
    for args in (["init", "-q"], ["config", "user.email", "ci@example.com"],
                 ["config", "user.name", "CI"]):  # fmt: skip
        subprocess.run(["git", "-C", str(repo), *args], check=True)
    for n in (1, 2):
        (repo / "src.py").write_text(f"version = {n}\n")
        subprocess.run(["git", "-C", str(repo), "add", "src.py"], check=True)
        subprocess.run(["git", "-C", str(repo), "commit", "-q", "-m", f"v{n}"], check=True)
    return repo


def record_build(
    worker: RunningWorker, repo: Path, project: str, build: str, commit: str = "HEAD"
) -> None:
    result = run_pts(worker.env, "record", "build", "-p", project, "-b", build, "--repo",
                     str(repo), "--commit", commit)  # fmt: skip
    assert result.returncode == 0, result.stderr


def learned(worker: RunningWorker, project: str, expected: int, timeout_s: float = 60) -> int:
    """The project's results learned, once it reaches `expected` (or when time is up)."""
    deadline, count = time.monotonic() + timeout_s, -1
    while time.monotonic() < deadline:
        count = worker.get("/health")["projects"].get(project, {}).get("results_learned", -1)
        if count == expected:
            break
        time.sleep(0.5)
    return count


def stored(worker: RunningWorker, project: str, expected: int, timeout_s: float = 60) -> int:
    sql = f"SELECT count() AS n FROM pts.test_results WHERE project = '{project}'"
    deadline, count = time.monotonic() + timeout_s, -1
    while time.monotonic() < deadline:
        result = run_pts(worker.env, "query", sql)
        assert result.returncode == 0, result.stderr
        count = json.loads(result.stdout)["n"]
        if count == expected:
            break
        time.sleep(1)
    return count


def settle(worker: RunningWorker) -> None:
    """Wait until the model and the loader have read everything written so far."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        lag = worker.get("/lag")
        if not any(any(topics.values()) for topics in lag.values()):
            return
        time.sleep(0.5)


def test_shards_that_each_write_junit_xml_are_all_learned_once(
    pts_worker: RunningWorker, tmp_path: Path, repo: Path
) -> None:
    record_build(pts_worker, repo, "shards", "1")
    for shard, names in (("one", ["a", "b", "c"]), ("two", ["d", "e"])):
        write(tmp_path / shard / "junit.xml", junit(*(case("s", n) for n in names)))
        done = run_pts(pts_worker.env, "record", "tests", "-p", "shards", "-b", "1",
                       "junit.xml", cwd=tmp_path / shard)  # fmt: skip
        assert done.returncode == 0, done.stderr
    assert learned(pts_worker, "shards", 5) == 5
    assert stored(pts_worker, "shards", 5) == 5

    again = run_pts(pts_worker.env, "record", "tests", "-p", "shards", "-b", "1", "junit.xml",
                    cwd=tmp_path / "one")  # fmt: skip
    assert again.returncode == 0 and "recorded 3 test results" in again.stderr
    settle(pts_worker)
    assert learned(pts_worker, "shards", 5, timeout_s=2) == 5  # re-recorded: learned once
    assert stored(pts_worker, "shards", 5, timeout_s=2) == 5


def test_a_bazel_layout_given_as_a_directory(
    pts_worker: RunningWorker, tmp_path: Path, repo: Path
) -> None:
    record_build(pts_worker, repo, "bazel", "1")
    for target in ("lib_test", "api_test", "cli_test"):
        write(tmp_path / "bazel-testlogs" / "pkg" / target / "test.xml",
              junit(case(f"pkg/{target}", target), suite=f"pkg/{target}"))  # fmt: skip
    done = run_pts(pts_worker.env, "record", "tests", "-p", "bazel", "-b", "1", "bazel-testlogs",
                   cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "recorded 3 test results of build 1 from 3 reports" in done.stderr
    assert learned(pts_worker, "bazel", 3) == 3
    assert stored(pts_worker, "bazel", 3) == 3


def test_repeated_playwright_and_xctest_runs_are_each_a_result(
    pts_worker: RunningWorker, tmp_path: Path, repo: Path
) -> None:
    record_build(pts_worker, repo, "repeats", "1")
    playwright = write(tmp_path / "playwright.xml", *(
        junit(case("login.spec.ts", "logs in", t, failure), suite="login.spec.ts", hostname=p)
        for p, t, failure in [("chromium", 1.0, ""), ("firefox", 1.2, "timeout"),
                              ("webkit", 0.9, "")]
    ))  # fmt: skip
    xctest = write(tmp_path / "xctest.xml", *(
        junit(case("AppTests", "testLaunch()"), suite=f"AppTests ({config})")
        for config in ("English", "Arabic", "Dark", "Large Text")
    ))  # fmt: skip
    done = run_pts(pts_worker.env, "record", "tests", "-p", "repeats", "-b", "1",
                   str(playwright), str(xctest))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "recorded 7 test results" in done.stderr
    assert learned(pts_worker, "repeats", 7) == 7
    assert stored(pts_worker, "repeats", 7) == 7
    rows = run_pts(pts_worker.env, "query", "SELECT variant, outcome, duration_s FROM "
                   "pts.test_results WHERE project = 'repeats' AND test_id LIKE 'login%' "
                   "ORDER BY variant")  # fmt: skip
    assert [json.loads(line) for line in rows.stdout.splitlines()] == [
        {"variant": "chromium", "outcome": "passed", "duration_s": 1.0},
        {"variant": "firefox", "outcome": "failed", "duration_s": 1.2},
        {"variant": "webkit", "outcome": "passed", "duration_s": 0.9},
    ]


def test_a_stray_bad_file_is_named_and_the_good_reports_arrive(
    pts_worker: RunningWorker, tmp_path: Path, repo: Path
) -> None:
    record_build(pts_worker, repo, "stray", "1")
    reports = tmp_path / "surefire-reports"
    write(reports / "TEST-a.xml", junit(case("A", "one"), case("A", "two")))
    write(reports / "TEST-b.xml", junit(case("B", "three")))
    (reports / "TEST-broken.xml").write_text("<testsuite><testcase name='x'")
    done = run_pts(pts_worker.env, "record", "tests", "-p", "stray", "-b", "1",
                   str(reports / "*.xml"))  # a quoted glob: pts expands it  # fmt: skip
    assert done.returncode == 2
    assert "recorded 3 test results of build 1 from 2 reports" in done.stderr
    assert "TEST-broken.xml:1: not well-formed XML" in done.stderr.splitlines()[-1]
    assert learned(pts_worker, "stray", 3) == 3
    assert stored(pts_worker, "stray", 3) == 3


def test_two_thousand_failures_with_2_kb_messages_arrive(
    pts_worker: RunningWorker, tmp_path: Path, repo: Path
) -> None:
    record_build(pts_worker, repo, "mass-failure", "1")
    message = "x" * 2048
    report = write(tmp_path / "big.xml", junit(
        *(case("Big", f"t{i}", 0.01, message) for i in range(2000))
    ))  # fmt: skip
    done = run_pts(pts_worker.env, "record", "tests", "-p", "mass-failure", "-b", "1",
                   str(report))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert learned(pts_worker, "mass-failure", 2000) == 2000
    assert stored(pts_worker, "mass-failure", 2000) == 2000
    lengths = run_pts(pts_worker.env, "query", "SELECT DISTINCT length(message) AS n FROM "
                      "pts.test_results WHERE project = 'mass-failure'")  # fmt: skip
    assert json.loads(lengths.stdout) == {"n": 2048}


def test_a_100000_candidate_subset_goes_through(
    pts_worker: RunningWorker, tmp_path: Path, repo: Path
) -> None:
    record_build(pts_worker, repo, "huge", "1")
    write(tmp_path / "r.xml", junit(case("com.example.huge.Suite", "known", 1.0, "boom")))
    assert run_pts(pts_worker.env, "record", "tests", "-p", "huge", "-b", "1",
                   str(tmp_path / "r.xml")).returncode == 0  # fmt: skip
    assert learned(pts_worker, "huge", 1) == 1
    prefix = "com.example." + "deeply.nested.package." * 4
    candidates = [f"{prefix}Suite{i // 50}::test_case_number_{i}" for i in range(100_000)]
    candidates[70_000] = "com.example.huge.Suite::known"
    assert len(candidates[1]) > 120 and len("\n".join(candidates)) > 12_000_000  # > 8 MiB
    rest = tmp_path / "rest.txt"
    answer = run_pts(pts_worker.env, "subset", "-p", "huge", "-b", "2", "--target", "20%",
                     "--rest", str(rest), "--timeout", "120", stdin="\n".join(candidates),
                     timeout=240)  # fmt: skip
    assert answer.returncode == 0, answer.stderr
    assert "running all" not in answer.stderr  # a real answer, not the fallback
    chosen = answer.stdout.splitlines()
    assert 0 < len(chosen) < len(candidates)
    assert sorted(chosen + rest.read_text().splitlines()) == sorted(candidates)
    assert "of 100000 tests" in answer.stderr


def test_builds_that_do_not_match_their_results_are_warned_of(
    pts_worker: RunningWorker, tmp_path: Path, repo: Path
) -> None:
    empty = write(tmp_path / "empty.xml", junit())
    done = run_pts(pts_worker.env, "record", "tests", "-p", "odd", "-b", "never", str(empty))
    assert done.returncode == 2  # published, but no result at all was recorded
    assert "empty.xml: the report holds no test cases" in done.stderr
    write(tmp_path / "one.xml", junit(case("S", "t")))
    assert run_pts(pts_worker.env, "record", "tests", "-p", "odd", "-b", "never",
                   str(tmp_path / "one.xml")).returncode == 0  # fmt: skip
    record_build(pts_worker, repo, "odd", "twice", "HEAD")
    # Another commit for the same build id, from a CI that cannot ask the history first (no
    # worker answers /health where it looks; `pts record build` refuses it when one does and
    # the first record is stored already): the worker keeps the first and says so.
    elsewhere = {**pts_worker.env, "PTS_WORKER_HTTP_PORT": str(free_port())}
    again = run_pts(elsewhere, "record", "build", "-p", "odd", "-b", "twice", "--repo",
                    str(repo), "--commit", "HEAD~1")  # fmt: skip
    assert again.returncode == 0, again.stderr
    settle(pts_worker)
    log = pts_worker.log.read_text()
    assert '"event": "results_of_unrecorded_build"' in log and '"build": "never"' in log
    assert '"event": "build_recorded_again"' in log
