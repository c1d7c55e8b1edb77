"""`ops/demo.sh` end to end on the session broker: it answers from a model that has learned the
whole replayed history, compares the subset with running every test, and `demo.sh stop`
returns only once the worker has exited."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

DEMO = Path(__file__).resolve().parents[2] / "ops" / "demo.sh"
CYCLES = 30


def exited(pid: int) -> bool:
    """Whether process `pid` is gone (or a zombie: exited, not yet reaped)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state == "Z"


def demo(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(DEMO), *args], env=env, capture_output=True, text=True, timeout=600, check=False
    )


def test_the_demo_answers_from_a_caught_up_model_and_stop_waits_for_the_worker(
    pts_env: dict[str, str], tmp_path: Path
) -> None:
    # The session broker (PTS_KAFKA_BOOTSTRAP): demo.sh neither starts nor stops one.
    env = {**pts_env, "PTS_BROKER_DIR": str(tmp_path / "no-broker")}
    pid_file = Path(env["PTS_DATA_DIR"]) / "worker.pid"
    pid = 0
    try:
        ran = demo(env, "--cycles", str(CYCLES))
        assert ran.returncode == 0, ran.stderr[-3000:]
        assert "waiting until the model has learned them" in ran.stderr
        learned = re.search(r"the model has learned ([\d,]+) results in", ran.stderr)
        replayed = re.search(r"replaying \d+ CI cycles \(([\d,]+) test results\)", ran.stderr)
        assert learned and replayed and learned.group(1) == replayed.group(1), ran.stderr
        assert "the model answered having learned every result replayed" in ran.stdout
        compared = re.search(
            r"compared with running all (\d+) tests:\n"
            r"  tests run +(\d+) of \1 .*\n"
            r"  test time +[\d.]+ of [\d.]+ min .*\n"
            r"  failures +(\d+) of (\d+) caught",
            ran.stdout,
        )
        assert compared, ran.stdout
        assert int(compared.group(2)) < int(compared.group(1))
        assert int(compared.group(4)) >= 1  # the new build really fails
        assert not re.search(r'^\{"', ran.stdout + ran.stderr, re.MULTILINE)  # no JSON logs
        pid = int(pid_file.read_text())
        assert not exited(pid)
    finally:
        stopped = demo(env, "stop")
    assert stopped.returncode == 0, stopped.stderr
    assert "the worker has exited" in stopped.stderr
    assert pid and exited(pid)
    assert not pid_file.exists()
