"""The history loader against the session's real Kafka broker and real chdb in tmp_path."""

from __future__ import annotations

import io
import json
import struct
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from pts.consumers.history_loader import HistoryLoader, LoadStats
from pts.core import wire
from pts.core.errors import ConfigError, StoreError
from pts.core.events import (
    Build,
    ChangedFile,
    Commit,
    Outcome,
    TestResult,
    TestResultBatch,
    to_record,
)
from pts.core.logs import configure
from pts.core.settings import Settings
from pts.core.topics import ensure_topics, topic_name
from pts.sinks.chdb_store import ChdbStore

pytestmark = pytest.mark.integration

T0 = datetime(2024, 5, 6, 7, 8, 9, 123000, tzinfo=UTC)
STEMS = ("builds", "commits", "test-results")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ChdbStore]:
    with ChdbStore(tmp_path / "chdb") as opened:
        yield opened


@pytest.fixture
def loader_settings(kafka_bootstrap: str, kafka_admin: AdminClient, unique_group: str) -> Settings:
    """Settings whose topics (under a prefix of their own) exist, two partitions each."""
    settings = Settings(
        kafka_bootstrap=kafka_bootstrap,
        topic_prefix=f"test-{uuid.uuid4().hex[:8]}",
        partitions=2,
        worker_id=unique_group,
    )
    ensure_topics(kafka_admin, settings)
    return settings


@pytest.fixture
def topics(loader_settings: Settings) -> dict[str, str]:
    stems = {"Build": "builds", "Commit": "commits", "TestResultBatch": "test-results"}
    names = {kind: topic_name(loader_settings, stem) for kind, stem in stems.items()}
    return {**names, "dead": topic_name(loader_settings, "dead-letters")}


@pytest.fixture
def open_loader(loader_settings: Settings) -> Iterator[Callable[..., HistoryLoader]]:
    opened: list[HistoryLoader] = []

    def open_(store: Any, group: str | None = None) -> HistoryLoader:
        settings = loader_settings
        if group is not None:  # the loader's group is the worker's id plus "-history"
            settings = settings.model_copy(update={"worker_id": group})
        loader = HistoryLoader(
            settings, store, stems=STEMS, worker_dead_letters=False, batch_size=50
        )
        opened.append(loader)
        return loader

    yield open_
    for loader in opened:
        loader.close()


def produce(bootstrap: str, topic: str, payloads: list[bytes], key: bytes = b"shop") -> None:
    producer = Producer({"bootstrap.servers": bootstrap})
    for payload in payloads:
        producer.produce(topic, key=key, value=payload)
    assert producer.flush(10) == 0


def results(build_id: str, failing: str = "test_pay") -> TestResultBatch:
    tests = [("test_add", Outcome.PASSED), ("test_pay", Outcome.PASSED)]
    return TestResultBatch(
        project="shop",
        build_id=build_id,
        report="junit.xml",
        results=tuple(
            TestResult(f"cart::{name}", "cart", name, Outcome.FAILED if name == failing else o, 0.5)
            for name, o in tests
        ),
        recorded_at=T0,
    )


def encoded(kind: str, event: Any) -> bytes:
    return wire.encode(kind, to_record(event))


def load(loader: HistoryLoader, messages: int, timeout: float = 30.0) -> LoadStats:
    """Run batches until `messages` were handled, then check that nothing more comes."""
    total, deadline = LoadStats(), time.monotonic() + timeout
    while total.messages < messages:
        assert time.monotonic() < deadline, f"only {total} after {timeout}s"
        total.add(loader.run_once(timeout=0.5))
    total.add(loader.run_once(timeout=0.5))
    assert total.messages == messages
    return total


def count(store: ChdbStore, table: str) -> int:
    return store.query(f"SELECT count() AS n FROM pts.{table} FINAL")[0]["n"]


def test_loads_builds_commits_and_test_results(
    store: ChdbStore, kafka_bootstrap: str, topics: dict[str, str], open_loader: Any
) -> None:
    commit = Commit("shop", "c2", T0, ("c1",), "ana@example.com", "Fix cart",
                    (ChangedFile("src/cart.py", 3, 1),))  # fmt: skip
    build = Build("shop", "b1", "c2", T0, "c1", ("c2",), (ChangedFile("src/cart.py", 3, 1),))
    produce(kafka_bootstrap, topics["Commit"], [encoded("Commit", commit)])
    produce(kafka_bootstrap, topics["Build"], [encoded("Build", build)])
    produce(kafka_bootstrap, topics["TestResultBatch"],
            [encoded("TestResultBatch", results(f"b{i}")) for i in range(1, 4)])  # fmt: skip

    stats = load(open_loader(store), messages=5)

    assert stats.loaded == {"Build": 1, "Commit": 1, "TestResultBatch": 3}
    assert stats.dead_lettered == 0
    assert store.query("SELECT build_id, commit_sha, base_sha, changed_files, started_at "
                       "FROM pts.builds") == [  # fmt: skip
        {"build_id": "b1", "commit_sha": "c2", "base_sha": "c1", "started_at": T0,
         "changed_files": [{"path": "src/cart.py", "added": 3, "deleted": 1}]},
    ]  # fmt: skip
    assert store.query("SELECT sha, parents, message FROM pts.commits") == [
        {"sha": "c2", "parents": ["c1"], "message": "Fix cart"}
    ]
    failed = store.query(
        "SELECT build_id, test_id FROM pts.test_results WHERE outcome = 'failed' ORDER BY build_id"
    )
    assert failed == [{"build_id": f"b{i}", "test_id": "cart::test_pay"} for i in range(1, 4)]
    assert count(store, "test_results") == 6


def test_undecodable_messages_go_to_the_dead_letter_topic(
    store: ChdbStore, kafka_bootstrap: str, topics: dict[str, str], open_loader: Any,
    unique_group: str,
) -> None:  # fmt: skip
    unknown_fingerprint = wire.MARKER + struct.pack("<Q", 12345) + b"\x02\x04body"
    wrong_kind = encoded("Build", Build("shop", "b9", "c9", T0))
    bad = [b"not avro at all", unknown_fingerprint, wrong_kind]
    payloads = [encoded("TestResultBatch", results("b1")), *bad,
                encoded("TestResultBatch", results("b2"))]  # fmt: skip
    produce(kafka_bootstrap, topics["TestResultBatch"], payloads, key=b"shop")

    stats = load(open_loader(store), messages=5)

    assert stats.loaded == {"TestResultBatch": 2}
    assert stats.dead_lettered == 3
    assert store.query("SELECT DISTINCT build_id FROM pts.test_results ORDER BY build_id") == [
        {"build_id": "b1"}, {"build_id": "b2"},
    ]  # fmt: skip
    letters = read_dead_letters(kafka_bootstrap, topics["dead"], f"{unique_group}-dlq", 3)
    assert [letter["value"] for letter in letters] == bad
    assert [letter["offset"] for letter in letters] == [1, 2, 3]
    assert all(letter["topic"] == topics["TestResultBatch"] for letter in letters)
    assert all(letter["key"] == b"shop" and letter["partition"] >= 0 for letter in letters)
    reasons = [letter["reason"] for letter in letters]
    assert "no C3 01 marker" in reasons[0]
    assert "unknown writer schema fingerprint" in reasons[1]
    assert "expected a TestResultBatch message, got Build" in reasons[2]
    assert all(abs(letter["failed_at"] - datetime.now(UTC)) < timedelta(minutes=5)
               for letter in letters)  # fmt: skip


def read_dead_letters(bootstrap: str, topic: str, group: str, expected: int) -> list[dict]:
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest"}
    )
    letters: list[dict] = []
    try:
        consumer.subscribe([topic])
        deadline = time.monotonic() + 30
        while len(letters) < expected and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is not None and message.error() is None:
                name, record = wire.decode(message.value(), expected="DeadLetter")
                letters.append(record)
    finally:
        consumer.close()
    return sorted(letters, key=lambda letter: letter["offset"])


def test_a_replay_with_a_new_group_adds_no_duplicates(
    store: ChdbStore, kafka_bootstrap: str, topics: dict[str, str], open_loader: Any
) -> None:
    produce(kafka_bootstrap, topics["TestResultBatch"],
            [encoded("TestResultBatch", results(f"b{i}")) for i in range(4)])  # fmt: skip
    produce(kafka_bootstrap, topics["Build"], [encoded("Build", Build("shop", "b0", "c0", T0))])
    first = open_loader(store)
    load(first, messages=5)
    first.close()

    assert load(open_loader(store), messages=0).messages == 0  # same group: all committed
    assert load(open_loader(store, group="replay-" + topics["Build"]), messages=5).loaded == {
        "TestResultBatch": 4, "Build": 1,
    }  # fmt: skip
    assert count(store, "test_results") == 8
    assert store.query("SELECT count() AS n FROM pts.test_results") == [{"n": 8}]
    assert count(store, "builds") == 1


class AwayAtFirst:
    """A store that takes no write for its first seconds, while it still answers reads: as if
    ClickHouse were away, or its disk read-only (root, as CI runs, writes to a read-only
    directory anyway, so the failure is made here)."""

    def __init__(self, store: ChdbStore, away_s: float = 2.0) -> None:
        self.store, self.away_s, self.failures = store, away_s, 0
        self.back_at: float | None = None  # away from the first write on

    def __getattr__(self, name: str) -> Any:
        statement = getattr(self.store, name)
        if name not in ("insert_records", "probe_write"):
            return statement

        def maybe_away(*args: Any, **kwargs: Any) -> Any:
            if self.back_at is None:
                self.back_at = time.monotonic() + self.away_s
            if time.monotonic() < self.back_at:
                self.failures += 1
                raise StoreError("chdb: pretend the server is away")
            return statement(*args, **kwargs)

        return maybe_away


def test_an_insert_that_fails_while_the_store_is_away_is_retried_and_nothing_is_lost(
    store: ChdbStore, kafka_bootstrap: str, topics: dict[str, str], open_loader: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    produce(kafka_bootstrap, topics["TestResultBatch"],
            [encoded("TestResultBatch", results(f"b{i}")) for i in range(3)])  # fmt: skip
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    configure("info")
    away = AwayAtFirst(store, away_s=4)  # retried after 0.5, 1 and 2 s: several failed tries
    loader = open_loader(away)
    stop = threading.Event()
    threading.Timer(30, stop.set).start()  # a safety net; idle exit ends it sooner
    health: list[str] = []

    def watch() -> None:
        while away.back_at is None or time.monotonic() < away.back_at - 0.5:
            time.sleep(0.1)
        health.append(loader.health.state)

    threading.Thread(target=watch, daemon=True).start()
    total = loader.run(stop=stop, idle_exit_after=5)
    stop.set()
    assert away.failures > 0
    assert health == ["retrying"]  # reported while the store takes no writes
    assert (total.loaded, total.dead_lettered) == ({"TestResultBatch": 3}, 0)  # none set aside
    assert count(store, "test_results") == 6
    assert loader.health.as_dict()["error"] is None  # back to normal
    logged = [json.loads(line) for line in err.getvalue().splitlines()]
    events = [line["event"] for line in logged]
    # once when it starts failing and once when it is back, not at every try
    assert events.count("history_loader_batch_failed") == 1
    assert events.count("history_loader_resumed") == 1
    resumed = logged[events.index("history_loader_resumed")]
    assert resumed["batches_failed"] >= 2 and resumed["failing_since"]


def test_an_event_the_store_refuses_is_dead_lettered_and_the_rest_loaded(
    store: ChdbStore, kafka_bootstrap: str, topics: dict[str, str], open_loader: Any,
    unique_group: str,
) -> None:  # fmt: skip
    # Avro's int takes -1 lines added; the UInt32 column does not.
    poison = Build("shop", "bad", "c1", T0, changed_files=(ChangedFile("a.py", -1, 0),))
    payloads = [encoded("Build", Build("shop", f"b{i}", "c0", T0)) for i in range(3)]
    payloads.insert(1, encoded("Build", poison))
    produce(kafka_bootstrap, topics["Build"], payloads)

    stats = load(open_loader(store), messages=4)

    assert (stats.loaded, stats.dead_lettered) == ({"Build": 3}, 1)
    assert count(store, "builds") == 3
    [letter] = read_dead_letters(kafka_bootstrap, topics["dead"], f"{unique_group}-dlq", 1)
    assert letter["offset"] == 1 and letter["value"] == payloads[1]
    assert letter["reason"].startswith("the history store refused it: ")


def test_it_refuses_topics_it_cannot_store(store: ChdbStore, loader_settings: Settings) -> None:
    with pytest.raises(ConfigError, match="subset-requests"):
        HistoryLoader(loader_settings, store, stems=["subset-requests"])


def test_kinds_another_group_dead_letters_are_skipped_here(
    store: ChdbStore,
    kafka_bootstrap: str,
    loader_settings: Settings,
    topics: dict[str, str],
    unique_group: str,
) -> None:
    """The worker also reads builds and dead-letters what does not decode: one dead letter."""
    build = Build("shop", "b1", "sha", started_at=T0)
    produce(kafka_bootstrap, topics["Build"], [b"garbage", encoded("Build", build)])
    loader = HistoryLoader(loader_settings, store, stems=["builds"])  # the worker's default
    try:
        assert load(loader, 1).loaded["Build"] == 1  # the garbage is skipped, not counted
    finally:
        loader.close()
    assert count(store, "builds") == 1
    consumer = Consumer({"bootstrap.servers": kafka_bootstrap, "group.id": unique_group})
    try:
        _, high = consumer.get_watermark_offsets(TopicPartition(topics["dead"], 0), timeout=10)
    finally:
        consumer.close()
    assert high == 0
