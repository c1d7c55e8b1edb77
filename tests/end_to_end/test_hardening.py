"""What should not be reachable is not, and what is bad is refused clearly: through the real
CLI, broker, worker and chdb."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer

from pts.core import wire
from pts.core.events import SubsetRequest, Target, utc_now
from pts.streams.checkpoints import MARKER
from tests.conftest import (
    BROKER_SCRIPT,
    FIXTURES_JUNIT,
    RunningWorker,
    free_port,
    run_pts,
    running_broker,
    running_worker,
    start_worker,
    wait_until,
)

pytestmark = pytest.mark.integration


def fresh_env(env: dict[str, str], tmp_path: Path, **extra: str) -> dict[str, str]:
    suffix = uuid.uuid4().hex[:8]
    (tmp_path / "logs").mkdir(exist_ok=True)
    return {
        **env, "PTS_TOPIC_PREFIX": f"hard-{suffix}", "PTS_WORKER_ID": f"hard-{suffix}",
        "PTS_WORKER_HTTP_PORT": str(free_port()), "PTS_DATA_DIR": str(tmp_path / "data"),
        **extra,
    }  # fmt: skip


def dead_letters(env: dict[str, str], source: str, timeout_s: float = 30) -> list[dict]:
    """The letters set aside from topic `source`, once there is one (or when time is up)."""
    consumer = Consumer({"bootstrap.servers": env["PTS_KAFKA_BOOTSTRAP"],
                         "group.id": f"read-{uuid.uuid4().hex[:6]}",
                         "auto.offset.reset": "earliest"})  # fmt: skip
    letters: list[dict] = []
    try:
        consumer.subscribe([f"{env['PTS_TOPIC_PREFIX']}.dead-letters"])
        deadline = time.monotonic() + timeout_s
        while not letters and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is not None and not message.error():
                letter = wire.decode(message.value(), expected="DeadLetter")[1]
                if letter["topic"] == source:
                    letters.append(letter)
    finally:
        consumer.close()
    return letters


def test_the_history_refuses_reads_outside_it_through_the_worker(
    pts_worker: RunningWorker, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.tsv"
    secret.write_text("password\nhunter2\n")
    result = run_pts(pts_worker.env, "query", f"DESCRIBE TABLE file('{secret}', 'TSVWithNames')")
    assert result.returncode == 2
    assert "table function file()" in result.stderr and "hunter2" not in result.stdout


def test_serving_beyond_loopback_needs_a_token(pts_env: dict[str, str], tmp_path: Path) -> None:
    env = fresh_env(pts_env, tmp_path, PTS_WORKER_HTTP_HOST="0.0.0.0")
    result = run_pts(env, "worker", timeout=60)
    assert result.returncode == 2
    assert "set PTS_WORKER_TOKEN" in result.stderr.strip().splitlines()[-1]


def test_the_history_needs_the_token_when_one_is_set(
    pts_env: dict[str, str], tmp_path: Path
) -> None:
    env = fresh_env(pts_env, tmp_path, PTS_WORKER_TOKEN="s3cret-" + "0" * 32)
    (tmp_path / "data").mkdir()
    with running_worker(env):
        allowed = run_pts(env, "query", "SELECT 1 AS one")
        assert allowed.returncode == 0 and json.loads(allowed.stdout) == {"one": 1}
        wrong = run_pts({**env, "PTS_WORKER_TOKEN": "guess"}, "query", "SELECT 1 AS one")
        assert wrong.returncode == 2 and "refused" in wrong.stderr
        none = {k: v for k, v in env.items() if k != "PTS_WORKER_TOKEN"}
        assert run_pts(none, "query", "SELECT 1 AS one").returncode == 2


class RunsACommand:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize(
    ("sealed", "refusal"),
    [
        (lambda planted: planted, "is not a sealed pts state"),
        (lambda planted: MARKER + b"\0" * 32 + planted, "does not verify under the checkpoint key"),
    ],
    ids=["bare-pickle", "forged-signature"],
)
def test_a_planted_snapshot_is_refused_and_never_run(
    pts_env: dict[str, str], tmp_path: Path, sealed: Callable[[bytes], bytes], refusal: str
) -> None:
    env = fresh_env(pts_env, tmp_path)
    assert run_pts(env, "topics").returncode == 0
    marker = tmp_path / "ran"
    planted = sealed(pickle.dumps(RunsACommand(marker)))
    record = {"project": "shop", "partition": 0, "offsets": {}, "worker": "attacker",
              "state": planted, "taken_at": utc_now()}  # fmt: skip
    producer = Producer({"bootstrap.servers": env["PTS_KAFKA_BOOTSTRAP"]})
    topic = f"{env['PTS_TOPIC_PREFIX']}.model-snapshots.{env['PTS_WORKER_ID']}"
    producer.produce(topic, key=b"shop", partition=0, value=wire.encode("ModelSnapshot", record))
    assert producer.flush(10) == 0
    result = run_pts(env, "worker", timeout=90)
    assert result.returncode == 2 and not marker.exists()
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("pts: error: snapshot of project 'shop' ") and refusal in last
    assert "To rebuild the models from the topics" in last


def test_answers_go_only_to_the_responses_topic(pts_worker: RunningWorker) -> None:
    env = pts_worker.env
    prefix = env["PTS_TOPIC_PREFIX"]
    hijack = SubsetRequest("evil", "shop", "1", ("a",), Target.parse("50%"), f"{prefix}.builds")
    producer = Producer({"bootstrap.servers": env["PTS_KAFKA_BOOTSTRAP"],
                         "partitioner": "murmur2_random"})  # fmt: skip
    producer.produce(f"{prefix}.subset-requests", key=b"shop",
                     value=wire.encode("SubsetRequest", hijack.to_record()))  # fmt: skip
    assert producer.flush(10) == 0
    letters = dead_letters(env, f"{prefix}.subset-requests")
    assert letters and "is not" in letters[0]["reason"] and "builds" in letters[0]["reason"]
    answer = run_pts(env, "subset", "-p", "shop", "-b", "1", "--target", "50%", stdin="a\nb\n")
    assert answer.returncode == 0 and "running all" not in answer.stderr


def test_an_unknown_project_is_warned_of(pts_worker: RunningWorker) -> None:
    answer = run_pts(pts_worker.env, "subset", "-p", "shpo", "-b", "1", "--target", "100%",
                     stdin="a\nb\n")  # fmt: skip
    assert answer.returncode == 0 and answer.stdout.split() == ["a", "b"]
    assert "the worker knows no project 'shpo'" in answer.stderr


def test_query_without_a_worker_or_a_store_says_so(pts_env: dict[str, str], tmp_path: Path) -> None:
    env = fresh_env(pts_env, tmp_path)
    result = run_pts(env, "query", "SELECT 1 AS one", cwd=tmp_path)
    assert result.returncode == 2 and "start `pts worker`" in result.stderr
    assert not (tmp_path / "data").exists() and not (tmp_path / ".pts").exists()


def test_impossible_durations_and_broken_ids_are_refused(
    pts_env: dict[str, str], tmp_path: Path
) -> None:
    huge = tmp_path / "huge.xml"
    huge.write_text('<testsuite name="s"><testcase classname="c" name="t" time="1.7e308"/>'
                    "</testsuite>")  # fmt: skip
    broken = tmp_path / "broken.xml"
    broken.write_text('<testsuite name="s"><testcase classname="c" name="a&#10;b"/></testsuite>')
    result = run_pts(pts_env, "record", "tests", "-p", "x", "-b", "1", "--dry-run",
                     str(huge), str(broken))  # fmt: skip
    assert result.returncode == 2
    assert "huge.xml:1: time '1.7e308' is beyond" in result.stderr
    assert "broken.xml:1: testcase name 'a\\nb' holds a line break" in result.stderr


def test_an_oversized_bad_message_is_set_aside_and_loading_goes_on(
    pts_worker: RunningWorker,
) -> None:
    env = pts_worker.env
    prefix = env["PTS_TOPIC_PREFIX"]
    producer = Producer({"bootstrap.servers": env["PTS_KAFKA_BOOTSTRAP"],
                         "message.max.bytes": 4_000_000})  # fmt: skip
    producer.produce(f"{prefix}.predictions", key=b"shop", value=b"\x00" * 3_000_000)
    assert producer.flush(10) == 0
    letters = dead_letters(env, f"{prefix}.predictions")
    assert letters and "value cut from 3000000" in letters[0]["reason"]
    assert len(letters[0]["value"]) < 1_000_000
    assert pts_worker.get("/health")["history"]["state"] == "running"
    after = run_pts(env, "query", "SELECT count() AS n FROM pts.builds")
    assert after.returncode == 0


def test_selection_goes_on_while_a_clickhouse_server_is_away(
    pts_env: dict[str, str], tmp_path: Path
) -> None:
    nowhere = free_port()  # nothing listens there
    env = fresh_env(pts_env, tmp_path, PTS_CLICKHOUSE_URL=f"http://127.0.0.1:{nowhere}/pts")
    (tmp_path / "data").mkdir()
    with running_worker(env) as worker:
        answer = run_pts(env, "subset", "-p", "shop", "-b", "1", "--target", "100%",
                         stdin="a\nb\n")  # fmt: skip
        assert answer.returncode == 0 and "running all" not in answer.stderr
        health = worker.get("/health")
        assert health["status"] == "degraded"
        assert health["history"]["state"] == "retrying" and health["history"]["error"]


def learned(worker: RunningWorker, project: str) -> int:
    try:
        return worker.get("/health")["projects"].get(project, {}).get("results_learned", 0)
    except OSError:
        return -1


def test_a_broker_outage_costs_a_few_log_lines_and_the_worker_carries_on(tmp_path: Path) -> None:
    broker_dir = tmp_path / "broker"
    with running_broker(broker_dir) as bootstrap:
        env = fresh_env({**os.environ, "PTS_KAFKA_BOOTSTRAP": bootstrap, "PTS_PARTITIONS": "2",
                         "PTS_LOG_LEVEL": "warning"}, tmp_path)  # fmt: skip
        broker_env = {**os.environ, "PTS_BROKER_DIR": str(broker_dir),
                      "PTS_BROKER_PORT": bootstrap.rsplit(":", 1)[1]}  # fmt: skip
        log = tmp_path / "worker.log"
        worker = start_worker(env, log)
        try:
            report = str(FIXTURES_JUNIT / "pytest.xml")
            assert run_pts(env, "record", "tests", "-p", "shop", "-b", "1", report).returncode == 0
            assert wait_until(lambda: learned(worker, "shop") > 0, 90)
            before = learned(worker, "shop")
            quiet = len(log.read_text().splitlines())

            subprocess.run([str(BROKER_SCRIPT), "stop"], env=broker_env, check=True)
            stopped_at = time.monotonic()
            # The outage lasts until the worker has seen it (two failed checks, later on a
            # loaded machine) and at least 12 s (the client libraries retry many times a second).
            assert wait_until(lambda: "broker_unreachable" in log.read_text(), 120)
            time.sleep(max(0.0, 12 - (time.monotonic() - stopped_at)))
            outage = log.read_text().splitlines()[quiet:]
            subprocess.run([str(BROKER_SCRIPT), "start"], env=broker_env, check=True)

            assert len(outage) <= 40, "\n".join(outage[:60])  # about 900 before collapsing
            assert wait_until(lambda: "broker_reachable_again" in log.read_text(), 120)
            events = [json.loads(line).get("event") for line in log.read_text().splitlines()
                      if line.startswith("{")]  # fmt: skip
            assert events.index("broker_unreachable") < events.index("broker_reachable_again")
            assert wait_until(lambda: worker.get("/health")["status"] == "ok", 120)
            assert run_pts(env, "record", "tests", "-p", "shop", "-b", "2", report).returncode == 0
            assert wait_until(lambda: learned(worker, "shop") > before, 120), log.read_text()
        finally:
            worker.stop()
