"""Round trips through the runners' own JSON formats, on the real runners and the real worker:
list the candidates as the runner lists them, `pts subset --runner`, run exactly the subset,
and record the runner's own report (Playwright's JSON reporter, Cucumber JSON,
pytest-reportlog) under ids that match.

Each test runs a sample project of `tests/fixtures/runners/` copied to a temporary folder.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pts.client.junit_reports import parse_report
from pts.client.runners import runner
from tests.conftest import RunningWorker, run_pts

pytestmark = pytest.mark.integration

SAMPLES = Path(__file__).resolve().parent.parent / "fixtures" / "runners"


def sample(name: str, tmp_path: Path, tool: str | None = None) -> Path:
    """A copy of the sample project `name`; with `tool`, its node_modules installed (`npm ci`
    in the fixture folder, linked into the copy), or the test skipped when npm cannot."""
    source = SAMPLES / name / "project"
    if tool is not None and not (source / "node_modules" / ".bin" / tool).exists():
        if shutil.which("npm") is None:
            pytest.skip("no npm on this machine")
        done = subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--silent"], cwd=source, timeout=300
        )
        if done.returncode != 0:
            pytest.skip(f"npm ci of the {name} sample failed (offline?)")
    project = tmp_path / name
    shutil.copytree(source, project, ignore=shutil.ignore_patterns("node_modules"))
    if tool is not None:
        (project / "node_modules").symlink_to(source / "node_modules")
    return project


def run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, result.stderr
    return result


def record(env: dict[str, str], project: str, build: str, *args: str, cwd: Path) -> str:
    return ok(run_pts(env, "record", "tests", "-p", project, "-b", build, *args, cwd=cwd)).stderr


def explained_subset(env, project: str, build: str, name: str, listing: str, cwd: Path):
    """The subset printed, and the candidates --explain gives a reason for."""
    answer = ok(
        run_pts(env, "subset", "-p", project, "-b", build, "--target", "50%", "--runner", name,
                "--explain", stdin=listing, cwd=cwd)
    )  # fmt: skip
    assert "candidate line" not in answer.stderr, answer.stderr
    reasons = {
        line.split(None, 4)[4]: line.split(None, 4)[3]
        for line in answer.stderr.splitlines()
        if line.startswith(("run ", "skip "))
    }
    return answer.stdout.splitlines(), reasons


def test_playwright_json_round_trip(pts_worker: RunningWorker, tmp_path: Path) -> None:
    project = sample("playwright", tmp_path, "playwright")
    playwright = [str(project / "node_modules" / ".bin" / "playwright"), "test"]
    env = {**pts_worker.env, "CI": "true", "PLAYWRIGHT_JSON_OUTPUT_NAME": "r1.json"}
    first = run([*playwright, "--reporter=json"], project, env)
    assert first.returncode == 1, first.stderr  # "by zero is refused" fails on purpose
    attempts = parse_report(project / "r1.json", runner=runner("playwright"))
    assert len(attempts) == 16  # 12 tests (6 per project) and 4 retries
    stderr = record(env, "rt-pw", "b1", "--runner", "playwright", "r1.json", cwd=project)
    assert "recorded 16 test results" in stderr
    listing = ok(run([*playwright, "--list", "--reporter=json"], project, env)).stdout
    chosen, reasons = explained_subset(env, "rt-pw", "b2", "playwright", listing, project)
    assert set(reasons) == {"calc.spec.js", "flaky.spec.js"}
    assert "new" not in reasons.values()  # the ids of the listing are those recorded
    assert chosen and set(chosen) <= set(reasons)
    env["PLAYWRIGHT_JSON_OUTPUT_NAME"] = "r2.json"
    second = run([*playwright, "--reporter=json", *chosen], project, env)
    assert second.returncode in (0, 1), second.stderr
    results = parse_report(project / "r2.json", runner=runner("playwright"))
    assert {r.test_id for r in results} == set(chosen)
    stderr = record(env, "rt-pw", "b2", "--runner", "playwright", "r2.json", cwd=project)
    assert f"recorded {len(results)} test results" in stderr


def test_cucumber_json_round_trip(pts_worker: RunningWorker, tmp_path: Path) -> None:
    project = sample("cucumber", tmp_path, "cucumber-js")
    cucumber = [str(project / "node_modules" / ".bin" / "cucumber-js")]
    env = {**pts_worker.env, "CI": "true"}
    first = run([*cucumber, "--format", "json:r1.json"], project, env)
    assert first.returncode == 1, first.stderr  # two scenarios fail on purpose
    stderr = record(env, "rt-cuke", "b1", "--runner", "cucumber", "r1.json", cwd=project)
    assert "recorded 7 test results" in stderr  # 7 scenarios, the outline's two rows included
    listing = ok(run([*cucumber, "--dry-run", "--format", "json"], project, env)).stdout
    chosen, reasons = explained_subset(env, "rt-cuke", "b2", "cucumber", listing, project)
    assert set(reasons) == {"features/calc.feature", "features/history.feature"}
    assert "new" not in reasons.values()
    assert chosen and set(chosen) <= set(reasons)
    second = run([*cucumber, "--format", "json:r2.json", *chosen], project, env)
    assert second.returncode in (0, 1), second.stderr
    results = parse_report(project / "r2.json", runner=runner("cucumber"))
    assert {r.test_id for r in results} == set(chosen)
    stderr = record(env, "rt-cuke", "b2", "--runner", "cucumber", "r2.json", cwd=project)
    assert f"recorded {len(results)} test result" in stderr


@pytest.mark.skipif(
    importlib.util.find_spec("pytest_reportlog") is None, reason="pytest-reportlog missing"
)
def test_pytest_reportlog_round_trip(pts_worker: RunningWorker, tmp_path: Path) -> None:
    env = pts_worker.env
    project = sample("pytest", tmp_path)
    pytest_cmd = [sys.executable, "-m", "pytest"]
    first = run([*pytest_cmd, "--report-log=r1.jsonl"], project, env)
    assert first.returncode == 1, first.stdout  # test_flaky fails on purpose
    stderr = record(env, "rt-rlog", "b1", "--runner", "pytest", "r1.jsonl", cwd=project)
    assert "recorded 9 test results" in stderr
    listing = ok(run([*pytest_cmd, "--collect-only", "-q"], project, env)).stdout
    chosen, reasons = explained_subset(env, "rt-rlog", "b2", "pytest", listing, project)
    assert len(reasons) == 9 and "new" not in reasons.values()
    assert 0 < len(chosen) < 9
    (project / "subset.txt").write_text("\n".join(chosen) + "\n")
    second = run([*pytest_cmd, "@subset.txt", "--report-log=r2.jsonl"], project, env)
    assert second.returncode in (0, 1), second.stdout
    results = parse_report(project / "r2.jsonl", runner=runner("pytest"))
    assert sorted(r.test_id for r in results) == sorted(chosen)
    stderr = record(env, "rt-rlog", "b2", "--runner", "pytest", "r2.jsonl", cwd=project)
    assert f"recorded {len(results)} test result" in stderr
