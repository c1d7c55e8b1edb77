"""Safety nets and what "new" means, on real parts: `pts record` -> Kafka -> `pts worker` ->
`pts subset`, and the answers' reasons in ClickHouse.

One worker serves every test of the module, with a projects file (`PTS_PROJECTS_FILE`) that
gives project `shop` a must-run list of its own. Each test uses its own project. Every wait is
for the worker to have learned what was recorded (`--catch-up`), not for a clock.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import RunningWorker, run_pts, start_worker, wait_until

pytestmark = pytest.mark.integration

TESTS = [f"tests/test_a.py::test_{i}" for i in range(10)]
ASK = ("--target", "20%", "--explain", "--catch-up", "60", "--timeout", "150")
PROJECTS_FILE = """
[defaults]
starve_after_builds = 50

[projects.shop]
must_run = ["tests/test_a.py::test_8"]
"""


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = tmp_path_factory.mktemp("repo")
    for args in (("init", "-q"), ("config", "user.email", "ci@example.com"),
                 ("config", "user.name", "CI")):  # fmt: skip
        subprocess.run(["git", "-C", str(repo), *args], check=True)
    (repo / "src.py").write_text("x = 1\n")
    subprocess.run(["git", "-C", str(repo), "add", "src.py"], check=True)
    subprocess.run(["git", "-C", str(repo), "commit", "-qm", "src"], check=True)
    return repo


@pytest.fixture(scope="module")
def worker(pts_env: dict[str, str]) -> Iterator[RunningWorker]:
    data = Path(pts_env["PTS_DATA_DIR"])
    projects = data / "projects.toml"
    projects.write_text(PROJECTS_FILE)
    worker = start_worker({**pts_env, "PTS_PROJECTS_FILE": str(projects)}, data / "nets.log")
    try:
        yield worker
    finally:
        worker.stop()


def pytest_report(results: dict[str, str | None]) -> str:
    """A pytest-style JUnit report: {test id: None (passed), "failed" or "skipped"}."""
    cases = []
    for test_id, outcome in results.items():
        module, _, name = test_id.partition("::")
        inner = {None: "", "failed": '<failure message="boom"/>', "skipped": "<skipped/>"}
        cases.append(
            f'<testcase classname="{module[:-3].replace("/", ".")}" name="{name}" '
            f'file="{module}" time="1.0">{inner[outcome]}</testcase>'
        )
    return f'<testsuites><testsuite name="pytest">{"".join(cases)}</testsuite></testsuites>'


def record(
    env: dict[str, str], repo: Path, project: str, build: str, report: str, *args: str
) -> None:
    built = run_pts(env, "record", "build", "-p", project, "-b", build, "--repo", str(repo))
    assert built.returncode == 0, built.stderr
    path = repo.parent / f"{project}-{build}.xml"
    path.write_text(report)
    recorded = run_pts(env, "record", "tests", "-p", project, "-b", build, "--runner", "pytest",
                       str(path), *args)  # fmt: skip
    assert recorded.returncode == 0, recorded.stderr


def ask(
    env: dict[str, str], project: str, build: str, candidates: list[str], *args: str
) -> tuple[list[str], dict[str, str]]:
    """The subset printed, and the reason --explain gives for each test it runs."""
    answer = run_pts(env, "subset", "-p", project, "-b", build, *ASK, *args,
                     stdin="\n".join(candidates) + "\n", timeout=200)  # fmt: skip
    assert answer.returncode == 0, answer.stderr
    assert "running all" not in answer.stderr, answer.stderr
    reasons = {}
    for line in answer.stderr.splitlines():
        parts = line.split()
        if parts and parts[0] == "run":
            reasons[parts[-1]] = parts[-2]
    return answer.stdout.split(), reasons


def summary(env: dict[str, str], project: str, build: str, *args: str) -> str:
    answer = run_pts(env, "subset", "-p", project, "-b", build, *ASK, *args,
                     stdin="\n".join(TESTS) + "\n", timeout=200)  # fmt: skip
    return answer.stderr.splitlines()[-1]


def test_must_run_globs_and_the_projects_own_list_are_always_in_the_subset(
    worker: RunningWorker, repo: Path
) -> None:
    env = worker.env
    record(env, repo, "shop", "b1", pytest_report(dict.fromkeys(TESTS)))
    chosen, reasons = ask(env, "shop", "b2", TESTS)
    # 20% of ten equal tests is two; the project's list adds test_8 after them.
    assert len(chosen) == 3 and chosen[-1] == TESTS[8], chosen
    assert reasons[TESTS[8]] == "must-run"

    chosen, reasons = ask(env, "shop", "b2", TESTS, "--must-run", "*::test_9")
    assert set(chosen[-2:]) == {TESTS[8], TESTS[9]}, chosen
    assert reasons[TESTS[9]] == reasons[TESTS[8]] == "must-run"
    assert "2 added by safety nets (must-run 2)" in summary(env, "shop", "b2", "--must-run",
                                                             "*::test_9")  # fmt: skip

    # The answer keeps why each test was added, in the history store.
    sql = ("SELECT reasons, ranked FROM pts.subset_responses WHERE project = 'shop' "
           "AND has(reasons, 'must-run') ORDER BY answered_at")  # fmt: skip
    assert wait_until(lambda: len(query(env, sql)) >= 2, 120)
    last = query(env, sql)[-1]
    added = {t for t, r in zip(last["ranked"], last["reasons"], strict=True) if r == "must-run"}
    assert added == {TESTS[8], TESTS[9]}


def test_a_test_starved_for_n_builds_runs_spread_over_builds(
    worker: RunningWorker, repo: Path
) -> None:
    env = worker.env
    record(env, repo, "starve", "b1", pytest_report(dict.fromkeys(TESTS)))
    for build in ("b2", "b3", "b4", "b5"):  # CI ran only the first two tests
        record(env, repo, "starve", build, pytest_report(dict.fromkeys(TESTS[:2])))
    chosen, reasons = ask(env, "starve", "b6", TESTS)  # the default bound: 50 builds
    assert "starved" not in reasons.values() and len(chosen) == 2, reasons

    chosen, reasons = ask(env, "starve", "b6", TESTS, "--starve-after-builds", "4")
    starved = [t for t, r in reasons.items() if r == "starved"]
    # Eight tests have had no result in five builds; those the ranking leaves out are
    # starved, and at most 2 x 10 / 4 = 5 of them run in one build.
    assert len(starved) == 5 and set(starved) <= set(TESTS[2:]), reasons
    assert len(chosen) == 7
    record(env, repo, "starve", "b6", pytest_report(dict.fromkeys(chosen)))
    overdue = set(TESTS[2:]) - set(chosen)
    assert overdue  # one build later, the rest of them run
    chosen, reasons = ask(env, "starve", "b7", TESTS, "--starve-after-builds", "4")
    assert overdue <= set(chosen), reasons
    assert {t for t, r in reasons.items() if r == "starved"} <= overdue, reasons


def test_a_full_run_every_n_builds_and_on_demand(worker: RunningWorker, repo: Path) -> None:
    env = worker.env
    record(env, repo, "full", "b1", pytest_report(dict.fromkeys(TESTS)))
    chosen, _ = ask(env, "full", "b2", TESTS, "--full-run-every", "2")
    assert len(chosen) == 2  # one build learned: not yet due
    record(env, repo, "full", "b2", pytest_report(dict.fromkeys(chosen)))
    chosen, reasons = ask(env, "full", "b3", TESTS, "--full-run-every", "2")
    assert sorted(chosen) == sorted(TESTS)
    assert list(reasons.values()).count("full-run") == 8, reasons
    again, _ = ask(env, "full", "b3", TESTS, "--full-run-every", "2")
    assert again == chosen  # the same build asking again gets the same answer
    record(env, repo, "full", "b3", pytest_report(dict.fromkeys(chosen)))
    chosen, _ = ask(env, "full", "b4", TESTS, "--full-run-every", "2")
    assert len(chosen) == 2  # the full run was one build ago

    chosen, _ = ask(env, "full", "b4", TESTS, "--full-run-on", "release/*", "--branch", "main")
    assert len(chosen) == 2
    chosen, _ = ask(env, "full", "b4", TESTS, "--full-run-on", "release/*",
                    "--branch", "release/2.1")  # fmt: skip
    assert sorted(chosen) == sorted(TESTS)


def test_a_class_always_skipped_is_never_the_first_choice_after_its_first_report(
    worker: RunningWorker, repo: Path
) -> None:
    env = worker.env
    disabled = "tests/test_disabled.py::test_off"
    candidates = [disabled, *TESTS]
    results: dict[str, str | None] = {disabled: "skipped", **dict.fromkeys(TESTS)}
    record(env, repo, "skips", "b1", pytest_report(results))
    for build in ("b2", "b3", "b4"):
        chosen, _ = ask(env, "skips", build, candidates, "--target", "50%")
        assert chosen[0] != disabled and disabled not in chosen, chosen
        record(env, repo, "skips", build, pytest_report({t: results[t] for t in chosen}))


def test_fallback_fail_fails_the_build_when_pts_cannot_answer(pts_env: dict[str, str]) -> None:
    nobody = {**pts_env, "PTS_TOPIC_PREFIX": "nobody-listens"}
    args = ("subset", "-p", "shop", "-b", "b1", "--target", "20%", "--timeout", "3",
            "--catch-up", "1")  # fmt: skip
    failed = run_pts(nobody, *args, "--fallback", "fail", stdin="\n".join(TESTS))
    assert failed.returncode == 1 and failed.stdout == ""
    assert "pts: error: no subset: " in failed.stderr
    assert "(--fallback fail)" in failed.stderr

    kept = run_pts(nobody, *args, stdin="\n".join(TESTS))  # run-all, the default
    assert kept.returncode == 0 and kept.stdout.split() == TESTS

    empty = run_pts(nobody, *args, stdin="\n")
    assert empty.returncode == 0 and empty.stdout == ""
    assert "the candidate list is empty" in empty.stderr
    empty = run_pts(nobody, *args, "--fallback", "fail", stdin="")
    assert empty.returncode == 1 and "the candidate list is empty" in empty.stderr


def test_a_bad_projects_file_stops_the_worker_before_it_starts(
    pts_env: dict[str, str], tmp_path: Path
) -> None:
    bad = tmp_path / "projects.toml"
    bad.write_text('[projects.shop]\nmust_run = "tests/*"\n')
    started = subprocess.run(
        [sys.executable, "-m", "pts.cli", "worker"], env={**pts_env, "PTS_PROJECTS_FILE": str(bad)},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert started.returncode == 2
    assert "[projects.shop]: must_run must be a list of globs" in started.stderr


def query(env: dict[str, str], sql: str) -> list[dict]:
    result = run_pts(env, "query", sql)
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]
