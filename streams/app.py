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
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, TypeVar

import faust
from confluent_kafka import Consumer, KafkaException, TopicPartition

from pts.core import wire
from pts.core.bounded import described
from pts.core.dead_letters import DeadLetters
from pts.core.errors import PtsError
from pts.core.events import result_columns_of, utc_now
from pts.core.go_packages import PackagesOf
from pts.core.kafka import MAX_MESSAGE_BYTES, CheckedProducer, client_config
from pts.core.logs import get_logger
from pts.core.settings import Settings
from pts.core.topics import Reader, read_by, topic_name
from pts.selection.selector import Selector
from pts.streams import checkpoints, snapshots
from pts.streams.go_packages import GoPackageBook
from pts.streams.kafka_security import broker_credentials
from pts.streams.metrics import WorkerMetrics

T = TypeVar("T")
log = get_logger(__name__)

CATCH_UP_TIMEOUT_S = 2.0
# A batch whose build has not been seen waits this long for the builds topic to be read up to
# where it ended (usually milliseconds; seconds on a loaded machine), then is learned without it.
BUILD_WAIT_S = 15.0
CATCH_UP_RETRY_S = 2.0  # while the broker does not answer, how often a catch-up asks it again
COUNT_BEHIND_TIMEOUT_S = 5.0  # reading what the model has not learned, to count it
PRODUCE_TIMEOUT_S = 300.0
CLOSE_FLUSH_TIMEOUT_S = 10.0
# A crashed worker leaves the group after this long (Kafka's default is 45 s, faust's 60 s),
# so its replacement takes over its partitions that much sooner.
SESSION_TIMEOUT_S = 10.0
# What a subset answer must have seen before it is given: what the model replays.
FEEDS = tuple(spec.stem for spec in read_by(Reader.MODEL) if spec.replayed)


class WorkerState:
    """The selector, the offsets processed, the partitions owned, and the model thread."""

    def __init__(
        self,
        settings: Settings,
        selector: Selector,
        offsets: dict[tuple[str, int], int],
        prefetched: dict[int, snapshots.PartitionSnapshot] | None = None,
    ) -> None:
        """`prefetched`: partitions read from the snapshot topic at start-up, used when nobody
        snapshotted them since."""
        self.settings = settings
        self.selector = selector
        self.go_packages = GoPackageBook()  # used on the model thread
        # Replies, predictions and snapshots: one producer, which keeps retrying through a
        # broker outage of up to PRODUCE_TIMEOUT_S. Dead letters have their own, so that one
        # that cannot be written is counted as such and fails no snapshot round.
        self.producer = CheckedProducer(settings, PRODUCE_TIMEOUT_S)
        self.dead_letters = DeadLetters(settings, CheckedProducer(settings, PRODUCE_TIMEOUT_S))
        self.processed = dict(offsets)
        self.metrics = WorkerMetrics()  # served on /metrics
        self._model_thread = ThreadPoolExecutor(1, thread_name_prefix="pts-model")
        self._io_thread = ThreadPoolExecutor(1, thread_name_prefix="pts-watermarks")
        self._decode_thread = ThreadPoolExecutor(1, thread_name_prefix="pts-decode")
        self._snapshot_thread = ThreadPoolExecutor(1, thread_name_prefix="pts-snapshots")
        self._watermarks: Consumer | None = None
        self._restorer: Consumer | None = None
        self._behind: Consumer | None = None  # reads what the model has not learned yet
        self._progress = asyncio.Condition()
        self._key = checkpoints.checkpoint_key(settings)
        self._prefetched = dict(prefetched or {})
        self.partition_of: dict[str, int] = {}  # each owned project's partition
        self.restored: dict[int, dict[str, int]] = {}  # owned partition -> its marker's offsets
        self.restored_results: dict[int, int] = {}  # owned partition -> results in its snapshot
        self._marked: dict[int, dict[str, int]] = {}  # the offsets last marked, per partition
        self._changed: set[str] = set()  # projects changed since the last snapshot round
        self._restoring: dict[int, asyncio.Lock] = {}
        self._snapshotting = asyncio.Lock()
        self.last_snapshot: dict[str, Any] = {}
        # Agents that crashed (faust restarts them): name -> what, since when, how often.
        self.crashed_agents: dict[str, dict[str, Any]] = {}
        # When the broker last failed to say where partitions end (None: it answers); logged
        # once, and asked again only every CATCH_UP_RETRY_S meanwhile.
        self._catch_up_failed_at: float | None = None
        # Set by the worker process: commit offsets to the group; stop on a fatal error.
        self.commit: Callable[[dict[tuple[str, int], int]], Awaitable[None]] | None = None
        self.fatal: Callable[[BaseException], None] | None = None

    async def run_model(self, fn: Callable[..., T], *args: Any) -> T:
        return await self.start_model(fn, *args)

    def start_model(self, fn: Callable[..., T], *args: Any) -> asyncio.Future[T]:
        """`fn(*args)` queued for the model thread now; the future of its result."""
        return asyncio.get_running_loop().run_in_executor(self._model_thread, fn, *args)

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

    def changed(self, project: str, partition: int) -> None:
        """The project's model changed: it goes into the next snapshot round."""
        self.partition_of[project] = partition
        self._changed.add(project)

    def in_snapshot(self, topic: str, partition: int, offset: int) -> bool:
        """Whether the message is already in the restored states of its partition."""
        stem = topic.removeprefix(f"{self.settings.topic_prefix}.")
        return offset <= self.restored.get(partition, {}).get(stem, -1)

    async def ensure_restored(self, partition: int) -> None:
        """Restore the partition's projects from the snapshot topic, once per assignment, before
        anything of the partition is learned or answered."""
        if partition in self.restored:
            return
        lock = self._restoring.setdefault(partition, asyncio.Lock())
        async with lock:
            if partition in self.restored:
                return
            started = time.monotonic()
            loop = asyncio.get_running_loop()
            try:
                snapshot = await loop.run_in_executor(
                    self._snapshot_thread, self._read_partition, partition
                )
            except PtsError as exc:
                log.error("partition_restore_failed", partition=partition, error=str(exc))
                if self.fatal is not None:  # the worker stops, with the error's exit code
                    self.fatal(snapshots.RestoreStopped(exc))
                raise
            self.publish_go_packages(await self.run_model(self._install, snapshot))
            log.info(
                "partition_restored",
                seconds=round(time.monotonic() - started, 3),
                **snapshots.describe(snapshot),
            )

    def _read_partition(self, partition: int) -> snapshots.PartitionSnapshot:
        if self._restorer is None:
            self._restorer = snapshots.restore_consumer(self.settings)
        prefetched = self._prefetched.pop(partition, None)
        if prefetched is not None and prefetched.end == snapshots.end_offset(
            self.settings, self._restorer, partition
        ):
            return prefetched
        try:
            return snapshots.read_partition(self.settings, self._restorer, partition, self._key)
        except checkpoints.StateRefused as exc:
            raise snapshots.with_rebuild_hint(self.settings, exc) from None

    def _install(self, snapshot: snapshots.PartitionSnapshot) -> list[PackagesOf]:
        # On the model thread. Returns the Go packages of the restored projects' tests.
        packages = []
        for name, project in snapshot.projects.items():
            self.selector.projects[name] = project
            self.partition_of[name] = snapshot.partition
            packages += self.go_packages.restore(name, project.history.tests)
        for stem in snapshots.REPLAYED:
            key = (topic_name(self.settings, stem), snapshot.partition)
            self.processed[key] = max(self.processed.get(key, -1), snapshot.offsets.get(stem, -1))
        self._marked[snapshot.partition] = dict(snapshot.offsets)
        self.restored[snapshot.partition] = dict(snapshot.offsets)
        self.restored_results[snapshot.partition] = sum(
            p.results_learned for p in snapshot.projects.values()
        )
        return packages

    def publish_go_packages(self, records: list[PackagesOf]) -> None:
        """Send records of `go-packages` (compacted: the newest of each key is the one kept)."""
        topic = topic_name(self.settings, "go-packages")
        for record in records:
            self.producer.produce(topic, record.key, record.to_json())

    async def release(self, partitions: set[int]) -> None:
        """Partitions revoked: let a restore of theirs under way finish, snapshot what changed
        in them, then forget their projects."""
        for partition in partitions:
            lock = self._restoring.get(partition)
            if lock is not None and lock.locked():
                async with lock:  # else the restore would install them after the release
                    pass
        owned = partitions & set(self.restored)
        if not owned:
            return
        await self.snapshot(owned)
        dropped = [name for name, p in self.partition_of.items() if p in owned]
        await self.run_model(self._drop, dropped, owned)
        log.info("partitions_released", partitions=sorted(owned), projects=len(dropped))

    def _drop(self, projects: list[str], partitions: set[int]) -> None:
        # On the model thread.
        for name in projects:
            self.selector.projects.pop(name, None)
            self.partition_of.pop(name, None)
            self.go_packages.forget(name)
            self._changed.discard(name)
        for partition in partitions:
            self.restored.pop(partition, None)
            self.restored_results.pop(partition, None)
            self._marked.pop(partition, None)

    def agent_crashed(self, agent: str, exc: BaseException) -> None:
        """An agent stopped on an error. faust restarts it, but the messages it had taken are
        not given to it again: so no snapshot round marks offsets past them any more, and a
        restart of the worker replays them from the last snapshot."""
        crash = self.crashed_agents.setdefault(
            agent, {"since": utc_now().isoformat(), "crashes": 0}
        )
        crash["crashes"] += 1
        crash["error"] = described(exc)
        log.error(
            "agent_crashed", agent=agent, error=crash["error"], crashes=crash["crashes"],
            hint="snapshots are paused; restart the worker to replay from the last snapshot",
        )  # fmt: skip

    async def snapshot(self, partitions: set[int] | None = None) -> bool:
        """One snapshot round (see `pts.streams.snapshots`) over the owned `partitions` (all
        when None); False when the broker did not take it (the next round retries), or when
        an agent crashed (`agent_crashed`)."""
        if self.crashed_agents:
            return False
        async with self._snapshotting:
            owned = set(self.restored) if partitions is None else partitions & set(self.restored)
            # Step 1, in one step on the event loop: offsets and changes agree.
            offsets = {p: self._processed_of(p) for p in owned}
            changed = [n for n in self._changed if self.partition_of.get(n) in owned]
            self._changed.difference_update(changed)
            moved = [p for p in owned if offsets[p] != self._marked.get(p)]
            if not changed and not moved:
                return True
            started = time.monotonic()
            try:
                state_bytes = await self._produce_states(changed, offsets)
                topic = snapshots.snapshot_topic(self.settings)
                for p in moved:
                    marker = snapshots.encode_marker(topic, p, offsets[p], self._key, self._worker)
                    self.producer.produce(topic, snapshots.MARKER_KEY, marker, partition=p)
                loop = asyncio.get_running_loop()
                await loop.run_in_executor(self._snapshot_thread, self.producer.flush)
            except PtsError as exc:
                self._changed.update(changed)
                log.error("snapshot_failed", partitions=sorted(owned), error=str(exc))
                self.metrics.snapshot_round(taken=False)
                return False
            for p in moved:
                self._marked[p] = offsets[p]
            await self._commit_marked(moved, offsets)
            self.last_snapshot = {
                "at": utc_now().isoformat(),
                "projects": len(changed),
                "bytes": state_bytes,
                "seconds": round(time.monotonic() - started, 3),
            }
            log.info("snapshot_taken", partitions=sorted(moved), **self.last_snapshot)
            self.metrics.snapshot_round(taken=True)
            return True

    async def _produce_states(self, changed: list[str], offsets: dict[int, dict[str, int]]) -> int:
        loop = asyncio.get_running_loop()
        topic = snapshots.snapshot_topic(self.settings)
        total = 0
        for name in changed:
            pickled = await self.run_model(self._pickle, name)
            if pickled is None:
                continue  # released meanwhile
            partition = self.partition_of[name]
            value = await loop.run_in_executor(
                self._snapshot_thread,
                partial(snapshots.encode_state, name, partition, offsets[partition], pickled,
                        self._key, self._worker),
            )  # fmt: skip
            total += len(value)
            self.producer.produce(topic, name.encode(), value, partition=partition)
        return total

    def _processed_of(self, partition: int) -> dict[str, int]:
        """The last offset processed of each replayed topic of the partition, where any is."""
        processed = {
            stem: self.processed.get((topic_name(self.settings, stem), partition), -1)
            for stem in snapshots.REPLAYED
        }
        return {stem: offset for stem, offset in processed.items() if offset >= 0}

    def _pickle(self, name: str) -> bytes | None:
        # On the model thread: one project per turn, so learning goes on between turns.
        project = self.selector.projects.get(name)
        return None if project is None else checkpoints.pickled(project)

    async def _commit_marked(
        self, partitions: list[int], offsets: dict[int, dict[str, int]]
    ) -> None:
        if self.commit is None or not partitions:
            return
        positions = {
            (topic_name(self.settings, stem), p): offset + 1
            for p in partitions
            for stem, offset in offsets[p].items()
        }
        if not positions:
            return
        try:
            await self.commit(positions)
        except Exception as exc:  # the next owner replays from an earlier marker: no loss
            log.warning("snapshot_offsets_not_committed", error=repr(exc))

    @property
    def _worker(self) -> str:
        return f"{self.settings.worker_id}@{socket.gethostname()}:{os.getpid()}"

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
        self,
        partition: int,
        stems: tuple[str, ...] = FEEDS,
        timeout_s: float = CATCH_UP_TIMEOUT_S,
        or_until: Callable[[], bool] | None = None,
    ) -> bool:
        """Wait until this worker has processed everything already written to the partition of
        each topic in `stems`: so a subset answer comes from a model that learned all prior
        results, and results are learned with their build's changes. When the broker cannot
        say where the partitions end, that counts as not caught up (logged once), and the wait
        is for `or_until` instead, if given."""
        failed_at = self._catch_up_failed_at
        if failed_at is not None and time.monotonic() - failed_at < CATCH_UP_RETRY_S:
            return or_until is not None and await self._progressed(or_until, timeout_s)
        loop = asyncio.get_running_loop()
        try:
            highs = await loop.run_in_executor(
                self._io_thread, self._high_watermarks, partition, stems
            )
        except (KafkaException, PtsError) as exc:
            if failed_at is None:
                log.warning("catch_up_unavailable", partition=partition, error=described(exc))
            self._catch_up_failed_at = time.monotonic()
            return or_until is not None and await self._progressed(or_until, timeout_s)
        if failed_at is not None:
            self._catch_up_failed_at = None
            log.info("catch_up_available", partition=partition)

        def caught_up() -> bool:
            return all(
                self.processed.get((t, partition), -1) >= high - 1 for t, high in highs.items()
            )

        return await self._progressed(caught_up, timeout_s)

    async def _progressed(self, condition: Callable[[], bool], timeout_s: float) -> bool:
        """Whether `condition` holds, asked at each message processed, within `timeout_s`."""
        async with self._progress:
            try:
                await asyncio.wait_for(self._progress.wait_for(condition), timeout_s)
                return True
            except TimeoutError:
                return False

    async def results_behind(self, partition: int, project: str) -> int:
        """The project's results written to the partition that the model has not learned; 0
        when the broker cannot tell (`catch_up` has logged it away)."""
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(
                self._io_thread, self._count_behind, partition, project
            )
        except (KafkaException, PtsError):
            return 0

    def _count_behind(self, partition: int, project: str) -> int:
        # On the watermarks thread; only when an answer could not wait for the model.
        topic = topic_name(self.settings, "test-results")
        start = self.processed.get((topic, partition), -1) + 1
        end = self._high_watermarks(partition, ("test-results",))[topic]
        if start >= end:
            return 0
        if self._behind is None:
            self._behind = snapshots.restore_consumer(self.settings)
        key, count = project.encode(), 0
        self._behind.assign([TopicPartition(topic, partition, start)])
        deadline = time.monotonic() + COUNT_BEHIND_TIMEOUT_S
        try:
            while time.monotonic() < deadline:
                message = self._behind.poll(0.5)
                if message is None or message.error() is not None:
                    continue
                if message.key() == key:
                    count += _results_in(message.value())
                if message.offset() >= end - 1:
                    break
        finally:
            self._behind.unassign()
        return count

    def report_delivery_failures(self) -> None:
        """Log what the producers could not deliver since the last call."""
        failures = self.producer.take_failures()
        if failures:
            log.error("worker_delivery_failed", messages=len(failures), first=failures[0])
        self.dead_letters.count_undelivered()

    def close(self) -> None:
        self._model_thread.shutdown(wait=True)
        try:
            self.producer.flush(CLOSE_FLUSH_TIMEOUT_S)
            self.dead_letters.confirm(CLOSE_FLUSH_TIMEOUT_S)
        except PtsError as exc:
            log.error("worker_undelivered_at_exit", error=str(exc))
        self._io_thread.shutdown(wait=False)
        self._decode_thread.shutdown(wait=False)
        self._snapshot_thread.shutdown(wait=False)
        for consumer in (self._watermarks, self._restorer, self._behind):
            if consumer is not None:
                consumer.close()


def _results_in(value: bytes | None) -> int:
    """The results that ran in a batch message; 0 for one that does not decode."""
    try:
        _, record = wire.decode(value, expected="TestResultBatch")
    except PtsError:
        return 0
    return len(result_columns_of(record).ran())


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


def raw_topic(app: faust.App, settings: Settings, stem: str, acks: bool = True) -> faust.TopicT:
    """`acks=False`: faust never commits the topic's offsets; the snapshot rounds do."""
    return app.topic(
        topic_name(settings, stem),
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        acks=acks,
    )
