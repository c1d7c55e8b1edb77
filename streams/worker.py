"""Start the stream worker: check, restore the checkpoint, rewind, register agents, serve HTTP,
run."""

from __future__ import annotations

import asyncio
import os
import threading
from typing import Any

import faust
from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, KafkaException, TopicPartition
from tenacity import retry, retry_if_exception_type, stop_after_delay, wait_exponential

from pts.core.errors import ConfigError, PtsError
from pts.core.kafka import (
    admin_client,
    client_config,
)
from pts.core.logs import get_logger, stdlib_logging_config
from pts.core.settings import Settings
from pts.core.topics import TOPICS, ensure_topics, partitions_of, topic_name
from pts.selection.selector import Selector
from pts.sinks.query import PARAM_PREFIX
from pts.streams import builds, checkpoints, subsets, test_results
from pts.streams.app import FEEDS, SESSION_TIMEOUT_S, WorkerState, create_app, raw_topic
from pts.streams.kafka_security import broker_credentials
from pts.streams.lag import measure_lag
from pts.streams.startup_checks import check_http_address, wait_until_group_is_empty

log = get_logger(__name__)

Offsets = dict[tuple[str, int], int]


@retry(
    retry=retry_if_exception_type(KafkaException),
    stop=stop_after_delay(30),
    wait=wait_exponential(multiplier=0.1, max=2),
    reraise=True,
)
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
        for spec in TOPICS:
            if not spec.feeds_model or spec.stem == "commits":
                continue
            topic = topic_name(settings, spec.stem)
            for partition in range(partitions_of(settings, spec)):
                low, high = _watermarks(consumer, TopicPartition(topic, partition))
                if spec.stem in FEEDS:
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


def build_worker_app(settings: Settings, state: WorkerState, query: Any = None) -> faust.App:
    app = create_app(settings)
    dead_letters = raw_topic(app, settings, "dead-letters")
    builds.register(app, raw_topic(app, settings, "builds"), dead_letters, state)
    test_results.register(
        app,
        raw_topic(app, settings, "test-results"),
        raw_topic(app, settings, "predictions"),
        dead_letters,
        state,
    )
    subsets.register(app, raw_topic(app, settings, "subset-requests"), dead_letters, state)

    @app.page("/health")
    async def health(web: faust.web.View, request: faust.web.Request) -> faust.web.Response:
        projects = {
            name: {
                "results_learned": p.results_learned,
                "model": p.model_name,
                "roc_auc": _rounded(p.roc_auc),
            }
            for name, p in state.selector.projects.items()
        }
        return web.json({"status": "ok", "worker": settings.worker_id, "projects": projects})

    @app.page("/lag")
    async def lag(web: faust.web.View, request: faust.web.Request) -> faust.web.Response:
        processed = dict(state.processed)
        loop = asyncio.get_running_loop()
        try:
            behind = await loop.run_in_executor(None, measure_lag, settings, processed)
        except KafkaException as exc:
            return web.json({"error": f"Kafka did not answer: {exc}"}, status=503)
        return web.json(behind)

    if query is not None:

        @app.page("/query")
        async def run_query(web: faust.web.View, request: faust.web.Request) -> faust.web.Response:
            sql = request.query.get("sql", "")
            params = {
                name.removeprefix(PARAM_PREFIX): value
                for name, value in request.query.items()
                if name.startswith(PARAM_PREFIX)
            }
            try:
                rows = await asyncio.get_running_loop().run_in_executor(None, query, sql, params)
            except PtsError as exc:
                return web.json({"error": str(exc)}, status=400)
            return web.json({"rows": rows})

    @app.timer(10.0)
    async def save_checkpoint() -> None:
        await state.run_model(state.checkpoint)

    return app


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def run_worker(settings: Settings, load_history: bool = True) -> None:
    broker_credentials(settings.kafka_config)  # refuse unusable security settings first
    check_http_address(settings)
    ensure_topics(admin_client(settings), settings)
    restored = checkpoints.load(settings.checkpoint_dir)
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
    loader_thread, query = None, None
    if load_history:
        from pts.consumers.history_service import start_in_thread

        loader_thread, query = start_in_thread(settings, loader_stop, SESSION_TIMEOUT_S)
    app = build_worker_app(settings, state, query)
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
    _run(worker, state, loader_stop, loader_thread)


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
