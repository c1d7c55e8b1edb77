"""The JavaScript runners' own listings, printed by the real runners on their sample projects
(`tests/fixtures/runners/<runner>/project`, installed by `npm ci`), read as the candidates
the runner then runs: every spec file once, relative to where the runner ran."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from pts.client.listings import read_listing
from pts.client.runners import runner

SAMPLES = Path(__file__).resolve().parent.parent / "fixtures" / "runners"


def installed(name: str, tool: str) -> Path:
    """The sample project of `name`, with its node_modules installed (`npm ci`, from its lock
    file); skips the test when npm is missing or the install fails (offline)."""
    project = SAMPLES / name / "project"
    if not (project / "node_modules" / ".bin" / tool).exists():
        if shutil.which("npm") is None:
            pytest.skip("no npm on this machine")
        done = subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--silent"],
            cwd=project,
            capture_output=True,
            timeout=300,
        )
        if done.returncode != 0:
            pytest.skip(f"npm ci of the {name} sample failed (offline?)")
    return project


def listed(project: Path, tool: str, *args: str) -> bytes:
    command = [str(project / "node_modules" / ".bin" / tool), *args]
    env = {**os.environ, "CI": "true", "NO_COLOR": "1"}
    done = subprocess.run(command, cwd=project, env=env, capture_output=True, timeout=180)
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    return done.stdout


def candidates(name: str, output: bytes, project: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(project)  # as `pts subset` runs where the runner ran
    return read_listing(output, "stdin", runner(name))


@pytest.mark.parametrize("args", [["--listTests"], ["--listTests", "--json"]], ids=" ".join)
def test_jest_list_tests(args: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    project = installed("jest", "jest")
    found = candidates("jest", listed(project, "jest", *args), project, monkeypatch)
    assert sorted(found.ids) == ["src/flaky.test.js", "src/sum.test.js"]
    assert not found.unrecognized


@pytest.mark.parametrize(
    "args", [["list"], ["list", "--json"], ["list", "--filesOnly"]], ids=" ".join
)
def test_vitest_list(args: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    project = installed("vitest", "vitest")
    found = candidates("vitest", listed(project, "vitest", *args), project, monkeypatch)
    assert sorted(found.ids) == ["src/flaky.test.js", "src/sum.test.js"]
    assert not found.unrecognized


@pytest.mark.parametrize(
    "args", [["test", "--list"], ["test", "--list", "--reporter=json"]], ids=" ".join
)
def test_playwright_list(args: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    project = installed("playwright", "playwright")
    found = candidates("playwright", listed(project, "playwright", *args), project, monkeypatch)
    # relative to the test directory, as Playwright names them in its reports
    assert found.ids == ["calc.spec.js", "flaky.spec.js"]
    assert not found.unrecognized


def test_cucumber_dry_run_json(monkeypatch: pytest.MonkeyPatch) -> None:
    project = installed("cucumber", "cucumber-js")
    output = listed(project, "cucumber-js", "--dry-run", "--format", "json")
    found = candidates("cucumber", output, project, monkeypatch)
    assert found.ids == ["features/calc.feature", "features/history.feature"]
