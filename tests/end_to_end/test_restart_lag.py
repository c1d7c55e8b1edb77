"""What a restart leaves behind: subset requests the worker skipped (they are stale) count as
done on /lag, and a killed worker's consumer groups empty as soon as the session times out."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient

from tests.conftest import RunningWorker, free_port, run_pts, start_worker

pytestmark = pytest.mark.integration


def ask_for_a_subset(worker: RunningWorker, build: str, *timeout: str) -> str:
    answer = run_pts(
        worker.env, "subset", "-p", "shop", "-b", build, "--target", "50%", *timeout, stdin="a\nb\n"
    )
    assert answer.returncode == 0, answer.stderr
    return answer.stderr


def settled_lag(worker: RunningWorker, timeout_s: float = 30) -> dict[str, dict[str, int]]:
    """/lag once every count is zero, or as it is when the time is up."""
    deadline = time.monotonic() + timeout_s
    lag = worker.get("/lag")
    while time.monotonic() < deadline and any(any(counts.values()) for counts in lag.values()):
        time.sleep(1)
        lag = worker.get("/lag")
    return lag


def test_skipped_subset_requests_are_no_lag_after_a_restart(pts_worker: RunningWorker) -> None:
    assert "running all" not in ask_for_a_subset(pts_worker, "1")  # answered by the worker
    pts_worker.stop()
    # Asked while no worker runs: the command falls back, and the request goes stale.
    assert "running all 2 tests" in ask_for_a_subset(pts_worker, "2", "--timeout", "2")
    restarted = start_worker(pts_worker.env, pts_worker.log)
    pts_worker.process = restarted.process
    assert settled_lag(restarted)["model"] == {"builds": 0, "test-results": 0, "subset-requests": 0}


def members(admin: AdminClient, group: str) -> list[str]:
    description = admin.describe_consumer_groups([group])[group].result(timeout=30)
    return [member.client_id for member in description.members]


def members_after(admin: AdminClient, group: str, wanted: bool, timeout_s: float) -> list[str]:
    """The group's members once there are some (`wanted`) or none, or when the time is up."""
    deadline = time.monotonic() + timeout_s
    found = members(admin, group)
    while time.monotonic() < deadline and bool(found) != wanted:
        time.sleep(1)
        found = members(admin, group)
    return found


def test_a_killed_worker_leaves_both_its_groups_within_the_session_timeout(
    pts_env: dict[str, str], kafka_admin: AdminClient, tmp_path: Path
) -> None:
    """The history loader's group, too: else a replacement's history lags librdkafka's 45 s."""
    env = {
        **pts_env,
        "PTS_WORKER_ID": f"killed-{uuid.uuid4().hex[:8]}",
        "PTS_WORKER_HTTP_PORT": str(free_port()),
        "PTS_DATA_DIR": str(tmp_path),
    }
    worker = start_worker(env, tmp_path / "worker.log")
    groups = (env["PTS_WORKER_ID"], f"{env['PTS_WORKER_ID']}-history")
    try:
        for group in groups:
            assert members_after(kafka_admin, group, wanted=True, timeout_s=60), group
    finally:
        worker.process.kill()
        worker.process.wait()
    # The session timeout is 10 s; librdkafka's default, 45 s, would leave the loader here.
    for group in groups:
        assert members_after(kafka_admin, group, wanted=False, timeout_s=30) == [], group
