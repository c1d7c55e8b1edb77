"""Rebuilding one project's model from the topics while the live one keeps serving, then
swapping it in (`pts rebuild`).

A request arrives on the `rebuilds` topic in the project's partition, so the worker that owns
the project gets it. That worker builds a fresh selector of the project, with the code it runs
now (features, learners), from the project's builds and results on the partition, read by a
consumer of its own outside the group on a thread of its own, up to where the live model has
learned: the live model keeps learning and answering meanwhile, and other projects are not
touched. Then, in one turn of the model thread, the rebuilt model learns the few batches the
live one learned since, and replaces it; the next snapshot round writes it. Batches the
partition delivers after that are learned by the rebuilt model; one it has learned already is
recognised by its identity, so nothing is learned twice.

When retention has dropped results the live model learned, the rebuilt model has learned fewer
results than the live one: it is refused and the live model stays.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import faust
from confluent_kafka import KafkaError, TopicPartition

from pts.core import wire
from pts.core.errors import DecodeError, PtsError
from pts.core.events import Build, TestResultBatch
from pts.core.logs import get_logger
from pts.core.rebuild_requests import PROGRESS, REFUSED, REQUEST, TOOK_OVER, RebuildRecord
from pts.core.topics import topic_name
from pts.selection.selector import ProjectSelector, Selector
from pts.streams import snapshots
from pts.streams.app import WorkerState

log = get_logger(__name__)

PROGRESS_EVERY_S = 1.0
FETCH_TIMEOUT_S = 10.0


class Rebuilder:
    """A fresh selector of one project, fed from the project's partition of the builds and
    results topics. Used on one thread at a time."""

    def __init__(self, state: WorkerState, project: str, partition: int) -> None:
        self.state, self.project, self.partition = state, project, partition
        self.selector = Selector(
            state.selector.model_kind, state.selector.seed, policies=state.selector.policies
        )
        self._key = project.encode()
        self._consumer = snapshots.restore_consumer(state.settings)
        self._topics = {
            stem: topic_name(state.settings, stem) for stem in ("builds", "test-results")
        }
        self.next = {stem: self._watermarks(stem)[0] for stem in self._topics}
        self.first = dict(self.next)  # where the partition started when the rebuild did
        self.builds = self.batches = self.read = 0

    @property
    def rebuilt(self) -> ProjectSelector | None:
        return self.selector.projects.get(self.project)

    def catch_up(self, progress: Callable[[int, int], None]) -> None:
        """Read the builds to the partition's end, and the results to the last offset the live
        model processed."""
        results = self._topics["test-results"]
        learned_to = self.state.processed.get((results, self.partition), -1) + 1
        ends = {"builds": self._watermarks("builds")[1], "test-results": learned_to}
        total = self.read + sum(max(end - self.next[s], 0) for s, end in ends.items())
        last = 0.0
        for stem, end in ends.items():
            for value in self._read(stem, end):
                self._take(stem, value)
                now = time.monotonic()
                if now - last >= PROGRESS_EVERY_S:
                    progress(self.read, total)
                    last = now
        progress(self.read, total)

    def take_over(self) -> str | None:
        """On the model thread: learn the batches the live model learned since `catch_up`,
        then install the rebuilt model; what is wrong instead, when it learned fewer results
        than the live one (retention dropped some) or there is no such project."""
        live = self.state.selector.projects.get(self.project)
        for value in self._read("builds", self._watermarks("builds")[1]):
            self._take("builds", value)
        learned = live.learned_batches if live is not None else {}
        for value in self._read("test-results", self._watermarks("test-results")[1]):
            batch = _batch(value, self._key)
            if batch is not None and batch.identity not in learned:
                break  # the live model learns in order: nothing after this is learned either
            self._take("test-results", value)
        rebuilt = self.rebuilt
        live_results = live.results_learned if live is not None else 0
        rebuilt_results = rebuilt.results_learned if rebuilt is not None else 0
        if live is None and rebuilt is None:
            return f"this worker holds no model of {self.project}, and the topics no event of it"
        if rebuilt is None or rebuilt_results < live_results:
            return self._gone(live_results - rebuilt_results, live_results)
        self.state.selector.projects[self.project] = rebuilt
        return None

    def close(self) -> None:
        self._consumer.close()

    def _gone(self, missing: int, learned: int) -> str:
        dropped = {s: n for s, n in self.first.items() if n > 0}
        where = "; ".join(
            f"{self._topics[s]}[{self.partition}] starts at offset {n:,}"
            for s, n in dropped.items()
        )
        oldest = self._oldest_kept("test-results")
        since = f", its oldest kept batch is from {oldest:%Y-%m-%d %H:%M} UTC" if oldest else ""
        return (
            f"the topics no longer hold {missing:,} of the {learned:,} results the model of "
            f"{self.project} learned (retention dropped them{': ' + where if where else ''}"
            f"{since}); the live model stays"
        )

    def _take(self, stem: str, value: bytes | None) -> None:
        if stem == "builds":
            try:
                _, record = wire.decode(value, expected="Build")
            except DecodeError:
                return  # the live worker dead-lettered it
            if record["project"] == self.project:
                self.selector.observe_build(Build.from_record(record))
                self.builds += 1
            return
        batch = _batch(value, self._key)
        if batch is not None and self.selector.learn(batch):
            self.batches += 1

    def _read(self, stem: str, end: int) -> Iterator[bytes | None]:
        """The values of the project's messages from `self.next[stem]` up to `end`."""
        start = self.next[stem]
        if start >= end:
            return
        topic = self._topics[stem]
        self._consumer.assign([TopicPartition(topic, self.partition, start)])
        try:
            deadline = time.monotonic() + FETCH_TIMEOUT_S
            while self.next[stem] < end:
                message = self._consumer.poll(0.5)
                if message is None:
                    if time.monotonic() > deadline:
                        raise PtsError(f"{topic}[{self.partition}] gave nothing in time")
                    continue
                deadline = time.monotonic() + FETCH_TIMEOUT_S
                error = message.error()
                if error is not None:
                    if error.code() == KafkaError._PARTITION_EOF:
                        break
                    continue
                if message.offset() >= end:
                    break
                self.next[stem] = message.offset() + 1
                self.read += 1
                if message.key() == self._key:
                    yield message.value()
        finally:
            self._consumer.unassign()

    def _watermarks(self, stem: str) -> tuple[int, int]:
        return self._consumer.get_watermark_offsets(
            TopicPartition(self._topics[stem], self.partition), timeout=FETCH_TIMEOUT_S
        )

    def _oldest_kept(self, stem: str) -> datetime | None:
        low, high = self._watermarks(stem)
        if low >= high:
            return None
        self._consumer.assign([TopicPartition(self._topics[stem], self.partition, low)])
        try:
            message = self._consumer.poll(FETCH_TIMEOUT_S)
            if message is None or message.error() is not None:
                return None
            return datetime.fromtimestamp(message.timestamp()[1] / 1000, UTC)
        finally:
            self._consumer.unassign()


def _batch(value: bytes | None, key: bytes) -> TestResultBatch | None:
    try:
        _, record = wire.decode(value, expected="TestResultBatch")
    except DecodeError:
        return None  # the live worker dead-lettered it
    if record["project"].encode() != key:
        return None
    return TestResultBatch.from_record(record)


async def rebuild(state: WorkerState, request: RebuildRecord, partition: int) -> None:
    """Rebuild the project of `request`, answering on the rebuilds topic."""
    topic = topic_name(state.settings, "rebuilds")
    worker = state.settings.worker_id

    def answer(record: RebuildRecord) -> None:
        state.producer.produce(topic, request.project.encode(), record.to_json(), partition)

    def progress(done: int, total: int) -> None:
        answer(RebuildRecord(PROGRESS, request.request_id, request.project, done, total,
                             worker=worker))  # fmt: skip

    started = time.monotonic()
    loop = asyncio.get_running_loop()
    with ThreadPoolExecutor(1, thread_name_prefix="pts-rebuild") as thread:
        rebuilder = await loop.run_in_executor(thread, Rebuilder, state, request.project, partition)
        try:
            for _ in range(2):  # the second pass takes what the live model learned meanwhile
                await loop.run_in_executor(thread, rebuilder.catch_up, progress)
            refused = await state.run_model(rebuilder.take_over)
        except PtsError as exc:
            refused = f"the rebuild stopped: {exc}"
        finally:
            await loop.run_in_executor(thread, rebuilder.close)
    rebuilt = rebuilder.rebuilt
    if refused is None and rebuilt is not None:
        state.changed(request.project, partition)  # the next snapshot round writes it
        answer(RebuildRecord(TOOK_OVER, request.request_id, request.project,
                             builds=rebuilder.builds, batches=rebuilder.batches,
                             results=rebuilt.results_learned, worker=worker))  # fmt: skip
        log.info("project_rebuilt", project=request.project, batches=rebuilder.batches,
                 results=rebuilt.results_learned,
                 seconds=round(time.monotonic() - started, 3))  # fmt: skip
    else:
        answer(RebuildRecord(REFUSED, request.request_id, request.project,
                             reason=refused or "nothing of the project was rebuilt",
                             worker=worker))  # fmt: skip
        log.warning("project_rebuild_refused", project=request.project, reason=refused)
    await loop.run_in_executor(None, state.producer.flush)


def register(app: faust.App, requests: faust.TopicT, state: WorkerState) -> None:
    @app.agent(requests, name="rebuilds")
    async def rebuild_projects(stream: faust.StreamT) -> None:
        async for event in stream.events():
            message = event.message
            request = RebuildRecord.parse(message.value)
            if request is None or request.kind != REQUEST:
                continue  # answers, ours or another worker's
            await state.ensure_restored(message.partition)
            await rebuild(state, request, message.partition)
