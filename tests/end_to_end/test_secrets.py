"""An empty or short secret stops `pts worker` and `pts loader` before anything else, with exit
code 2 and one line saying how to make a good one: through the real command line."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests.conftest import free_port, run_pts

pytestmark = pytest.mark.integration

GOOD = "0123456789abcdef" * 4  # what `openssl rand -hex 32` gives


def env_of(base: dict[str, str], tmp_path: Path, **extra: str) -> dict[str, str]:
    suffix = uuid.uuid4().hex[:8]
    return {
        **base, "PTS_TOPIC_PREFIX": f"secrets-{suffix}", "PTS_WORKER_ID": f"secrets-{suffix}",
        "PTS_WORKER_HTTP_PORT": str(free_port()), "PTS_LOADER_HTTP_PORT": str(free_port()),
        "PTS_DATA_DIR": str(tmp_path / "data"), **extra,
    }  # fmt: skip


def refusal(variable: str, said: str) -> str:
    return (
        f"pts: error: {variable} {said}: a secret needs at least 32 random characters; make one "
        f"with `openssl rand -hex 32`, or unset {variable}"
    )


@pytest.mark.parametrize("command", ["worker", "loader"])
@pytest.mark.parametrize(
    ("setting", "said"),
    [
        ({"PTS_WORKER_TOKEN": "", "PTS_WORKER_HTTP_HOST": "0.0.0.0"}, "is empty"),
        ({"PTS_WORKER_TOKEN": "s3cret", "PTS_WORKER_HTTP_HOST": "0.0.0.0"}, "has 6 characters"),
        ({"PTS_WORKER_TOKEN": GOOD[:31]}, "has 31 characters"),
        ({"PTS_CHECKPOINT_KEY": ""}, "is empty"),
        ({"PTS_CHECKPOINT_KEY": "bench"}, "has 5 characters"),
    ],
    ids=["empty-token-beyond-loopback", "short-token", "token-one-short", "empty-key", "short-key"],
)
def test_a_weak_secret_stops_the_process_before_anything_else(
    pts_env: dict[str, str],
    unreachable_bootstrap: str,
    tmp_path: Path,
    command: str,
    setting: dict[str, str],
    said: str,
) -> None:
    # No broker answers there: a process that got past the check would fail otherwise (exit 3).
    env = env_of(pts_env, tmp_path, PTS_KAFKA_BOOTSTRAP=unreachable_bootstrap, **setting)
    result = run_pts(env, command, timeout=120)
    variable = next(name for name in setting if name != "PTS_WORKER_HTTP_HOST")
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [refusal(variable, said)]
    assert not (tmp_path / "data").exists()  # nothing was written either


def test_a_short_key_file_stops_the_worker(pts_env: dict[str, str], tmp_path: Path) -> None:
    env = env_of(pts_env, tmp_path)
    key_file = tmp_path / "data" / "checkpoint.key"
    key_file.parent.mkdir()
    key_file.write_text("hunter2\n")
    result = run_pts(env, "worker", timeout=180)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        f"pts: error: the checkpoint key file {key_file} has 7 characters: a secret needs at "
        f"least 32 random characters; write one with `openssl rand -hex 32 > {key_file}`, or "
        "set PTS_CHECKPOINT_KEY (snapshots signed with the old key are then refused: rebuild "
        "the models)"
    )
    assert "hunter2" not in result.stderr
