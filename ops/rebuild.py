"""`pts rebuild`: ask the worker that owns a project to rebuild its model from the topics, and
follow its answers until the rebuilt model has taken over (`pts.streams.rebuilds` does it)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

from confluent_kafka import Consumer, KafkaException, TopicPartition

from pts.core.errors import BrokerUnavailable, ConfigError, WorkerUnreachable
from pts.core.kafka import CheckedProducer, client_config
from pts.core.rebuild_requests import PROGRESS, REFUSED, REQUEST, TOOK_OVER, RebuildRecord
from pts.core.settings import Settings
from pts.core.topics import topic_name

METADATA_TIMEOUT_S = 10.0


class RebuildRefused(ConfigError):
    """The worker kept the live model (retention dropped what it learned, or no result of the
    project is on the topics)."""


def rebuild(
    settings: Settings,
    project: str,
    timeout_s: float,
    progress: Callable[[RebuildRecord], None] | None = None,
) -> RebuildRecord:
    """Publish a request for `project` and wait for the owner's answer: the TOOK_OVER record.
    Raises RebuildRefused with the worker's reason, or WorkerUnreachable when no worker answers
    within `timeout_s` (or stops giving progress for that long)."""
    topic = topic_name(settings, "rebuilds")
    request = RebuildRecord(REQUEST, uuid.uuid4().hex, project)
    consumer = Consumer(
        client_config(
            settings,
            **{
                "group.id": f"{settings.worker_id}-rebuild-{request.request_id[:8]}",
                "enable.auto.commit": False,
            },
        )
    )
    try:
        _follow_from_end(consumer, topic)
        producer = CheckedProducer(settings)
        producer.produce(topic, project.encode(), request.to_json())
        producer.flush()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None or message.error() is not None:
                continue
            answer = RebuildRecord.parse(message.value())
            if answer is None or answer.request_id != request.request_id:
                continue
            if answer.kind == PROGRESS:
                deadline = time.monotonic() + timeout_s
                if progress is not None:
                    progress(answer)
            elif answer.kind == TOOK_OVER:
                return answer
            elif answer.kind == REFUSED:
                raise RebuildRefused(f"the rebuild of {project} was refused: {answer.reason}")
    finally:
        consumer.close()
    raise WorkerUnreachable(
        f"no worker of group {settings.worker_id} answered the rebuild of {project} within "
        f"{timeout_s:g} s: is `pts worker` running (`pts status`)?"
    )


def _follow_from_end(consumer: Consumer, topic: str) -> None:
    """Assign every partition of `topic` at its present end, so only answers to come are read."""
    try:
        metadata = consumer.list_topics(topic, timeout=METADATA_TIMEOUT_S).topics.get(topic)
        if metadata is None or metadata.error is not None:
            raise ConfigError(f"there is no topic {topic}: run `pts topics`, then start the worker")
        assigned = []
        for partition in metadata.partitions:
            _, high = consumer.get_watermark_offsets(
                TopicPartition(topic, partition), timeout=METADATA_TIMEOUT_S
            )
            assigned.append(TopicPartition(topic, partition, high))
    except KafkaException as exc:
        raise BrokerUnavailable(f"the broker did not list {topic}: {exc}") from None
    consumer.assign(assigned)
