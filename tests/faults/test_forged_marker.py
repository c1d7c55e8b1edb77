"""The fault suite, continued: whatever on the snapshot topic does not verify stops the worker
with exit code 2 and one line naming the partition and offset and saying how to rebuild, instead
of being trusted. A forged offsets marker would otherwise make a worker skip every later batch
of its partition without a word; garbage would stop it without saying where; a state signed
with the right key but holding a command would run it. Following the hint (delete the snapshot
topic) brings back a worker that learns everything, the later batches included."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    Producer,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient

from pts.core import wire
from pts.core.events import utc_now
from pts.streams.checkpoints import seal
from pts.streams.snapshots import MARKER_KEY
from tests.conftest import (
    FIXTURES_JUNIT,
    RunningWorker,
    free_port,
    run_pts,
    start_worker,
    wait_until,
)

pytestmark = pytest.mark.integration

GOOD = "0123456789abcdef" * 4  # what `openssl rand -hex 32` gives
HINT = "To rebuild the models from the topics instead, stop every worker of group"


def fresh_env(base: dict[str, str], tmp_path: Path, **extra: str) -> dict[str, str]:
    suffix = uuid.uuid4().hex[:8]
    return {
        **base, "PTS_TOPIC_PREFIX": f"forged-{suffix}", "PTS_WORKER_ID": f"forged-{suffix}",
        "PTS_WORKER_HTTP_PORT": str(free_port()), "PTS_DATA_DIR": str(tmp_path / "data"),
        "PTS_LOG_LEVEL": "info", **extra,
    }  # fmt: skip


def snapshot_topic(env: dict[str, str]) -> str:
    return f"{env['PTS_TOPIC_PREFIX']}.model-snapshots.{env['PTS_WORKER_ID']}"


def hint(env: dict[str, str]) -> str:
    return f"{HINT} {env['PTS_WORKER_ID']}, delete topic {snapshot_topic(env)}, and start again"


def plant(env: dict[str, str], partition: int, key: bytes, value: bytes) -> int:
    """Write a message to the snapshot topic as an attacker would; its offset."""
    delivered: list[int] = []

    def on_delivery(err: KafkaError | None, message: Message) -> None:
        assert err is None, err
        delivered.append(message.offset())

    producer = Producer({"bootstrap.servers": env["PTS_KAFKA_BOOTSTRAP"]})
    producer.produce(snapshot_topic(env), value, key, partition=partition, on_delivery=on_delivery)
    assert producer.flush(30) == 0 and delivered
    return delivered[0]


def partition_holding(env: dict[str, str], key: bytes) -> int:
    """The partition of the snapshot topic where `key` was written."""
    consumer = Consumer({"bootstrap.servers": env["PTS_KAFKA_BOOTSTRAP"], "group.id": "reader",
                         "enable.partition.eof": True, "enable.auto.commit": False})  # fmt: skip
    partitions = int(env["PTS_PARTITIONS"])
    consumer.assign(
        [TopicPartition(snapshot_topic(env), p, OFFSET_BEGINNING) for p in range(partitions)]
    )
    found, ended = None, set()
    deadline = time.monotonic() + 60
    try:
        while len(ended) < partitions and time.monotonic() < deadline:
            message = consumer.poll(1.0)
            if message is None:
                continue
            if message.error() is not None:
                if message.error().code() == KafkaError._PARTITION_EOF:
                    ended.add(message.partition())
                continue
            if message.key() == key:
                found = message.partition()
    finally:
        consumer.close()
    assert found is not None, f"no {key!r} on {snapshot_topic(env)}"
    return found


def group_is_empty(env: dict[str, str]) -> bool:
    """Whether the stopped worker has left its group (False while the broker cannot say)."""
    admin = AdminClient({"bootstrap.servers": env["PTS_KAFKA_BOOTSTRAP"]})
    group = env["PTS_WORKER_ID"]
    try:
        description = admin.describe_consumer_groups([group], request_timeout=10)[group]
        return not description.result(timeout=15).members
    except KafkaException:
        return False


def delete_snapshot_topic(env: dict[str, str]) -> None:
    """What the hint says: delete the topic (and wait until it is gone)."""
    admin = AdminClient({"bootstrap.servers": env["PTS_KAFKA_BOOTSTRAP"]})
    topic = snapshot_topic(env)
    admin.delete_topics([topic], operation_timeout=30)[topic].result(timeout=60)
    assert wait_until(lambda: topic not in admin.list_topics(timeout=10).topics, 60)


def learned(worker: RunningWorker, project: str) -> int:
    try:
        return worker.get("/health")["projects"].get(project, {}).get("results_learned", 0)
    except OSError:
        return -1


def record(env: dict[str, str], project: str, build: str, report: str) -> None:
    result = run_pts(env, "record", "tests", "-p", project, "-b", build,
                     str(FIXTURES_JUNIT / report))  # fmt: skip
    assert result.returncode == 0, result.stderr


def last_line(result: subprocess.CompletedProcess[str]) -> str:
    return result.stderr.strip().splitlines()[-1]


def test_a_forged_marker_stops_the_worker_and_the_hint_brings_it_back(
    pts_env: dict[str, str], tmp_path: Path
) -> None:
    env = fresh_env(pts_env, tmp_path)
    log = tmp_path / "worker.log"
    worker = start_worker(env, log, timeout_s=180)
    try:
        record(env, "forged", "1", "surefire.xml")
        assert wait_until(lambda: learned(worker, "forged") == 5, 120), log.read_text()
    finally:
        worker.stop()  # SIGTERM: its last snapshot round holds build 1
    partition = partition_holding(env, b"forged")
    assert wait_until(lambda: group_is_empty(env), 120)

    # The attacker's marker: this partition's topics "processed" up to offset 10^6.
    forged = {"project": "", "partition": partition, "worker": "attacker", "state": b"",
              "offsets": {"builds": 10**6, "test-results": 10**6},
              "taken_at": utc_now()}  # fmt: skip
    offset = plant(env, partition, MARKER_KEY, wire.encode("ModelSnapshot", forged))
    refused = run_pts(env, "worker", timeout=300)
    assert refused.returncode == 2, refused.stderr[-4000:]
    topic = snapshot_topic(env)
    assert last_line(refused) == (
        f"pts: error: offsets marker of partition {partition} ({topic}[{partition}] offset "
        f"{offset}) is not signed (forged, or written before pts signed its markers); it was not "
        f"loaded. {hint(env)}"
    )

    delete_snapshot_topic(env)  # the hint
    rebuilt = start_worker(env, log, timeout_s=180)
    try:
        assert wait_until(lambda: learned(rebuilt, "forged") == 5, 180), log.read_text()[-4000:]
        record(env, "forged", "2", "gradle.xml")  # a later batch of the same partition
        assert wait_until(lambda: learned(rebuilt, "forged") == 10, 180), log.read_text()[-4000:]
    finally:
        rebuilt.stop()


def test_garbage_on_the_snapshot_topic_stops_the_worker_saying_where(
    pts_env: dict[str, str], tmp_path: Path
) -> None:
    env = fresh_env(pts_env, tmp_path)
    assert run_pts(env, "topics").returncode == 0
    offset = plant(env, 1, b"junk", b"\x00\xffnot a snapshot at all")
    refused = run_pts(env, "worker", timeout=300)
    assert refused.returncode == 2, refused.stderr[-4000:]
    topic = snapshot_topic(env)
    assert last_line(refused) == (
        f"pts: error: the message at {topic}[1] offset {offset} is not a model snapshot (not "
        f"Avro single-object encoding (no C3 01 marker)); it was not loaded. {hint(env)}"
    )


class RunsACommand:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # what a planted pickle does when it is loaded
        return (os.system, (f"touch {self.marker}",))


def test_a_state_signed_with_the_key_cannot_run_a_command(
    pts_env: dict[str, str], tmp_path: Path
) -> None:
    env = fresh_env(pts_env, tmp_path, PTS_CHECKPOINT_KEY=GOOD)  # as if the key had leaked
    assert run_pts(env, "topics").returncode == 0
    marker = tmp_path / "ran"
    planted = {"project": "shop", "partition": 0, "offsets": {}, "worker": "attacker",
               "state": seal(RunsACommand(marker), GOOD.encode()),
               "taken_at": utc_now()}  # fmt: skip
    offset = plant(env, 0, b"shop", wire.encode("ModelSnapshot", planted))
    refused = run_pts(env, "worker", timeout=300)
    assert refused.returncode == 2, refused.stderr[-4000:]
    assert not marker.exists()
    topic = snapshot_topic(env)
    assert last_line(refused) == (
        f"pts: error: snapshot of project 'shop' ({topic}[0] offset {offset}) holds "
        f"posix.system, which is not part of a pts state; it was not loaded. {hint(env)}"
    )


def test_a_joining_worker_stops_the_same_way(pts_env: dict[str, str], tmp_path: Path) -> None:
    """A worker that joins a running group restores each partition it is given when it is
    given it, not at start-up: garbage there stops it too, with exit code 2 and the line."""
    env = fresh_env(pts_env, tmp_path, PTS_CHECKPOINT_KEY=GOOD)
    first = start_worker(env, tmp_path / "first.log", timeout_s=180)
    partitions = int(env["PTS_PARTITIONS"])
    try:
        assert wait_until(lambda: len(first.get("/health")["partitions"]) == partitions, 120)
        offsets = [plant(env, p, b"junk", b"\x00garbage") for p in range(partitions)]
        joining = {**env, "PTS_WORKER_HTTP_PORT": str(free_port()),
                   "PTS_DATA_DIR": str(tmp_path / "second")}  # fmt: skip
        log = tmp_path / "second.log"
        with log.open("wb") as out:
            second = subprocess.Popen([sys.executable, "-m", "pts.cli", "worker"], env=joining,
                                      stdout=out, stderr=subprocess.STDOUT)  # fmt: skip
        try:
            second.wait(timeout=300)
        finally:
            if second.poll() is None:
                second.kill()
                second.wait()
        text = log.read_text()
        assert second.returncode == 2, text[-4000:]
        events = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
        assert any(e.get("event") == "worker_joining_group" for e in events), text[-4000:]
        failed = [e for e in events if e.get("event") == "partition_restore_failed"]
        assert failed, text[-4000:]
        partition = failed[0]["partition"]
        refused = (
            f"the message at {snapshot_topic(env)}[{partition}] offset {offsets[partition]} is "
            "not a model snapshot (not Avro single-object encoding (no C3 01 marker)); it was "
            f"not loaded. {hint(env)}"
        )
        assert failed[0]["error"] == refused
        assert text.rstrip().splitlines()[-1] == f"pts: error: {refused}"  # the one line
    finally:
        first.stop()
