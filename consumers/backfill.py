"""`pts backfill`: re-read a time range of the stored topics into the history store.

The range is found by time on each partition (`offsets_for_times`) and read to the offset its
end had when the backfill started, by a consumer of its own: it joins no group and commits
nothing, so the live loader's positions are never touched and both may run at once. Re-reading
is safe because the store's inserts are idempotent: every table is a ReplacingMergeTree keyed
by the event's natural key and read with FINAL (`sinks/schema.sql`), so an event stored twice
(by the loader and a backfill, or by a backfill killed midway and run again) reads as one row.
A range that retention (or `delete_records`) has already cut into is refused before anything
is read, with how much of it is gone.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from pts.core import wire
from pts.core.errors import BrokerUnavailable, ConfigError, DecodeError
from pts.core.kafka import client_config
from pts.core.settings import Settings
from pts.core.topics import Reader, read_by, topic_name
from pts.sinks.rows import Record
from pts.sinks.store import HistoryStore

METADATA_TIMEOUT_S = 10.0


class RangeBeyondRetention(ConfigError):
    """Part of the range asked for is no longer on the topics."""


@dataclass(frozen=True)
class PartitionRange:
    """The offsets of one partition to read: `start` up to `end`, exclusive."""

    topic: str
    kind: str  # the Avro schema name of the topic's events
    partition: int
    start: int
    end: int

    @property
    def messages(self) -> int:
        return max(self.end - self.start, 0)


@dataclass(frozen=True)
class Gap:
    """A partition whose oldest kept message is newer than the range's start."""

    topic: str
    partition: int
    deleted: int  # messages before the oldest kept one (offsets 0 .. deleted - 1)
    oldest_kept: datetime

    def describe(self, since: datetime) -> str:
        return (
            f"{self.topic}[{self.partition}] keeps nothing before "
            f"{self.oldest_kept:%Y-%m-%d %H:%M:%S} UTC ({_span(self.oldest_kept - since)} after "
            f"--since): its first {self.deleted:,} messages were deleted"
        )


@dataclass
class BackfillStats:
    """What reached the store: events and rows per kind; what was read and left out."""

    events: Counter[str] = field(default_factory=Counter)
    rows: Counter[str] = field(default_factory=Counter)
    read: int = 0  # messages read, whatever became of them
    other_projects: int = 0
    undecodable: int = 0

    def sentence(self) -> str:
        stored = ", ".join(
            f"{self.events[kind]:,} {kind} ({self.rows[kind]:,} rows)"
            for kind in sorted(self.events)
        )
        left = []
        if self.other_projects:
            left.append(f"{self.other_projects:,} of other projects")
        if self.undecodable:
            left.append(f"{self.undecodable:,} that do not decode (the loader dead-letters them)")
        return f"backfilled {self.read:,} messages: stored {stored or 'no event'}" + (
            f"; left out {' and '.join(left)}" if left else ""
        )


Progress = Callable[[BackfillStats], None]


def parse_moment(text: str, now: datetime | None = None) -> datetime:
    """A moment given as ISO 8601 (a date, or a time; UTC unless it names its zone), or as
    a span ago: `90m`, `36h`, `7d`, `2w`.

    >>> parse_moment("2024-05-06")
    datetime.datetime(2024, 5, 6, 0, 0, tzinfo=datetime.timezone.utc)
    >>> parse_moment("2024-05-06T09:00+02:00").hour
    7
    >>> parse_moment("7d", now=datetime(2024, 5, 8, tzinfo=UTC))
    datetime.datetime(2024, 5, 1, 0, 0, tzinfo=datetime.timezone.utc)
    """
    units = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
    stripped = text.strip()
    if stripped[:-1].isdigit() and stripped[-1:] in units:
        span = timedelta(**{units[stripped[-1]]: int(stripped[:-1])})
        return (now or datetime.now(UTC)) - span
    try:
        moment = datetime.fromisoformat(stripped)
    except ValueError:
        raise ConfigError(
            f"{text!r} is no moment: give an ISO date or time (2024-05-06, 2024-05-06T07:00Z) "
            "or a span ago (90m, 36h, 7d, 2w)"
        ) from None
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def open_consumer(settings: Settings) -> Consumer:
    """A consumer that is assigned partitions and commits nothing: its group id is its own
    and is never used for offsets, so no group's positions move."""
    return Consumer(
        client_config(
            settings,
            **{
                "group.id": f"{settings.history_group_id}-backfill-{uuid.uuid4().hex[:8]}",
                "enable.auto.commit": False,
                "enable.auto.offset.store": False,
                "enable.partition.eof": True,
                "auto.offset.reset": "earliest",
            },
        )
    )


def plan(
    settings: Settings, consumer: Consumer, since: datetime, until: datetime | None
) -> list[PartitionRange]:
    """The offsets of every stored topic's partitions from `since` to `until` (to each
    partition's present end when None). Raises `RangeBeyondRetention` when a partition no
    longer holds the range's start."""
    if until is not None and until <= since:
        raise ConfigError(f"--until ({until:%Y-%m-%d %H:%M:%S}) is not after --since")
    ranges, gaps = [], []
    for spec in read_by(Reader.HISTORY):
        topic = topic_name(settings, spec.stem)
        for partition in _partitions(consumer, topic):
            low, high = _watermarks(consumer, topic, partition)
            start = _offset_at(consumer, topic, partition, since, high)
            end = high if until is None else _offset_at(consumer, topic, partition, until, high)
            if low > 0 and start <= low and low < high:
                oldest = _timestamp_at(consumer, topic, partition, low)
                if oldest > since:
                    gaps.append(Gap(topic, partition, low, oldest))
            ranges.append(PartitionRange(topic, spec.schema, partition, max(start, low), end))
    if gaps:
        raise RangeBeyondRetention(
            f"retention already dropped part of the range: {_gap_summary(gaps, since)}; "
            "backfill from a later --since, or restore the history from a copy"
        )
    return ranges


def backfill(
    store: HistoryStore,
    consumer: Consumer,
    ranges: list[PartitionRange],
    project: str | None = None,
    batch_size: int = 500,
    progress: Progress | None = None,
) -> BackfillStats:
    """Store every event of `ranges` (of `project` only, when given), `batch_size` messages
    per insert per kind; `progress` is told after each batch."""
    stats = BackfillStats()
    kinds = {r.topic: r.kind for r in ranges}
    for messages in _read(consumer, [r for r in ranges if r.messages], batch_size):
        records: dict[str, list[Record]] = defaultdict(list)
        for message in messages:
            stats.read += 1
            kind = kinds[message.topic()]
            try:
                _, record = wire.decode(message.value(), expected=kind)
            except DecodeError:
                stats.undecodable += 1
                continue
            if project is not None and record.get("project") != project:
                stats.other_projects += 1
                continue
            records[kind].append(record)
        for kind, kind_records in records.items():
            stats.rows[kind] += store.insert_records(kind, kind_records)
            stats.events[kind] += len(kind_records)
        if progress is not None:
            progress(stats)
    return stats


def _read(
    consumer: Consumer, ranges: list[PartitionRange], batch_size: int
) -> Iterator[list[Message]]:
    """The messages of `ranges`, in batches, up to each range's end."""
    ends = {(r.topic, r.partition): r.end for r in ranges}
    consumer.assign([TopicPartition(r.topic, r.partition, r.start) for r in ranges])
    try:
        while ends:
            batch: list[Message] = []
            for message in consumer.consume(num_messages=batch_size, timeout=1.0):
                key = (message.topic(), message.partition())
                if key not in ends:
                    continue
                error = message.error()
                if error is not None:
                    if error.code() == KafkaError._PARTITION_EOF:
                        _finish(consumer, ends, key)
                        continue
                    if error.fatal():
                        raise KafkaException(error)
                    continue
                if message.offset() >= ends[key]:
                    _finish(consumer, ends, key)
                    continue
                batch.append(message)
                if message.offset() >= ends[key] - 1:
                    _finish(consumer, ends, key)
            if batch:
                yield batch
    finally:
        consumer.unassign()


def _finish(consumer: Consumer, ends: dict[tuple[str, int], int], key: tuple[str, int]) -> None:
    ends.pop(key, None)
    consumer.incremental_unassign([TopicPartition(*key)])


def _partitions(consumer: Consumer, topic: str) -> list[int]:
    try:
        metadata = consumer.list_topics(topic, timeout=METADATA_TIMEOUT_S)
    except KafkaException as exc:
        raise BrokerUnavailable(f"the broker did not list {topic}: {exc}") from None
    found = metadata.topics.get(topic)
    if found is None or found.error is not None or not found.partitions:
        return []  # never created: nothing to backfill from it
    return sorted(found.partitions)


def _watermarks(consumer: Consumer, topic: str, partition: int) -> tuple[int, int]:
    try:
        return consumer.get_watermark_offsets(
            TopicPartition(topic, partition), timeout=METADATA_TIMEOUT_S, cached=False
        )
    except KafkaException as exc:
        raise BrokerUnavailable(f"the broker did not say where {topic} ends: {exc}") from None


def _offset_at(consumer: Consumer, topic: str, partition: int, moment: datetime, high: int) -> int:
    """The first offset whose timestamp is at or after `moment`; `high` when none is."""
    asked = TopicPartition(topic, partition, int(moment.timestamp() * 1000))
    try:
        (found,) = consumer.offsets_for_times([asked], timeout=METADATA_TIMEOUT_S)
    except KafkaException as exc:
        raise BrokerUnavailable(f"the broker did not find {moment} in {topic}: {exc}") from None
    return high if found.offset < 0 else found.offset


def _timestamp_at(consumer: Consumer, topic: str, partition: int, offset: int) -> datetime:
    """The timestamp of the message at `offset` (the partition's oldest kept one)."""
    consumer.assign([TopicPartition(topic, partition, offset)])
    try:
        deadline = time.monotonic() + METADATA_TIMEOUT_S
        while time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is not None and message.error() is None:
                return datetime.fromtimestamp(message.timestamp()[1] / 1000, UTC)
    finally:
        consumer.unassign()
    raise BrokerUnavailable(f"the broker did not give the oldest message of {topic}[{partition}]")


def _gap_summary(gaps: list[Gap], since: datetime) -> str:
    deleted = sum(g.deleted for g in gaps)
    worst = max(gaps, key=lambda g: g.oldest_kept)
    return (
        f"{deleted:,} messages in {len(gaps)} partition{'s' if len(gaps) > 1 else ''} are gone, "
        f"up to {_span(worst.oldest_kept - since)} of the range; "
        + "; ".join(g.describe(since) for g in gaps)
    )


def _span(delta: timedelta) -> str:
    """
    >>> _span(timedelta(days=3, hours=5)), _span(timedelta(hours=5, minutes=6))
    ('3.2 days', '5.1 hours')
    """
    hours = delta.total_seconds() / 3600
    return f"{hours / 24:.1f} days" if hours >= 24 else f"{hours:.1f} hours"
