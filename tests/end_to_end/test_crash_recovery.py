"""A worker killed without warning loses nothing it learned and learns nothing twice."""

from __future__ import annotations

import time

import pytest

from tests.conftest import FIXTURES_JUNIT, RunningWorker, run_pts, start_worker, wait_until

pytestmark = pytest.mark.integration


def learned(worker: RunningWorker, project: str) -> int:
    return worker.get("/health")["projects"].get(project, {}).get("results_learned", 0)


def last_snapshot(worker: RunningWorker) -> str:
    return worker.get("/health")["last_snapshot"].get("at", "")


def test_sigkill_after_a_snapshot_replays_only_what_followed(pts_worker: RunningWorker) -> None:
    env = pts_worker.env
    first = run_pts(
        env, "record", "tests", "-p", "crash", "-b", "1", str(FIXTURES_JUNIT / "surefire.xml")
    )
    assert first.returncode == 0, first.stderr
    assert wait_until(lambda: learned(pts_worker, "crash") == 5)
    saved_before = last_snapshot(pts_worker)
    # the next 10 s snapshot round holds build 1
    assert wait_until(lambda: last_snapshot(pts_worker) > saved_before, timeout_s=60)

    second = run_pts(
        env, "record", "tests", "-p", "crash", "-b", "2", str(FIXTURES_JUNIT / "gradle.xml")
    )
    assert second.returncode == 0, second.stderr
    assert wait_until(lambda: learned(pts_worker, "crash") == 5 + 5)  # gradle.xml: 4 ran, one twice
    pts_worker.process.kill()  # SIGKILL: no goodbye, no final snapshot
    pts_worker.process.wait()

    restarted = start_worker(env, pts_worker.log)
    try:
        # Build 2 is replayed from the topic; build 1 comes from the snapshot, not twice.
        assert wait_until(lambda: learned(restarted, "crash") == 10, timeout_s=60)
        time.sleep(2)
        health = restarted.get("/health")
        assert health["projects"]["crash"]["results_learned"] == 10
        assert sum(p["restored_results"] for p in health["partitions"].values()) >= 5
    finally:
        restarted.stop()
