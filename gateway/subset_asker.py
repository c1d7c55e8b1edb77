"""Asking the worker for subsets from a server: one producer, one listener on the reply topic
for every request in flight (correlated by request id), and answers found again by where they
lie on the reply topic.

`pts subset` opens a consumer per request (`pts.client.subset_client`); a gateway answering
many at once shares one, started at the topic's end before the first request is sent.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass

from confluent_kafka import Consumer, KafkaException, TopicPartition

from pts.core import wire
from pts.core.errors import BrokerUnavailable, DecodeError, SubsetTimeout
from pts.core.events import SubsetRequest, SubsetResponse
from pts.core.kafka import CheckedProducer, ask_cluster, client_config
from pts.core.logs import get_logger
from pts.core.parts import PartsWaiting, join_response, split_request
from pts.core.settings import Settings
from pts.core.topics import topic_name

log = get_logger(__name__)
KEPT_ANSWERS = 256


@dataclass(frozen=True, slots=True)
class Answer:
    response: SubsetResponse
    partition: int  # where its first message lies on the reply topic
    offset: int


@dataclass
class _Waiting:
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Answer]
    first: tuple[int, int] | None = None


class SubsetAsker:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.requests_topic = topic_name(settings, "subset-requests")
        self.reply_topic = topic_name(settings, "subset-responses")
        self._producer = CheckedProducer(settings, timeout_s=settings.subset_timeout_s)
        self._produce_lock = threading.Lock()
        self._config = client_config(
            settings,
            **{
                "group.id": f"pts-gateway-{uuid.uuid4().hex[:8]}",
                "enable.auto.commit": False,
                "auto.offset.reset": "latest",
            },
        )
        self._consumer = Consumer(self._config)
        self._waiting: dict[str, _Waiting] = {}
        self._parts = PartsWaiting()
        self._lock = threading.Lock()
        self._kept: OrderedDict[tuple[int, int], SubsetResponse] = OrderedDict()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._listen, name="subset-replies", daemon=True)

    def start(self, timeout_s: float) -> None:
        """Listen on the reply topic from its current end."""
        deadline = time.monotonic() + timeout_s
        consumer = self._consumer
        metadata = ask_cluster(
            self.settings,
            consumer,
            lambda timeout: consumer.list_topics(self.reply_topic, timeout=timeout),
            timeout_s,
        )
        topic = metadata.topics.get(self.reply_topic)
        if topic is None or topic.error is not None or not topic.partitions:
            raise BrokerUnavailable(
                f"Kafka at {self.settings.kafka_bootstrap} has no topic {self.reply_topic}: "
                "create the topics once with `pts topics`"
            )
        starts = []
        for partition in sorted(topic.partitions):
            where = TopicPartition(self.reply_topic, partition)
            _, high = ask_cluster(
                self.settings,
                consumer,
                lambda timeout, where=where: consumer.get_watermark_offsets(where, timeout=timeout),
                max(deadline - time.monotonic(), 0.5),
            )
            starts.append(TopicPartition(self.reply_topic, partition, high))
        consumer.assign(starts)
        self._thread.start()

    async def ask(self, request: SubsetRequest, timeout_s: float) -> Answer:
        """Send `request` and wait for its whole answer; SubsetTimeout, BrokerUnavailable."""
        loop = asyncio.get_running_loop()
        waiting = _Waiting(loop, loop.create_future())
        with self._lock:
            self._waiting[request.request_id] = waiting
        try:
            await loop.run_in_executor(None, self._send, request)
            return await asyncio.wait_for(asyncio.shield(waiting.future), timeout_s)
        except TimeoutError:
            raise SubsetTimeout(
                f"no subset answer within {timeout_s:g} s (is `pts worker` running?)"
            ) from None
        finally:
            with self._lock:
                self._waiting.pop(request.request_id, None)

    def _send(self, request: SubsetRequest) -> None:
        with self._produce_lock:
            for part in split_request(request):
                self._producer.produce(
                    self.requests_topic,
                    request.project,
                    wire.encode("SubsetRequest", part.to_record()),
                )
            self._producer.flush()

    def _listen(self) -> None:
        while not self._stop.is_set():
            try:
                message = self._consumer.poll(0.2)
            except KafkaException as exc:
                log.warning("subset_reply_poll_failed", topic=self.reply_topic, reason=str(exc))
                continue
            if message is None or message.error():
                continue
            request_id = (message.key() or b"").decode(errors="replace")
            with self._lock:
                waiting = self._waiting.get(request_id)
            if waiting is None:
                continue
            try:
                _, record = wire.decode(message.value(), expected="SubsetResponse")
            except DecodeError as exc:
                log.warning("subset_response_undecodable", request=request_id, reason=exc.reason)
                continue
            part = SubsetResponse.from_record(record)
            if part.part == 0:
                waiting.first = (message.partition(), message.offset())
            parts = self._parts.add(request_id, part.part, part.parts, part)
            if parts is None or waiting.first is None:
                continue
            answer = Answer(join_response(parts), *waiting.first)
            self._keep(answer)
            waiting.loop.call_soon_threadsafe(_resolve, waiting.future, answer)

    def _keep(self, answer: Answer) -> None:
        with self._lock:
            self._kept[(answer.partition, answer.offset)] = answer.response
            while len(self._kept) > KEPT_ANSWERS:
                self._kept.popitem(last=False)

    def answer_at(self, partition: int, offset: int, timeout_s: float) -> SubsetResponse | None:
        """The answer whose first message lies at `partition`/`offset` of the reply topic (from
        memory, else read there); None when there is none (or it has expired)."""
        with self._lock:
            kept = self._kept.get((partition, offset))
        if kept is not None:
            return kept
        consumer = Consumer({**self._config, "group.id": f"pts-gateway-{uuid.uuid4().hex[:8]}"})
        try:
            return self._read_answer(consumer, partition, offset, timeout_s)
        finally:
            consumer.close()

    def _read_answer(
        self, consumer: Consumer, partition: int, offset: int, timeout_s: float
    ) -> SubsetResponse | None:
        deadline = time.monotonic() + timeout_s
        where = TopicPartition(self.reply_topic, partition)
        low, high = ask_cluster(
            self.settings,
            consumer,
            lambda timeout: consumer.get_watermark_offsets(where, timeout=timeout),
            timeout_s,
        )
        if not low <= offset < high:
            return None  # never written, or expired
        consumer.assign([TopicPartition(self.reply_topic, partition, offset)])
        request_id, parts = None, PartsWaiting()
        while (left := deadline - time.monotonic()) > 0:
            message = consumer.poll(min(left, 0.5))
            if message is None or message.error():
                continue
            key = (message.key() or b"").decode(errors="replace")
            try:
                _, record = wire.decode(message.value(), expected="SubsetResponse")
            except DecodeError:
                if request_id is None:
                    return None
                continue
            part = SubsetResponse.from_record(record)
            if request_id is None:
                if message.offset() != offset or part.part != 0:
                    return None  # not the first message of an answer
                request_id = key
            elif key != request_id:
                continue
            whole = parts.add(key, part.part, part.parts, part)
            if whole is not None:
                return join_response(whole)
        raise SubsetTimeout(f"subset {partition}.{offset}: not read within {timeout_s:g} s")

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self._consumer.close()


def _resolve(future: asyncio.Future[Answer], answer: Answer) -> None:
    if not future.done():
        future.set_result(answer)
