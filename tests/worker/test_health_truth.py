"""/health tells the truth: degraded, with what and since when, when dead letters could not be
written, an agent crashed, or the broker watch is overdue; and a stuck shutdown still ends
within its bound."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient

from pts.core.settings import Settings
from pts.selection.selector import Selector
from pts.streams.app import WorkerState
from pts.worker import broker_watch
from pts.worker.broker_watch import BrokerWatch
from tests.conftest import free_port, running_worker, wait_until


@pytest.mark.integration
def test_dead_letters_that_cannot_be_written_make_the_worker_degraded(
    pts_env: dict[str, str], kafka_admin: AdminClient, tmp_path: Path
) -> None:
    suffix = uuid.uuid4().hex[:8]
    env = {
        **pts_env, "PTS_TOPIC_PREFIX": f"truth-{suffix}", "PTS_WORKER_ID": f"truth-{suffix}",
        "PTS_WORKER_HTTP_PORT": str(free_port()), "PTS_DATA_DIR": str(tmp_path / "data"),
    }  # fmt: skip
    letters_topic = f"truth-{suffix}.dead-letters"
    (tmp_path / "data").mkdir()
    with running_worker(env) as worker:
        assert worker.get("/health")["status"] == "ok"
        kafka_admin.delete_topics([letters_topic])[letters_topic].result(timeout=30)
        producer = Producer({"bootstrap.servers": env["PTS_KAFKA_BOOTSTRAP"]})
        producer.produce(f"truth-{suffix}.builds", key=b"shop", value=b"not avro")
        assert producer.flush(30) == 0

        def degraded() -> bool:
            return worker.get("/health")["status"] == "degraded"

        assert wait_until(degraded, 120, every_s=2), worker.get("/health")
        health = worker.get("/health")
        [problem] = health["degraded"]
        assert problem["what"].startswith("1 dead letter(s) not written: ")
        assert letters_topic in problem["what"] and problem["since"]


def test_a_crashed_agent_pauses_snapshots_and_says_so(tmp_path: Path) -> None:
    state = WorkerState(Settings(data_dir=tmp_path, kafka_bootstrap="127.0.0.1:1"), Selector(), {})
    try:
        state.restored[0] = {}  # a partition owned, with a change to snapshot
        state.changed("shop", 0)
        state.agent_crashed("pts.test-results", ValueError("x" * 1_000_000))
        assert asyncio.run(state.snapshot()) is False  # no marker past what the agent held
        crash = state.crashed_agents["pts.test-results"]
        assert crash["crashes"] == 1 and crash["since"]
        assert crash["error"].startswith("ValueError: xxx") and len(crash["error"]) <= 1_000
    finally:
        state._model_thread.shutdown()


def test_a_broker_watch_that_stopped_checking_is_overdue(monkeypatch: pytest.MonkeyPatch) -> None:
    watch = BrokerWatch(Settings(kafka_bootstrap="127.0.0.1:1"))
    assert watch.healthy and watch.as_dict()["state"] == "reachable"
    later = time.monotonic() + broker_watch.OVERDUE_AFTER_S + 1
    monkeypatch.setattr(broker_watch.time, "monotonic", lambda: later)
    assert not watch.healthy
    assert watch.as_dict()["state"] == "overdue" and watch.as_dict()["last_check_s_ago"] > 0


def test_a_stuck_shutdown_ends_within_its_bound() -> None:
    """Once asked to stop, the process ends by the bound (here 1 s) even if nothing returns."""
    stuck = (
        "import time\n"
        "from pts.core.logs import configure\n"
        "from pts.worker import process\n"
        "configure('info')\n"
        "process.SHUTDOWN_BOUND_S = 1.0\n"
        "worker = process.BoundedWorker.__new__(process.BoundedWorker)\n"
        "worker.bound_shutdown('a test')\n"
        "time.sleep(120)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", stuck], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 1
    assert '"event": "worker_shutdown_overdue"' in done.stderr
