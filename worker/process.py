"""The worker process, assembled: check, restore the checkpoint, rewind the group, register the
agents (`pts.streams`), start the history loader thread (`pts.consumers`), serve HTTP, save
checkpoints on a timer, run."""

from __future__ import annotations

import asyncio
import os
import threading

import faust
from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, KafkaException, TopicPartition

from pts.consumers.history_service import HistoryService, start_in_thread
from pts.core.errors import ConfigError
from pts.core.kafka import admin_client, client_config, retry_broker_call
from pts.core.logs import get_logger, stdlib_logging_config
from pts.core.settings import Settings
from pts.core.topics import Reader, ensure_topics, partitions_of, read_by, topic_name
from pts.selection.selector import Selector
from pts.streams import builds, checkpoints, subsets, test_results
from pts.streams.app import SESSION_TIMEOUT_S, WorkerState, create_app, raw_topic
from pts.streams.kafka_security import broker_credentials
from pts.worker import http_endpoints
from pts.worker.broker_watch import CHECK_EVERY_S, BrokerWatch
from pts.worker.startup_checks import (
    check_http_address,
    check_http_exposure,
    wait_until_group_is_empty,
)

log = get_logger(__name__)

Offsets = dict[tuple[str, int], int]


@retry_broker_call
def _watermarks(consumer: Consumer, partition: TopicPartition) -> tuple[int, int]:
    """Low and high offsets; retried, as a new topic's leader takes a moment to be known."""
    return consumer.get_watermark_offsets(partition, timeout=10)


def rewind_group(settings: Settings, offsets: Offsets) -> Offsets:
    """Point the worker's group just after the checkpoint: builds and results are replayed
    from there (from the start when there is no checkpoint); old requests are skipped.
    Returns where each partition of the skipped topics now starts."""
    consumer = Consumer(client_config(settings, **{"group.id": f"{settings.worker_id}-rewind"}))
    partitions: list[TopicPartition] = []
    skipped: Offsets = {}
    try:
        for spec in read_by(Reader.MODEL):
            topic = topic_name(settings, spec.stem)
            for partition in range(partitions_of(settings, spec)):
                low, high = _watermarks(consumer, TopicPartition(topic, partition))
                if spec.replayed:
                    start = max(offsets.get((topic, partition), low - 1) + 1, low)
                else:
                    start = skipped[topic, partition] = high
                partitions.append(TopicPartition(topic, partition, start))
    finally:
        consumer.close()
    admin = admin_client(settings)
    futures = admin.alter_consumer_group_offsets(
        [ConsumerGroupTopicPartitions(settings.worker_id, partitions)]
    )
    for future in futures.values():
        try:
            future.result(timeout=30)
        except KafkaException as exc:
            raise ConfigError(
                f"cannot rewind consumer group {settings.worker_id} to the checkpoint: "
                f"{exc.args[0].str() if exc.args else exc} (is another worker with this "
                "PTS_WORKER_ID running? One worker per group is supported today)"
            ) from exc
    log.info(
        "worker_group_rewound",
        group=settings.worker_id,
        offsets={f"{tp.topic}[{tp.partition}]": tp.offset for tp in partitions},
    )
    return skipped


def _processed_before(starts: Offsets) -> Offsets:
    """The offsets a reader starting at `starts` counts as processed."""
    return {key: start - 1 for key, start in starts.items()}


def build_worker_app(
    settings: Settings, state: WorkerState, history: HistoryService | None = None
) -> faust.App:
    app = create_app(settings)
    broker = BrokerWatch(settings)
    builds.register(app, raw_topic(app, settings, "builds"), state)
    test_results.register(app, raw_topic(app, settings, "test-results"), state)
    subsets.register(app, raw_topic(app, settings, "subset-requests"), state)
    http_endpoints.register(app, settings, state, history, broker)

    @app.timer(10.0)
    async def save_checkpoint() -> None:
        await state.run_model(state.checkpoint)
        state.report_delivery_failures()

    @app.timer(CHECK_EVERY_S)
    async def watch_broker() -> None:
        await asyncio.get_running_loop().run_in_executor(None, broker.check)

    return app


def run_worker(settings: Settings, load_history: bool = True) -> None:
    broker_credentials(settings.kafka_config)  # refuse unusable security settings first
    check_http_exposure(settings)
    check_http_address(settings)
    ensure_topics(admin_client(settings), settings)
    restored = checkpoints.load(settings.checkpoint_dir, checkpoints.checkpoint_key(settings))
    selector = restored.selector if restored else Selector()
    offsets = restored.offsets if restored else {}
    log.info(
        "worker_starting",
        restored=restored is not None,
        projects=len(selector.projects),
        bootstrap=settings.kafka_bootstrap,
    )
    wait_until_group_is_empty(settings)
    skipped = rewind_group(settings, offsets)
    state = WorkerState(settings, selector, {**offsets, **_processed_before(skipped)})

    loader_stop = threading.Event()
    history = start_in_thread(settings, loader_stop, SESSION_TIMEOUT_S) if load_history else None
    app = build_worker_app(settings, state, history)
    # faust's startup spinner writes terminal codes to stdout (also at exit, so the sink stays
    # open for the life of the process); our logs are JSON on stderr.
    no_spinner = open(os.devnull, "w")  # noqa: SIM115
    worker = faust.Worker(
        app,
        loglevel="WARNING",
        quiet=True,
        redirect_stdouts=False,
        stdout=no_spinner,
        logging_config=stdlib_logging_config("warning"),
    )
    _run(worker, state, loader_stop, history.thread if history else None)


def _run(
    worker: faust.Worker,
    state: WorkerState,
    loader_stop: threading.Event,
    loader_thread: threading.Thread | None,
) -> None:
    try:
        worker.execute_from_commandline()
    finally:
        loader_stop.set()
        if loader_thread is not None:
            loader_thread.join(timeout=30)
        state.checkpoint()
        state.close()
        log.info("worker_stopped")
