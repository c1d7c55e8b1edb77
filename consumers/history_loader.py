"""Loads the event topics into the history store, at least once, without duplicates.

One batch at a time: consume up to `batch_size` messages, decode each once (a message that
does not decode goes to the dead-letter topic as a `DeadLetter`), insert each kind's records,
as the wire decoded them, with one store call (the store turns them into columns, with no
event objects in between), wait for the dead letters to be delivered, and only then commit the
batch's offsets. A crash in between re-delivers the batch; the store's idempotent inserts absorb it.
An event the store refuses while it answers other statements (a value no column can hold) is
dead-lettered; when the store itself fails, the consumer rewinds to the batch's first offsets
and retries, so nothing is skipped.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from pts.core import wire
from pts.core.bounded import bounded, described
from pts.core.dead_letters import DeadLetters
from pts.core.errors import BrokerUnavailable, ConfigError, DecodeError, StoreError
from pts.core.events import (
    Build,
    ChampionDecision,
    Commit,
    PredictionBatch,
    SubsetResponse,
    TestResultBatch,
)
from pts.core.kafka import CheckedProducer, client_config
from pts.core.logs import get_logger
from pts.core.settings import Settings
from pts.core.topics import Reader, read_by, topic_name
from pts.sinks.rows import Record
from pts.sinks.store import HistoryStore

log = get_logger(__name__)

EVENT_TYPES: dict[str, Any] = {
    "Build": Build,
    "Commit": Commit,
    "TestResultBatch": TestResultBatch,
    "SubsetResponse": SubsetResponse,
    "PredictionBatch": PredictionBatch,
    "ChampionDecision": ChampionDecision,
}
"""The kinds the loader stores, by Avro schema name (the events it stores their records of)."""


@dataclass
class LoadStats:
    """What a batch (or a run) did: events loaded per kind, messages dead-lettered."""

    loaded: Counter[str] = field(default_factory=Counter)
    dead_lettered: int = 0

    @property
    def messages(self) -> int:
        return sum(self.loaded.values()) + self.dead_lettered

    def add(self, other: LoadStats) -> None:
        self.loaded.update(other.loaded)
        self.dead_lettered += other.dead_lettered


@dataclass
class LoaderHealth:
    """How the loader is doing, for the worker's /health: retrying means nothing is committed
    until the store takes the batch again."""

    state: str = "starting"  # starting, running, retrying, stopped
    error: str | None = None
    failing_since: datetime | None = None
    batches_failed: int = 0
    failures_total: int = 0  # since start, for /metrics
    max_backoff_s: float = 30.0

    def failed(self, error: str) -> float:
        """Note a failed batch; returns how long to wait before retrying it."""
        if self.state != "retrying":
            self.failing_since = datetime.now(UTC)
        self.state, self.error = "retrying", bounded(error)
        self.batches_failed += 1
        self.failures_total += 1
        return min(self.max_backoff_s, 0.5 * 2 ** min(self.batches_failed - 1, 10))

    def succeeded(self) -> None:
        self.state, self.error, self.failing_since, self.batches_failed = "running", None, None, 0

    def as_dict(self) -> dict[str, Any]:
        since = self.failing_since.isoformat() if self.failing_since else None
        return {"state": self.state, "error": self.error, "failing_since": since}


class HistoryLoader:
    """Consumes the topics the history store keeps (`Reader.HISTORY` in the topic registry)
    into `store`, in the consumer group `settings.history_group_id`."""

    def __init__(
        self,
        settings: Settings,
        store: HistoryStore,
        *,
        stems: Collection[str] | None = None,
        worker_dead_letters: bool = True,
        batch_size: int = 500,
        progress_every_s: float = 10.0,
        delivery_timeout_s: float = 30.0,
        session_timeout_s: float | None = None,
    ) -> None:
        """`stems`: only these of the stored topics (all of them when None).
        `worker_dead_letters`: the stream worker also reads the model's topics and
        dead-letters what does not decode there, so here such messages are skipped, logged,
        and each bad message has one dead letter. `session_timeout_s`: how soon a crashed
        loader leaves its group (librdkafka's default when None)."""
        stored = {spec.stem: spec for spec in read_by(Reader.HISTORY)}
        unknown = sorted(set(stems or ()) - set(stored))
        if unknown:
            raise ConfigError(f"history loader cannot store {unknown}; it stores {list(stored)}")
        specs = [stored[stem] for stem in (stems or stored)]
        self.store = store
        self.batch_size = batch_size
        self.progress_every_s = progress_every_s
        self.delivery_timeout_s = delivery_timeout_s
        self._kind_of_topic = {topic_name(settings, spec.stem): spec.schema for spec in specs}
        self._set_aside_by_others = frozenset(
            spec.schema for spec in specs if worker_dead_letters and Reader.MODEL in spec.readers
        )
        self._dead_letters = DeadLetters(settings, CheckedProducer(settings, delivery_timeout_s))
        group = settings.history_group_id
        self._consumer = Consumer(
            client_config(
                settings,
                **{
                    "auto.offset.reset": "earliest",
                    "group.id": group,
                    "client.id": f"{group}@{socket.gethostname()}:{os.getpid()}",
                    "enable.auto.commit": False,
                    **_session_config(session_timeout_s),
                },
            )
        )
        self._consumer.subscribe(list(self._kind_of_topic))
        self._positions: dict[str, int] = {}  # "topic[partition]" → next offset to load
        self._closed = False
        self.health = LoaderHealth()
        self.loaded = LoadStats()  # since start
        self.rows_stored: Counter[str] = Counter()  # by kind, since start, for /metrics
        self.behind: dict[str, int] = {}  # "topic[partition]" → messages after the committed
        self.consume_error: str | None = None  # the last, until a message comes again

    @property
    def topics(self) -> list[str]:
        return sorted(self._kind_of_topic)

    def run_once(self, timeout: float = 1.0) -> LoadStats:
        """Consume, store and commit one batch; waits up to `timeout` s for its first message."""
        messages = self._consumer.consume(num_messages=self.batch_size, timeout=timeout)
        batch = [m for m in messages if self._usable(m)]
        if not batch:
            return LoadStats()
        self.consume_error = None
        try:
            stats = self._load(batch)
        except Exception:
            self._rewind(batch)
            raise
        self._commit(batch)
        return stats

    def run(
        self, stop: threading.Event | None = None, idle_exit_after: float | None = None
    ) -> LoadStats:
        """Load until `stop` is set, or until no message came for `idle_exit_after` seconds.

        A store or dead-letter failure is logged and the batch retried (the consumer was
        rewound); a fatal Kafka error raises.
        """
        stop = stop or threading.Event()
        total, since_progress = self.loaded, LoadStats()
        last_message = last_progress = time.monotonic()
        self.health.state = "running"
        while not stop.is_set():
            try:
                stats = self.run_once()
            except KafkaException:
                raise  # fatal: the consumer cannot go on
            except Exception as exc:  # the store, the broker, or a bug: the batch is retried
                failing = self.health.state == "retrying"
                known = isinstance(exc, (StoreError, BrokerUnavailable))
                error = str(exc) if known else described(exc)
                wait_s = self.health.failed(error)
                if not failing:  # once when it starts failing; /health has the latest error
                    log.warning("history_loader_batch_failed", error=error, retry_in_s=wait_s)
                stop.wait(wait_s)
                continue
            if self.health.state == "retrying":
                log.warning(
                    "history_loader_resumed",
                    failing_since=self.health.as_dict()["failing_since"],
                    batches_failed=self.health.batches_failed,
                )
            self.health.succeeded()
            total.add(stats)
            since_progress.add(stats)
            now = time.monotonic()
            if stats.messages:
                last_message = now
            if now - last_progress >= self.progress_every_s:
                self._log_progress(since_progress, total, now - last_progress)
                since_progress, last_progress = LoadStats(), now
            if idle_exit_after is not None and now - last_message >= idle_exit_after:
                break
        self.health.state = "stopped"
        log.info(
            "history_loader_stopped", loaded=dict(total.loaded), dead_lettered=total.dead_lettered
        )
        return total

    def progress(self) -> dict[str, Any]:
        """What was loaded since start, and how far behind the committed offsets are (as of
        the last batch, from the high watermarks the consumer last fetched)."""
        return {
            "loaded": dict(self.loaded.loaded),
            "dead_lettered": self.loaded.dead_lettered,
            "messages_behind": sum(self.behind.values()),
            "behind": dict(self.behind),
            "consume_error": self.consume_error,
        }

    def close(self) -> None:
        """Leave the group (committed offsets stay) and flush pending dead letters."""
        if self._closed:
            return
        self._closed = True
        try:
            self._dead_letters.confirm(self.delivery_timeout_s)
        finally:
            self._consumer.close()

    def __enter__(self) -> HistoryLoader:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _usable(self, message: Message) -> bool:
        error = message.error()
        if error is None:
            return True
        if error.fatal():
            raise KafkaException(error)
        if error.code() != KafkaError._PARTITION_EOF:
            self.consume_error = error.str()
            log.warning("history_loader_consume_error", topic=message.topic(), error=error.str())
        return False

    def _load(self, batch: Sequence[Message]) -> LoadStats:
        stats = LoadStats()
        records: dict[str, list[tuple[Message, Record]]] = defaultdict(list)
        for message in batch:
            kind = self._kind_of_topic[message.topic()]
            try:
                _, record = wire.decode(message.value(), expected=kind)
                records[kind].append((message, record))
            except DecodeError as exc:
                if kind in self._set_aside_by_others:
                    log.warning("history_loader_skipped_undecodable", topic=message.topic(),
                                partition=message.partition(), offset=message.offset(),
                                reason=exc.reason)  # fmt: skip
                    continue
                self._dead_letter(message, exc.reason)
                stats.dead_lettered += 1
        for kind, kind_records in records.items():
            stored, refused = self._store(kind, kind_records)
            stats.loaded[kind] += stored
            stats.dead_lettered += refused
        if stats.dead_lettered:
            self._flush_dead_letters()
        return stats

    def _store(self, kind: str, items: list[tuple[Message, Record]]) -> tuple[int, int]:
        """Insert the records in one call. When the store refuses, halve the batch to find the
        events it refuses (a value a column cannot hold), and dead-letter those, as long as the
        store still answers; when it does not, raise: the batch is retried. Returns (stored,
        dead-lettered)."""
        try:
            self.rows_stored[kind] += self.store.insert_records(kind, [r for _, r in items])
            return len(items), 0
        except Exception as exc:  # StoreError, or records that do not convert to columns
            if len(items) > 1:
                half = len(items) // 2
                first, second = self._store(kind, items[:half]), self._store(kind, items[half:])
                return first[0] + second[0], first[1] + second[1]
            if not self._store_writes():
                raise
            self._dead_letter(items[0][0], f"the history store refused it: {described(exc)}")
            return 0, 1

    def _store_writes(self) -> bool:
        """Whether the store takes a write at all: a store that answers reads but cannot
        write (a read-only disk) is a store failure, not a bad event."""
        try:
            self.store.probe_write()
            return True
        except StoreError:
            return False

    def _dead_letter(self, message: Message, reason: str) -> None:
        self._dead_letters.set_aside(
            message.topic(), message.partition(), message.offset(), message.key(),
            message.value(), reason,
        )  # fmt: skip

    def _flush_dead_letters(self) -> None:
        """Wait for every dead letter to be acknowledged; the batch commits only after that."""
        self._dead_letters.confirm(self.delivery_timeout_s)

    def _commit(self, batch: Sequence[Message]) -> None:
        """Commit, synchronously, the offset after the last message of each partition."""
        offsets = _next_offsets(batch)
        try:
            self._consumer.commit(offsets=offsets, asynchronous=False)
            self._positions.update({f"{o.topic}[{o.partition}]": o.offset for o in offsets})
        except KafkaException as exc:  # e.g. a rebalance: the batch is re-delivered, harmlessly
            log.warning("history_loader_commit_failed", error=str(exc))
            return
        for committed in offsets:
            _, high = self._consumer.get_watermark_offsets(committed, cached=True)
            if high >= 0:  # known once the partition was fetched
                self.behind[f"{committed.topic}[{committed.partition}]"] = max(
                    high - committed.offset, 0
                )

    def _rewind(self, batch: Sequence[Message]) -> None:
        """Seek back to the first offset of each partition, so the batch is consumed again."""
        firsts: dict[tuple[str, int], int] = {}
        for message in batch:
            key = (message.topic(), message.partition())
            firsts[key] = min(firsts.get(key, message.offset()), message.offset())
        for (topic, partition), offset in firsts.items():
            try:
                self._consumer.seek(TopicPartition(topic, partition, offset))
            except KafkaException as exc:  # no longer assigned: its next owner re-reads it
                log.warning("history_loader_rewind_failed", topic=topic, partition=partition,
                            offset=offset, error=str(exc))  # fmt: skip

    def _log_progress(self, recent: LoadStats, total: LoadStats, seconds: float) -> None:
        log.info(
            "history_loader_progress",
            loaded=dict(recent.loaded),
            dead_lettered=recent.dead_lettered,
            messages_per_s=round(recent.messages / seconds, 1) if seconds else None,
            total_loaded=sum(total.loaded.values()),
            total_dead_lettered=total.dead_lettered,
            committed=dict(self._positions),
        )


def _session_config(session_timeout_s: float | None) -> dict[str, int]:
    if session_timeout_s is None:
        return {}
    session_ms = int(session_timeout_s * 1000)
    # A tenth of the session, as the worker's faust consumer: a lost heartbeat or two is no exit.
    return {"session.timeout.ms": session_ms, "heartbeat.interval.ms": max(session_ms // 10, 100)}


def _next_offsets(batch: Sequence[Message]) -> list[TopicPartition]:
    last: dict[tuple[str, int], int] = {}
    for message in batch:
        key = (message.topic(), message.partition())
        last[key] = max(last.get(key, -1), message.offset())
    return [
        TopicPartition(topic, partition, offset + 1) for (topic, partition), offset in last.items()
    ]
