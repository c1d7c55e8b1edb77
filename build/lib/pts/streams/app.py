"""The faust app, its topics, and the state its agents share.

River, pickling and Avro work are synchronous and CPU-bound, so they stay off the event loop:
decoding runs on a decode thread (`WorkerState.decode`), and the model on one model thread
(`WorkerState.run_model`), which also serialises every access to the selector. The event loop
stays free to take messages and answer subset requests.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, TypeVar

import faust
from confluent_kafka import Consumer, TopicPartition

from pts.core import wire
from pts.core.dead_letters import DeadLetters
from pts.core.errors import PtsError
from pts.core.kafka import MAX_MESSAGE_BYTES, CheckedProducer, client_config
from pts.core.logs import get_logger
from pts.core.settings import Settings
from pts.core.topics import Reader, read_by, topic_name
from pts.selection.selector import Selector
from pts.streams import checkpoints
from pts.streams.kafka_security import broker_credentials

T = TypeVar("T")
log = get_logger(__name__)

CATCH_UP_TIMEOUT_S = 2.0
PRODUCE_TIMEOUT_S = 300.0
CLOSE_FLUSH_TIMEOUT_S = 10.0
# A crashed worker leaves the group after this long (Kafka's default is 45 s, faust's 60 s),
# so its replacement takes over its partitions that much sooner.
SESSION_TIMEOUT_S = 10.0
# What a subset answer must have seen before it is given: what the model replays.
FEEDS = tuple(spec.stem for spec in read_by(Reader.MODEL) if spec.replayed)


class WorkerState:
    """The selector, the offsets processed, and the model thread."""

    def __init__(
        self, settings: Settings, selector: Selector, offsets: dict[tuple[str, int], int]
    ) -> None:
        self.settings = settings
        self.selector = selector
        # Replies, predictions and dead letters: one producer, which keeps retrying through a
        # broker outage of up to PRODUCE_TIMEOUT_S.
        self.producer = CheckedProducer(settings, PRODUCE_TIMEOUT_S)
        self.dead_letters = DeadLetters(settings, self.producer)
        self.processed = dict(offsets)
        self._model_thread = ThreadPoolExecutor(1, thread_name_prefix="pts-model")
        self._io_thread = ThreadPoolExecutor(1, thread_name_prefix="pts-watermarks")
        self._decode_thread = ThreadPoolExecutor(1, thread_name_prefix="pts-decode")
        self._watermarks: Consumer | None = None
        self._progress = asyncio.Condition()
        self.last_checkpoint = time.monotonic()
        self._checkpoint_key = checkpoints.checkpoint_key(settings)

    async def run_model(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._model_thread, fn, *args)

    async def decode(self, value: bytes | None, schema: str) -> dict[str, Any]:
        """The message's record, decoded on the decode thread; raises DecodeError."""
        loop = asyncio.get_running_loop()
        _, record = await loop.run_in_executor(
            self._decode_thread, partial(wire.decode, value, expected=schema)
        )
        return record

    async def mark_processed(self, topic: str, partition: int, offset: int) -> None:
        async with self._progress:
            self.processed[(topic, partition)] = offset
            self._progress.notify_all()

    def _high_watermarks(self, partition: int, stems: tuple[str, ...]) -> dict[str, int]:
        if self._watermarks is None:
            self._watermarks = Consumer(
                client_config(
                    self.settings, **{"group.id": f"{self.settings.worker_id}-watermarks"}
                )
            )
        highs = {}
        for stem in stems:
            topic = topic_name(self.settings, stem)
            _, high = self._watermarks.get_watermark_offsets(
                TopicPartition(topic, partition), timeout=1.0, cached=False
            )
            highs[topic] = high
        return highs

    async def catch_up(
        self, partition: int, stems: tuple[str, ...] = FEEDS, timeout_s: float = CATCH_UP_TIMEOUT_S
    ) -> bool:
        """Wait until this worker has processed everything already written to the partition of
        each topic in `stems`: so a subset answer comes from a model that learned all prior
        results, and results are learned with their build's changes."""
        loop = asyncio.get_running_loop()
        highs = await loop.run_in_executor(self._io_thread, self._high_watermarks, partition, stems)

        def caught_up() -> bool:
            return all(
                self.processed.get((t, partition), -1) >= high - 1 for t, high in highs.items()
            )

        async with self._progress:
            try:
                await asyncio.wait_for(self._progress.wait_for(caught_up), timeout_s)
                return True
            except TimeoutError:
                return False

    def checkpoint(self) -> None:
        """Save the selector; call on the model thread only."""
        checkpoints.save(
            self.settings.checkpoint_dir,
            checkpoints.Checkpoint(self.selector, dict(self.processed)),
            self._checkpoint_key,
        )
        self.last_checkpoint = time.monotonic()

    def report_delivery_failures(self) -> None:
        """Log what the producer could not deliver since the last call."""
        failures = self.producer.take_failures()
        if failures:
            log.error("worker_delivery_failed", messages=len(failures), first=failures[0])

    def close(self) -> None:
        self._model_thread.shutdown(wait=True)
        try:
            self.producer.flush(CLOSE_FLUSH_TIMEOUT_S)
        except PtsError as exc:
            log.error("worker_undelivered_at_exit", error=str(exc))
        self._io_thread.shutdown(wait=False)
        self._decode_thread.shutdown(wait=False)
        if self._watermarks is not None:
            self._watermarks.close()


def create_app(settings: Settings) -> faust.App:
    return faust.App(
        settings.worker_id,
        # Names this worker among its group's members, where a second worker reports them.
        broker_client_id=f"{settings.worker_id}@{socket.gethostname()}:{os.getpid()}",
        broker=[f"kafka://{server}" for server in settings.kafka_bootstrap.split(",")],
        broker_credentials=broker_credentials(settings.kafka_config),
        store="memory://",
        autodiscover=False,
        topic_partitions=settings.partitions,
        key_serializer="raw",
        value_serializer="raw",
        web_port=settings.worker_http_port,
        web_bind=settings.worker_http_host,
        web_enabled=True,
        datadir=str(settings.data_dir / "faust"),  # faust's own folder, inside PTS_DATA_DIR
        consumer_auto_offset_reset="earliest",
        broker_session_timeout=SESSION_TIMEOUT_S,
        producer_max_request_size=MAX_MESSAGE_BYTES,  # replies and predictions of large suites
        broker_heartbeat_interval=1.0,
        producer_partitioner=None,
    )


def raw_topic(app: faust.App, settings: Settings, stem: str) -> faust.TopicT:
    return app.topic(
        topic_name(settings, stem),
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
    )
