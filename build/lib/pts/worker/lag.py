"""How far behind the worker is: messages written to a topic but not yet processed, by the
model (from the worker's own processed offsets) and by the history loader (from its
consumer group's committed offsets). Served on the worker's /lag endpoint."""

from __future__ import annotations

from collections.abc import Mapping

from confluent_kafka import Consumer, TopicPartition

from pts.core.kafka import client_config, retry_broker_call
from pts.core.settings import Settings
from pts.core.topics import TOPICS, Reader, partitions_of, topic_name

Offsets = dict[tuple[str, int], int]


@retry_broker_call
def _offsets(
    consumer: Consumer, partitions: list[TopicPartition], timeout_s: float
) -> tuple[Offsets, Offsets, Offsets]:
    """Low and high watermarks, and the consumer's group's committed offsets (absent when
    nothing is committed). The committed offsets come from a consumer of that group, not the
    admin API: its list_consumer_group_offsets can crash the process on a group without
    offsets (confluent-kafka-python issue 1982)."""
    lows, highs = {}, {}
    for tp in partitions:
        lows[tp.topic, tp.partition], highs[tp.topic, tp.partition] = (
            consumer.get_watermark_offsets(tp, timeout=timeout_s)
        )
    committed = {
        (tp.topic, tp.partition): tp.offset
        for tp in consumer.committed(partitions, timeout=timeout_s)
        if tp.offset >= 0
    }
    return lows, highs, committed


def measure_lag(
    settings: Settings, processed: Mapping[tuple[str, int], int], timeout_s: float = 10
) -> dict[str, dict[str, int]]:
    """{"model": {stem: messages behind}, "history": {stem: messages behind}}; blocking."""
    watched = [spec for spec in TOPICS if {Reader.MODEL, Reader.HISTORY} & spec.readers]
    partitions = [
        TopicPartition(topic_name(settings, spec.stem), partition)
        for spec in watched
        for partition in range(partitions_of(settings, spec))
    ]
    # A consumer of the loader's group that never subscribes: it reads offsets, never joins.
    consumer = Consumer(client_config(settings, **{"group.id": settings.history_group_id}))
    try:
        lows, highs, committed = _offsets(consumer, partitions, timeout_s)
    finally:
        consumer.close()
    model_next = {key: offset + 1 for key, offset in processed.items()}
    lag: dict[str, dict[str, int]] = {"model": {}, "history": {}}
    for spec in watched:
        topic = topic_name(settings, spec.stem)
        if Reader.MODEL in spec.readers:
            lag["model"][spec.stem] = _behind(topic, model_next, lows, highs)
        if Reader.HISTORY in spec.readers:
            lag["history"][spec.stem] = _behind(topic, committed, lows, highs)
    return lag


def _behind(topic: str, next_offsets: Offsets, lows: Offsets, highs: Offsets) -> int:
    """Messages of `topic` from each partition's next offset to read (or its low watermark,
    for a reader that has none, or one older than retention) to its high watermark."""
    return sum(
        max(high - max(next_offsets.get(key, lows[key]), lows[key]), 0)
        for key, high in highs.items()
        if key[0] == topic
    )
