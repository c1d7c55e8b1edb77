"""Read the dead-letter topic: every message set aside, with where it came from and why.

Reads from the start of the topic to its current end without joining a consumer group (so it
commits nothing and disturbs no one), and yields one JSON-ready dict per letter. The raw key
and value are given as base64, as they may not be text.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

from confluent_kafka import Consumer, TopicPartition

from pts.core import wire
from pts.core.errors import DecodeError
from pts.core.kafka import ask_cluster, client_config
from pts.core.settings import Settings
from pts.core.topics import TOPICS, partitions_of, topic_name

POLL_S = 1.0


def read_dead_letters(
    settings: Settings, limit: int | None = None, timeout_s: float = 10
) -> Iterator[dict[str, Any]]:
    """The letters now in the topic, oldest first (at most `limit`, the newest ones)."""
    topic = topic_name(settings, "dead-letters")
    spec = next(spec for spec in TOPICS if spec.stem == "dead-letters")
    consumer = Consumer(
        client_config(
            settings, **{"group.id": "pts-dead-letters-reader", "enable.auto.commit": False}
        )
    )
    try:
        ends = {}
        for partition in range(partitions_of(settings, spec)):
            where = TopicPartition(topic, partition)
            low, high = ask_cluster(
                settings,
                consumer,
                lambda timeout, where=where: consumer.get_watermark_offsets(where, timeout=timeout),
                timeout_s,
            )
            start = low if limit is None else max(low, high - limit)
            if high > start:
                ends[partition] = (start, high)
        consumer.assign([TopicPartition(topic, p, start) for p, (start, _) in ends.items()])
        remaining = {p: high for p, (_, high) in ends.items()}
        while remaining:
            message = consumer.poll(POLL_S)
            if message is None or message.error():
                continue
            yield _letter(message.value(), message.offset())
            if message.offset() + 1 >= remaining.get(message.partition(), 0):
                remaining.pop(message.partition(), None)
    finally:
        consumer.close()


def _letter(value: bytes | None, offset: int) -> dict[str, Any]:
    try:
        _, letter = wire.decode(value, expected="DeadLetter")
    except DecodeError as exc:  # not written by pts: show it as it is
        return {"dead_letter_offset": offset, "reason": f"unreadable letter: {exc.reason}"}
    return {
        "failed_at": letter["failed_at"].isoformat(),
        "topic": letter["topic"],
        "partition": letter["partition"],
        "offset": letter["offset"],
        "reason": letter["reason"],
        "key": _b64(letter["key"]),
        "value": _b64(letter["value"]),
    }


def _b64(raw: bytes | None) -> str | None:
    return None if raw is None else base64.b64encode(raw).decode("ascii")
