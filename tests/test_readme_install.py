"""The README's install and plugin sections, followed literally on a fresh copy of the
repository: the marked blocks (`<!-- install -->`, `<!-- plugin -->`) run as written, in a
fresh virtual environment, with pip from PyPI and its cache; the plugin then runs a small
pytest project against the session broker and a worker. The test reads the blocks from the
README, so the two cannot drift apart."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import RunningWorker, wait_until

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[1]
SAMPLE = """
def test_adds():
    assert 1 + 1 == 2


def test_joins():
    assert "-".join("ab") == "a-b"


def test_splits():
    assert "a b".split() == ["a", "b"]
"""


def readme_block(name: str) -> str:
    """The bash block between `<!-- name: ... -->` and `<!-- /name -->` in the README."""
    found = re.search(
        rf"<!-- {name}:[^>]*-->\s*```bash\n(.*?)```\s*<!-- /{name} -->",
        (REPO / "README.md").read_text(),
        re.DOTALL,
    )
    assert found, f"README.md has no <!-- {name} --> block"
    return found.group(1)


def fresh_copy(target: Path) -> Path:
    """The repository's files as a fresh clone has them (tracked and new ones, as they are in
    the working tree; nothing ignored: no venv, no build output)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO, capture_output=True, check=True,
    ).stdout.decode().split("\0")  # fmt: skip
    for name in filter(None, listed):
        source = REPO / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


def bash(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip


@pytest.mark.timeout(900)  # pip install from its cache: about 40-90 s on 2 busy cores
@pytest.mark.skipif(shutil.which("python3.11") is None, reason="no python3.11 on this machine")
@pytest.mark.skipif(shutil.which("git") is None, reason="no git on this machine")
def test_the_readme_install_and_plugin_sections_work_as_written(
    pts_worker: RunningWorker, tmp_path: Path
) -> None:
    clone = fresh_copy(tmp_path / "pts")
    # Nothing of the development environment leaks in: no venv on PATH, no PYTHONPATH.
    env = {k: v for k, v in pts_worker.env.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    dev_bin = str(REPO / ".venv" / "bin")
    env["PATH"] = os.pathsep.join(p for p in env["PATH"].split(os.pathsep) if p != dev_bin)
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"

    installed = bash(readme_block("install"), clone, env)
    assert installed.returncode == 0, installed.stderr[-3000:]
    assert "Usage: pts" in installed.stdout
    assert (clone / ".venv" / "bin" / "pts").exists()

    project = tmp_path / "project"
    (project / "tests").mkdir(parents=True)
    (project / "tests" / "test_sample.py").write_text(SAMPLE)
    (project / "pytest.ini").write_text("[pytest]\naddopts = -p no:cacheprovider\n")
    script = f". {clone}/.venv/bin/activate\n{readme_block('plugin')}"
    ran = bash(script, project, {**env, "BUILD_ID": "readme-1"})
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]
    passed = re.search(r"(\d+) passed(?:, (\d+) deselected)?", ran.stdout)
    assert passed and int(passed.group(1)) + int(passed.group(2) or 0) == 3, ran.stdout
    assert "pts:" in ran.stdout  # the plugin's own summary line
    # The plugin recorded the results of the tests it ran through the broker: the worker
    # learned them.
    assert wait_until(
        lambda: (
            pts_worker.get("/health")["projects"].get("shop", {}).get("results_learned")
            == int(passed.group(1))
        )
    )
