"""Asking the worker for a subset over the request/reply topics, correlated by request id (or
asking the gateway at PTS_URL, over HTTP)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence

from confluent_kafka import Consumer, TopicPartition

from pts.client.http_transport import ask_subset
from pts.core import wire
from pts.core.errors import DecodeError, SubsetTimeout
from pts.core.events import SubsetRequest, SubsetResponse, Target
from pts.core.kafka import CheckedProducer, ask_cluster, client_config
from pts.core.logs import get_logger
from pts.core.parts import PartsWaiting, join_response, split_request
from pts.core.settings import Settings
from pts.core.topics import topic_name

log = get_logger(__name__)


def new_request(
    settings: Settings, project: str, build_id: str, candidates: Sequence[str], target: Target
) -> SubsetRequest:
    return SubsetRequest(
        request_id=uuid.uuid4().hex,
        project=project,
        build_id=build_id,
        candidates=tuple(candidates),
        target=target,
        reply_topic=topic_name(settings, "subset-responses"),
        catch_up_s=settings.subset_catch_up_s,
        reply_columns=True,
    )


class SubsetClient:
    """Sends requests and waits for their responses; reusable for many requests."""

    def __init__(self, settings: Settings, timeout_s: float | None = None) -> None:
        self.settings = settings
        self.timeout_s = timeout_s or settings.subset_timeout_s
        self._producer = CheckedProducer(settings, timeout_s=self.timeout_s)
        self._consumer = Consumer(
            client_config(
                settings,
                **{
                    "group.id": f"pts-subset-{uuid.uuid4().hex[:8]}",
                    "enable.auto.commit": False,
                    "auto.offset.reset": "latest",
                    "socket.connection.setup.timeout.ms": max(int(self.timeout_s * 1000), 1000),
                },
            )
        )
        self._assigned_topic: str | None = None

    def _listen(self, reply_topic: str, deadline: float) -> None:
        """Start reading the reply topic at its current end, before the request is sent."""
        if self._assigned_topic == reply_topic:
            return
        consumer = self._consumer
        metadata = ask_cluster(
            self.settings,
            consumer,
            lambda timeout: consumer.list_topics(reply_topic, timeout=timeout),
            max(deadline - time.monotonic(), 0.1),
        )
        starts = []
        for partition in metadata.topics[reply_topic].partitions:
            where = TopicPartition(reply_topic, partition)
            _, high = ask_cluster(
                self.settings,
                consumer,
                lambda timeout, where=where: consumer.get_watermark_offsets(where, timeout=timeout),
                max(deadline - time.monotonic(), 0.1),
            )
            starts.append(TopicPartition(reply_topic, partition, high))
        self._consumer.assign(starts)
        self._assigned_topic = reply_topic

    def request(self, request: SubsetRequest) -> SubsetResponse:
        """Send the request (in parts when it is large) and wait for the whole answer."""
        deadline = time.monotonic() + self.timeout_s
        self._listen(request.reply_topic, deadline)
        for part in split_request(request):
            self._producer.produce(
                topic_name(self.settings, "subset-requests"),
                request.project,
                wire.encode("SubsetRequest", part.to_record()),
            )
        self._producer.flush()
        waiting = PartsWaiting()
        while (left := deadline - time.monotonic()) > 0:
            message = self._consumer.poll(min(left, 0.5))
            if message is None or message.error():
                continue
            if message.key() != request.request_id.encode():
                continue
            try:
                _, record = wire.decode(message.value(), expected="SubsetResponse")
            except DecodeError as exc:
                log.warning(
                    "subset_response_undecodable", request=request.request_id, reason=exc.reason
                )
                continue
            part = SubsetResponse.from_record(record)
            parts = waiting.add(request.request_id, part.part, part.parts, part)
            if parts is not None:
                return join_response(parts)
        raise SubsetTimeout(
            f"no subset answer for request {request.request_id} within "
            f"{self.timeout_s:g} s (is `pts worker` running?)"
        )

    def close(self) -> None:
        self._consumer.close()


def ask(
    settings: Settings, request: SubsetRequest, timeout_s: float | None = None
) -> SubsetResponse:
    """The answer to `request`: from the gateway at PTS_URL when it is set, else over the
    topics. SubsetTimeout, BrokerUnavailable, or the gateway's GatewayUnavailable and
    GatewayRefused."""
    if settings.url is not None:
        return ask_subset(settings, request, timeout_s or settings.subset_timeout_s)
    client = SubsetClient(settings, timeout_s)
    try:
        return client.request(request)
    finally:
        client.close()
