"""The worker process, assembled: check; when it is the group's first member, read the model
snapshots and rewind the group to them (a joining worker restores each partition it is given);
register the agents (`pts.streams`), start the history loader thread (`pts.consumers`), serve
HTTP, snapshot the models on a timer, run."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
from concurrent.futures import ThreadPoolExecutor

import faust
from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, KafkaException, TopicPartition
from faust.types import TP

from pts.consumers.history_service import HistoryService, start_in_thread
from pts.core.errors import ConfigError
from pts.core.kafka import admin_client, client_config, retry_broker_call
from pts.core.logs import get_logger, stdlib_logging_config
from pts.core.secrets import check_secrets
from pts.core.settings import Settings
from pts.core.topics import Reader, ensure_topics, partitions_of, read_by, topic_name
from pts.core.topics import spec as topic_spec
from pts.selection.policies import Policies
from pts.selection.selector import Selector
from pts.streams import builds, checkpoints, rebuilds, snapshots, subsets, test_results
from pts.streams.app import SESSION_TIMEOUT_S, WorkerState, create_app, raw_topic
from pts.streams.kafka_security import broker_credentials
from pts.streams.snapshots import PartitionSnapshot
from pts.worker import http_endpoints
from pts.worker.broker_watch import CHECK_EVERY_S, BrokerWatch
from pts.worker.startup_checks import (
    check_http_address,
    check_http_exposure,
    group_members,
)

log = get_logger(__name__)

Offsets = dict[tuple[str, int], int]
# From SIGTERM (or a crash) to the end of the process, at most: a snapshot round, the turns
# the model thread took, the history thread and the last deliveries fit well within it.
SHUTDOWN_BOUND_S = 60.0


@retry_broker_call
def _watermarks(consumer: Consumer, partition: TopicPartition) -> tuple[int, int]:
    """Low and high offsets; retried, as a new topic's leader takes a moment to be known."""
    return consumer.get_watermark_offsets(partition, timeout=10)


def rewind_group(settings: Settings, markers: dict[int, dict[str, int]]) -> Offsets:
    """Point the group, which has no member, just after the snapshot markers: builds and results
    are replayed from there (from the start of a partition that has none); old requests are
    skipped. Returns where each partition of the skipped topics now starts."""
    consumer = Consumer(client_config(settings, **{"group.id": f"{settings.worker_id}-rewind"}))
    partitions: list[TopicPartition] = []
    skipped: Offsets = {}
    try:
        for spec in read_by(Reader.MODEL):
            topic = topic_name(settings, spec.stem)
            for partition in range(partitions_of(settings, spec)):
                low, high = _watermarks(consumer, TopicPartition(topic, partition))
                if spec.replayed:
                    marked = markers.get(partition, {}).get(spec.stem, low - 1)
                    start = max(marked + 1, low)
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
                f"cannot rewind consumer group {settings.worker_id} to its snapshots: "
                f"{exc.args[0].str() if exc.args else exc}"
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


def read_all_snapshots(settings: Settings) -> dict[int, PartitionSnapshot]:
    """Every partition's snapshot; StateRefused (a ConfigError: exit code 2), naming the
    partition and offset and saying how to rebuild, when anything on the topic is refused."""
    key = checkpoints.checkpoint_key(settings)
    consumer = snapshots.restore_consumer(settings)
    try:
        spec = topic_spec("model-snapshots")
        return {
            partition: snapshots.read_partition(settings, consumer, partition, key)
            for partition in range(partitions_of(settings, spec))
        }
    except checkpoints.StateRefused as exc:
        raise snapshots.with_rebuild_hint(settings, exc) from None
    finally:
        consumer.close()


def build_worker_app(
    settings: Settings, state: WorkerState, history: HistoryService | None = None
) -> faust.App:
    app = create_app(settings)
    broker = BrokerWatch(settings)
    replayed = {topic_name(settings, stem) for stem in snapshots.REPLAYED}
    # faust commits what it processed of the requests only; the snapshot rounds commit the
    # replayed topics, so the group's position there is where a complete round stood.
    builds.register(app, raw_topic(app, settings, "builds", acks=False), state)
    test_results.register(app, raw_topic(app, settings, "test-results", acks=False), state)
    subsets.register(app, raw_topic(app, settings, "subset-requests"), state)
    rebuilds.register(app, raw_topic(app, settings, "rebuilds"), state)
    http_endpoints.register(app, settings, state, history, broker)

    async def commit(positions: dict[tuple[str, int], int]) -> None:
        # faust's own commit commits acked messages only; this commits given positions.
        # faust crashes the worker on a commit that names no partition it holds.
        held = app.consumer.assignment()
        offsets = {TP(t, p): offset for (t, p), offset in positions.items() if TP(t, p) in held}
        if offsets and not await app.consumer._commit(offsets):
            log.warning("snapshot_offsets_not_committed", reason="the group rebalanced")

    state.commit = commit
    state.fatal = lambda exc: asyncio.ensure_future(app.crash(exc))

    @app.timer(snapshots.SNAPSHOT_EVERY_S)
    async def take_snapshot() -> None:
        await state.snapshot()
        state.report_delivery_failures()

    @app.on_partitions_revoked.connect
    async def on_revoked(app: faust.App, revoked: set[TP], **kwargs: object) -> None:
        await state.release({tp.partition for tp in revoked if tp.topic in replayed})

    @app.on_partitions_assigned.connect
    async def on_assigned(app: faust.App, assigned: set[TP], **kwargs: object) -> None:
        # Restore now rather than at the partition's first message, so /health and answers
        # show the projects at once; the agents still wait for it (`messages.consume`).
        for partition in {tp.partition for tp in assigned if tp.topic in replayed}:
            asyncio.ensure_future(state.ensure_restored(partition))

    @app.on_before_shutdown.connect
    async def on_shutdown(app: faust.App, **kwargs: object) -> None:
        await state.snapshot()

    # Its own thread: a check never waits behind other work (queries, lag) for a thread.
    watching = ThreadPoolExecutor(1, thread_name_prefix="pts-broker-watch")

    @app.timer(CHECK_EVERY_S)
    async def watch_broker() -> None:
        await asyncio.get_running_loop().run_in_executor(watching, broker.check)

    return app


def run_worker(settings: Settings, load_history: bool = True) -> None:
    check_secrets(settings)  # an empty or short token or key: before anything else
    policies = Policies.load(settings.projects_file)  # a bad file: before any broker contact
    broker_credentials(settings.kafka_config)  # refuse unusable security settings first
    check_http_exposure(settings)
    check_http_address(settings)
    ensure_topics(admin_client(settings), settings)
    members = group_members(settings)
    if members:
        # Joining: the group's positions are the snapshot rounds'; each partition this worker
        # is given is restored from its snapshot then.
        prefetched: dict[int, PartitionSnapshot] = {}
        offsets: Offsets = {}
        log.info("worker_joining_group", group=settings.worker_id, members=members)
    else:
        prefetched = read_all_snapshots(settings)
        offsets = _processed_before(
            rewind_group(settings, {p: s.offsets for p, s in prefetched.items()})
        )
    log.info(
        "worker_starting",
        restored=any(s.marked for s in prefetched.values()),
        projects=sum(len(s.projects) for s in prefetched.values()),
        bootstrap=settings.kafka_bootstrap,
    )
    state = WorkerState(settings, Selector(policies=policies), offsets, prefetched)

    loader_stop = threading.Event()
    history = start_in_thread(settings, loader_stop, SESSION_TIMEOUT_S) if load_history else None
    app = build_worker_app(settings, state, history)
    # faust's startup spinner writes terminal codes to stdout (also at exit, so the sink stays
    # open for the life of the process); our logs are JSON on stderr.
    no_spinner = open(os.devnull, "w")  # noqa: SIM115
    worker = BoundedWorker(
        app,
        loglevel="WARNING",
        quiet=True,
        redirect_stdouts=False,
        stdout=no_spinner,
        logging_config=stdlib_logging_config("warning"),
    )
    _run(worker, state, loader_stop, history.thread if history else None)


class BoundedWorker(faust.Worker):
    """A faust worker whose shutdown, once asked for, ends within SHUTDOWN_BOUND_S whatever
    state the agents are in: past it the process exits with code 1. Nothing is lost by that:
    the next start replays from the last snapshot, as after a crash."""

    _deadline: threading.Timer | None = None

    def _schedule_shutdown(self, signum: signal.Signals) -> None:
        self.bound_shutdown(f"signal {signum.name}")
        super()._schedule_shutdown(signum)

    def bound_shutdown(self, cause: str) -> None:
        """Start the clock on the shutdown (once)."""
        if self._deadline is not None:
            return
        log.info("worker_stopping", cause=cause, bound_s=SHUTDOWN_BOUND_S)
        self._deadline = threading.Timer(SHUTDOWN_BOUND_S, _exit_now, args=(cause,))
        self._deadline.daemon = True
        self._deadline.start()


def _exit_now(cause: str) -> None:
    log.error(
        "worker_shutdown_overdue", cause=cause, bound_s=SHUTDOWN_BOUND_S,
        hint="exiting now; the next start replays from the last snapshot",
    )  # fmt: skip
    os._exit(1)


def _run(
    worker: BoundedWorker,
    state: WorkerState,
    loader_stop: threading.Event,
    loader_thread: threading.Thread | None,
) -> None:
    try:
        worker.execute_from_commandline()
    except snapshots.RestoreStopped as stopped:  # the CLI prints its one line, exits with its code
        raise stopped.error from None
    finally:
        worker.bound_shutdown("the worker stopped")  # also when faust stops on a crash
        loader_stop.set()
        if loader_thread is not None:
            loader_thread.join(timeout=30)
        state.close()
        log.info("worker_stopped")
