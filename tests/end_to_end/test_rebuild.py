"""`pts rebuild` with real workers on the session broker: a project rebuilt from the topics while
its worker keeps running answers as a worker that learned the same events live; the other
project's model is not written again; a rebuild that retention cut into is refused, with how
much is gone, and the live model stays."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient

from pts.core.settings import Settings
from pts.core.topics import topic_name
from tests.conftest import RunningWorker, free_port, run_pts, start_worker, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

PROJECTS = {"shop": 1, "bank": 2}  # project: synthetic history seed
CYCLES = "6"
CANDIDATES = "".join(f"tests/m{m:02d}/test_{t}.py::test_{t}\n" for m in range(3) for t in range(4))


def deployment(base: dict[str, str], tmp_path: Path, name: str) -> dict[str, str]:
    suffix = uuid.uuid4().hex[:6]
    env = {
        **base,
        "PTS_TOPIC_PREFIX": f"{name}-{suffix}",
        "PTS_WORKER_ID": f"{name}-{suffix}",
        "PTS_PARTITIONS": "2",
        "PTS_CHECKPOINT_KEY": "the key of this test's two groups of workers",
        "PTS_WORKER_HTTP_PORT": str(free_port()),
        "PTS_DATA_DIR": str(tmp_path / name),
        "PTS_LOG_LEVEL": "info",
    }
    Path(env["PTS_DATA_DIR"]).mkdir(parents=True)
    return env


def replay(env: dict[str, str], project: str, seed: int) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pts.cli", "replay", f"synthetic:{seed}", "--project", project,
         "--limit", CYCLES],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


def replay_process(env: dict[str, str], project: str, seed: int, cycles: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "pts.cli", "replay", f"synthetic:{seed}",
               "--project", project, "--limit", cycles]  # fmt: skip
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)  # fmt: skip


def snapshot_keys_after(env: dict[str, str], offsets: dict[int, int]) -> list[bytes]:
    """The keys written to the deployment's snapshot topic after `offsets`."""
    settings = Settings(topic_prefix=env["PTS_TOPIC_PREFIX"], worker_id=env["PTS_WORKER_ID"])
    topic = topic_name(settings, "model-snapshots")
    consumer = Consumer({"bootstrap.servers": env["PTS_KAFKA_BOOTSTRAP"],
                         "group.id": "test-reader", "enable.partition.eof": True})  # fmt: skip
    keys: list[bytes] = []
    try:
        consumer.assign([TopicPartition(topic, p, o) for p, o in offsets.items()])
        ended: set[int] = set()
        deadline = time.monotonic() + 30
        while len(ended) < len(offsets) and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None:
                continue
            if message.error() is not None:
                ended.add(message.partition())
                continue
            keys.append(message.key())
    finally:
        consumer.close()
    return keys


def snapshot_ends(env: dict[str, str]) -> dict[int, int]:
    settings = Settings(topic_prefix=env["PTS_TOPIC_PREFIX"], worker_id=env["PTS_WORKER_ID"])
    topic = topic_name(settings, "model-snapshots")
    consumer = Consumer({"bootstrap.servers": env["PTS_KAFKA_BOOTSTRAP"], "group.id": "ends"})
    try:
        return {
            p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
            for p in range(2)
        }
    finally:
        consumer.close()


def snapshotted_all(env: dict[str, str]) -> bool:
    """Whether a snapshot round covered every build and result: the group's committed position
    (which only a complete round moves) is at the end of each partition."""
    settings = Settings(topic_prefix=env["PTS_TOPIC_PREFIX"])
    partitions = [
        TopicPartition(topic_name(settings, stem), p)
        for stem in ("builds", "test-results")
        for p in range(2)
    ]
    consumer = Consumer({"bootstrap.servers": env["PTS_KAFKA_BOOTSTRAP"],
                         "group.id": env["PTS_WORKER_ID"]})  # fmt: skip
    try:
        committed = consumer.committed(partitions, timeout=10)
        ends = [consumer.get_watermark_offsets(tp, timeout=10)[1] for tp in partitions]
    finally:
        consumer.close()
    return [max(tp.offset, 0) for tp in committed] == ends


def answers(env: dict[str, str]) -> dict[str, str]:
    got = {}
    for project in PROJECTS:
        asked = run_pts(env, "subset", "-p", project, "-b", "after-rebuild", "--target", "50%",
                        stdin=CANDIDATES)  # fmt: skip
        assert asked.returncode == 0, asked.stderr
        assert "running all" not in asked.stderr, asked.stderr
        got[project] = asked.stdout
    return got


def test_a_rebuilt_project_answers_as_a_worker_that_learned_live(
    pts_env: dict[str, str], tmp_path: Path, kafka_admin: AdminClient
) -> None:
    live_env = deployment(pts_env, tmp_path, "live")
    rebuilt_env = deployment(pts_env, tmp_path, "rebuilt")
    workers: list[RunningWorker] = []
    try:
        for env in (live_env, rebuilt_env):
            workers.append(start_worker(env, tmp_path / f"{env['PTS_WORKER_ID']}.log",
                                        args=("--no-history",)))  # fmt: skip
        live, rebuilt = workers
        for project, seed in PROJECTS.items():
            for env in (live_env, rebuilt_env):
                replay(env, project, seed)

        def learned(worker: RunningWorker) -> dict[str, int]:
            return {n: p["results_learned"] for n, p in worker.get("/health")["projects"].items()}

        assert wait_until(
            lambda: learned(live) == learned(rebuilt) and set(learned(live)) == set(PROJECTS), 180
        ), (learned(live), learned(rebuilt))
        assert wait_until(lambda: snapshotted_all(rebuilt_env), 60)
        before = rebuilt.get("/health")["projects"]
        ends = snapshot_ends(rebuilt_env)

        done = run_pts(rebuilt_env, "rebuild", "--project", "shop", timeout=300)

        assert done.returncode == 0, done.stderr
        shop_results = before["shop"]["results_learned"]
        took_over = (
            f"the rebuilt model of shop took over on worker {rebuilt_env['PTS_WORKER_ID']}: "
            f"it learned {shop_results:,} results"
        )
        assert took_over in done.stderr, done.stderr
        assert "pts: rebuild of shop:" in done.stderr  # plain progress lines, not a terminal
        # The rebuilt model is the live one's equal: the same state, the same answers.
        assert rebuilt.get("/health")["projects"] == live.get("/health")["projects"] == before
        # The next snapshot round writes shop's rebuilt model, and not bank's.
        assert wait_until(lambda: b"shop" in snapshot_keys_after(rebuilt_env, ends), 60)
        assert b"bank" not in snapshot_keys_after(rebuilt_env, ends)
        assert answers(rebuilt_env) == answers(live_env)

        # A rebuild of bank while its results stream in (its first cycles again, as a
        # redelivery would, then new ones): whatever the interleaving, nothing is learned twice
        # or lost, and the model is still the live one's equal.
        bank_results = learned(rebuilt)["bank"]
        streaming = [
            replay_process(env, "bank", PROJECTS["bank"], "12") for env in (live_env, rebuilt_env)
        ]
        during = run_pts(rebuilt_env, "rebuild", "--project", "bank", timeout=300)
        for process in streaming:
            _, err = process.communicate(timeout=300)
            assert process.returncode == 0, err
        assert during.returncode == 0, during.stderr
        assert wait_until(
            lambda: learned(live) == learned(rebuilt) and learned(live)["bank"] > bank_results,
            180,
        ), (learned(live), learned(rebuilt))
        assert rebuilt.get("/health")["projects"] == live.get("/health")["projects"]
        assert answers(rebuilt_env) == answers(live_env)

        unknown = run_pts(rebuilt_env, "rebuild", "--project", "nobody", timeout=300)
        assert unknown.returncode == 2
        assert "holds no model of nobody, and the topics no event of it" in unknown.stderr

        # Retention takes the first results of every partition: a rebuild cannot learn them.
        results = topic_name(Settings(topic_prefix=rebuilt_env["PTS_TOPIC_PREFIX"]), "test-results")
        deleted = kafka_admin.delete_records([TopicPartition(results, p, 2) for p in range(2)])
        for future in deleted.values():
            future.result(timeout=30)
        refused = run_pts(rebuilt_env, "rebuild", "--project", "shop", timeout=300)

        assert refused.returncode == 2, refused.stderr
        assert "the rebuild of shop was refused: the topics no longer hold" in refused.stderr
        assert "results the model of shop learned" in refused.stderr
        assert "starts at offset 2" in refused.stderr and "the live model stays" in refused.stderr
        assert learned(rebuilt)["shop"] == shop_results
    finally:
        for worker in workers:
            worker.stop()
