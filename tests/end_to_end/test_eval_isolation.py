"""`pts eval --through-broker` beside a live worker: it ranks through a worker of its own, on
topics of its own, and leaves nothing behind: the live worker's status, models and history
never hold an `eval-` project, and the broker holds none of its topics or groups."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient

from tests.conftest import RunningWorker, run_pts, wait_until

pytestmark = pytest.mark.integration


def test_eval_through_the_broker_leaves_the_live_worker_alone(
    pts_worker: RunningWorker, kafka_admin: AdminClient, tmp_path: Path
) -> None:
    env = pts_worker.env
    recorded = run_pts(env, "replay", "synthetic:5", "--project", "live", "--limit", "5")
    assert recorded.returncode == 0, recorded.stderr
    assert wait_until(lambda: "live" in pts_worker.get("/health")["projects"])

    ran = run_pts(
        env, "eval", "synthetic:3", "--through-broker", "--limit", "12", "--seeds", "1",
        "-r", "selector", "--out", str(tmp_path), timeout=600,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    assert "a worker of the evaluation's own" in ran.stderr
    report = json.loads((tmp_path / "synthetic-3.json").read_text())
    via_broker = report["rankers"]["selector-via-broker"]
    assert via_broker["scored"] > 0
    assert via_broker["rankings"] == report["rankers"]["selector"]["rankings"]

    projects = pts_worker.get("/health")["projects"]
    assert "live" in projects and not [p for p in projects if p.startswith("eval-")]
    status = run_pts(env, "status")
    assert status.returncode == 0 and "live:" in status.stdout and "eval-" not in status.stdout
    assert wait_until(lambda: not any(pts_worker.get("/lag")["history"].values()), 120)
    saved = run_pts(env, "query", "time-saved")
    assert saved.returncode == 0, saved.stderr
    assert "eval-" not in saved.stdout
    builds = run_pts(env, "query", "SELECT DISTINCT project FROM builds")
    assert [json.loads(line)["project"] for line in builds.stdout.splitlines()] == ["live"]

    prefix, group = f"{env['PTS_TOPIC_PREFIX']}-eval-", f"{env['PTS_WORKER_ID']}-eval-"
    topics = kafka_admin.list_topics(timeout=30).topics
    assert not [t for t in topics if t.startswith((prefix, group))]
    groups = kafka_admin.list_consumer_groups(request_timeout=30).result().valid
    assert not [g.group_id for g in groups if g.group_id.startswith(group)]
