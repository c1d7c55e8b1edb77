"""The fault suite, continued: a poison message (a valid fingerprint, then megabytes of invalid
UTF-8) among good batches, and the broker stopped while batches wait for their builds. Every
good batch around them is learned once and stored once, the bad one is set aside with a
bounded reason, no agent or loader stops, and /health says what is true."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import Consumer

from pts.client.publisher import EventPublisher, batches_of
from pts.core import wire
from pts.core.events import Build, Commit, Outcome, TestResult, to_record, utc_now
from pts.core.kafka import CheckedProducer, admin_client
from pts.core.settings import Settings
from pts.core.topics import ensure_topics
from pts.selection.selector import Selector
from pts.streams.app import WorkerState
from pts.worker.process import SHUTDOWN_BOUND_S
from tests.conftest import (
    RunningWorker,
    free_port,
    run_pts,
    running_broker,
    start_worker,
    wait_until,
)
from tests.faults.test_nothing_lost import signal_tree

pytestmark = pytest.mark.integration
RESULTS = 20
POISON_BYTES = 3_000_000
LONGEST_LOG_LINE = 20_000


def fresh_env(bootstrap: str, tmp_path: Path) -> dict[str, str]:
    suffix = uuid.uuid4().hex[:8]
    return {
        **os.environ, "PTS_KAFKA_BOOTSTRAP": bootstrap, "PTS_TOPIC_PREFIX": f"poison-{suffix}",
        "PTS_PARTITIONS": "3", "PTS_WORKER_ID": f"poison-{suffix}",
        "PTS_WORKER_HTTP_PORT": str(free_port()), "PTS_DATA_DIR": str(tmp_path / "data"),
        "PTS_LOG_LEVEL": "info",
    }  # fmt: skip


def settings_of(env: dict[str, str]) -> Settings:
    return Settings(
        kafka_bootstrap=env["PTS_KAFKA_BOOTSTRAP"], topic_prefix=env["PTS_TOPIC_PREFIX"],
        partitions=int(env["PTS_PARTITIONS"]), record_timeout_s=30,
    )  # fmt: skip


def results(build: int) -> list[TestResult]:
    return [
        TestResult(f"s::t{i}", "s", f"t{i}",
                   Outcome.FAILED if (build + i) % 5 == 0 else Outcome.PASSED, 0.1)
        for i in range(RESULTS)
    ]  # fmt: skip


def good_build(
    publisher: EventPublisher, project: str, build: int, with_build: bool = True
) -> None:
    batch = batches_of(project, str(build), "junit.xml", [results(build)], f"{project}-{build}")
    publisher.publish(Build(project, str(build), f"c{build}") if with_build else None, (), batch)


def poisoned(schema: str, record: dict, filler: str) -> bytes:
    """A message of `schema` whose string field holding `filler` is invalid UTF-8 instead: the
    fingerprint is right, the body is not."""
    payload = wire.encode(schema, record)
    assert payload.count(filler.encode()) == 1
    return payload.replace(filler.encode(), b"\xff" * len(filler))


def learned(worker: RunningWorker, *projects: str) -> int:
    try:
        known = worker.get("/health")["projects"]
    except OSError:
        return -1
    return sum(known.get(p, {}).get("results_learned", 0) for p in projects)


def stored(env: dict[str, str]) -> int:
    result = run_pts(env, "query", "SELECT count() AS n FROM pts.test_results")
    return json.loads(result.stdout)["n"] if result.returncode == 0 else -1


def letters(env: dict[str, str], wanted: int, timeout_s: float = 60) -> list[dict]:
    """The dead letters, once `wanted` have come (or when time is up), and a few seconds more."""
    consumer = Consumer({"bootstrap.servers": env["PTS_KAFKA_BOOTSTRAP"],
                         "group.id": f"read-{uuid.uuid4().hex[:6]}",
                         "auto.offset.reset": "earliest"})  # fmt: skip
    found: list[dict] = []
    try:
        consumer.subscribe([f"{env['PTS_TOPIC_PREFIX']}.dead-letters"])
        deadline, settled = time.monotonic() + timeout_s, None
        while time.monotonic() < deadline and (settled is None or time.monotonic() < settled):
            message = consumer.poll(0.5)
            if message is not None and not message.error():
                found.append(wire.decode(message.value(), expected="DeadLetter")[1])
            if len(found) >= wanted and settled is None:
                settled = time.monotonic() + 3  # watch a while for more
    finally:
        consumer.close()
    return found


def log_lines(worker: RunningWorker) -> list[str]:
    return worker.log.read_text(errors="replace").splitlines()


@pytest.fixture
def worker_env(kafka_bootstrap: str, tmp_path: Path) -> Iterator[tuple[RunningWorker, dict]]:
    env = fresh_env(kafka_bootstrap, tmp_path)
    worker = start_worker(env, tmp_path / "worker.log")
    try:
        yield worker, env
    finally:
        worker.stop()


def test_a_poison_message_is_set_aside_and_every_good_batch_around_it_is_learned_and_stored(
    worker_env: tuple[RunningWorker, dict],
) -> None:
    worker, env = worker_env
    settings = settings_of(env)
    publisher = EventPublisher(settings)
    raw = CheckedProducer(settings)
    filler = "x" * POISON_BYTES
    for build in range(1, 4):
        for project in ("shop", "web"):
            good_build(publisher, project, build)
    publisher.flush()
    # A batch of results (read by the worker and the loader) and a commit (read by the loader
    # alone, which sets it aside itself), each with megabytes of invalid UTF-8.
    bad_batch = batches_of("shop", "3", filler, [results(3)], "bad")[0]
    raw.produce(f"{settings.topic_prefix}.test-results", "shop",
                poisoned("TestResultBatch", bad_batch.to_record(), filler))  # fmt: skip
    bad_commit = Commit("shop", "c3", utc_now(), message=filler)
    raw.produce(f"{settings.topic_prefix}.commits", "shop",
                poisoned("Commit", to_record(bad_commit), filler))  # fmt: skip
    raw.flush()
    for build in range(4, 7):
        for project in ("shop", "web"):
            good_build(publisher, project, build)
    publisher.flush()

    total = 6 * 2 * RESULTS
    assert wait_until(lambda: learned(worker, "shop", "web") == total, 120), learned(
        worker, "shop", "web"
    )
    assert wait_until(lambda: stored(env) == total, 120), stored(env)
    set_aside = letters(env, wanted=2)
    by_topic = {letter["topic"].rpartition(".")[2]: letter for letter in set_aside}
    assert sorted(by_topic) == ["commits", "test-results"], [x["topic"] for x in set_aside]
    assert len(set_aside) == 2  # one letter each, though the worker and the loader read results
    for letter in set_aside:
        assert "body does not decode: UnicodeDecodeError" in letter["reason"]
        assert len(letter["reason"]) < 5_000
        assert "the whole message is at" in letter["reason"]  # the value was cut to fit

    health = worker.get("/health")
    assert health["status"] == "ok", health
    assert "degraded" not in health
    assert health["history"]["state"] == "running"
    lines = log_lines(worker)
    assert max(map(len, lines)) < LONGEST_LOG_LINE
    assert not [line for line in lines if "agent_crashed" in line or "loader_crashed" in line]
    time.sleep(2)
    assert (learned(worker, "shop", "web"), stored(env)) == (total, total)  # and nothing more

    started = time.monotonic()
    worker.process.send_signal(signal.SIGTERM)
    worker.process.wait(timeout=SHUTDOWN_BOUND_S + 30)
    assert worker.process.returncode == 0, (time.monotonic() - started, log_lines(worker)[-5:])


async def catch_up_while_stopped(settings: Settings, broker_pid: int, tmp_path: Path) -> None:
    """A worker's catch-up asks the broker where the builds end while the broker is stopped:
    not caught up, no error, logged once; a wait for the build still ends when it arrives."""
    settings = settings.model_copy(update={"worker_id": "catch-up", "data_dir": tmp_path})
    ensure_topics(admin_client(settings), settings)
    state = WorkerState(settings, Selector(), {})
    try:
        for _ in range(60):  # a new topic's leader takes a moment to be known
            if await state.catch_up(0, ("builds",), timeout_s=5):  # nothing written: caught up
                break
            await asyncio.sleep(1)
        else:
            raise AssertionError("the catch-up never found the builds' end")
        signal_tree(broker_pid, signal.SIGSTOP)
        try:
            assert not await state.catch_up(0, ("builds",), timeout_s=0.5)
            arrived = asyncio.get_running_loop().call_later(
                0.5, lambda: asyncio.ensure_future(state.mark_processed("x", 0, 1))
            )
            assert await state.catch_up(
                0, ("builds",), timeout_s=30, or_until=lambda: state.processed.get(("x", 0)) == 1
            )
            arrived.cancel()
            assert await state.results_behind(0, "late") == 0
        finally:
            signal_tree(broker_pid, signal.SIGCONT)
    finally:
        await asyncio.get_running_loop().run_in_executor(None, state.close)


def test_batches_waiting_for_their_builds_are_learned_through_a_broker_stop(
    tmp_path: Path,
) -> None:
    """A catch-up asked of a stopped broker (on a worker's own state: the failure path, every
    time); then, through a real worker, results recorded before their builds and a broker stop
    before the builds come: no batch is set aside, each is learned once. (Whether the worker
    asks during the stop depends on where it is; the first part does not.)"""
    with running_broker(tmp_path / "broker") as bootstrap:
        env = fresh_env(bootstrap, tmp_path)
        broker_pid = int((tmp_path / "broker" / "broker.pid").read_text())
        asyncio.run(catch_up_while_stopped(settings_of(env), broker_pid, tmp_path))
        worker = start_worker(env, tmp_path / "worker.log")
        try:
            publisher = EventPublisher(settings_of(env))
            builds = range(1, 31)
            for build in builds:
                good_build(publisher, "late", build, with_build=False)
            publisher.flush()
            signal_tree(broker_pid, signal.SIGSTOP)  # while the worker asks where builds end
            time.sleep(6)
            signal_tree(broker_pid, signal.SIGCONT)
            for build in builds:
                publisher.publish(Build("late", str(build), f"c{build}"))
            publisher.flush()
            total = len(builds) * RESULTS
            assert wait_until(lambda: learned(worker, "late") == total, 180), learned(
                worker, "late"
            )
            assert wait_until(lambda: stored(env) == total, 120), stored(env)
            assert not [x for x in letters(env, wanted=1, timeout_s=5)
                        if x["topic"].endswith(".test-results")]  # fmt: skip
            time.sleep(2)
            assert learned(worker, "late") == total
            assert worker.get("/health")["status"] == "ok"
        finally:
            signal_tree(broker_pid, signal.SIGCONT)
            worker.stop()
