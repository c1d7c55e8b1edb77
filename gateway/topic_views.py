"""What the gateway reads of the topics to answer on its own: the tokens, which builds exist
(with when each was recorded), the newest commits, and the Go packages each project's tests
named, each a view a thread keeps by reading its topic from the start.

A view answers from memory; a lookup that misses first catches the view up to the end the
topic has at that moment, so a token created or a build recorded through another replica a
moment ago is found (read your writes), and only then is a miss a 401 or a 404.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, Message, TopicPartition

from pts.core import wire
from pts.core.errors import BrokerUnavailable, DecodeError
from pts.core.events import Build, Commit
from pts.core.go_packages import PackagesOf
from pts.core.kafka import ask_cluster, client_config
from pts.core.logs import get_logger
from pts.core.settings import Settings
from pts.core.topics import topic_name
from pts.gateway.tokens import TokenBook, TokenRecord

log = get_logger(__name__)


class TopicView:
    """A topic read from its start on a thread of its own, each message folded into state."""

    def __init__(self, settings: Settings, stem: str, fold: Callable[[Message], None]) -> None:
        self.settings = settings
        self.topic = topic_name(settings, stem)
        self._fold = fold
        config = client_config(
            settings,
            **{
                "group.id": f"pts-gateway-{uuid.uuid4().hex[:8]}",
                "enable.auto.commit": False,
                "enable.partition.eof": False,
            },
        )
        self._consumer = Consumer(config)
        self._watermarks = Consumer(config)  # asked from request threads; the reader is busy
        self._watermarks_lock = threading.Lock()
        self._read: dict[int, int] = {}  # partition -> next offset to read
        self._read_changed = threading.Condition()
        self._partitions: list[int] = []
        self._catching_up = threading.Lock()
        self._caught_up_from = 0.0  # when the last catch-up that finished began
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"view-{stem}", daemon=True)

    def start(self, timeout_s: float) -> None:
        """Assign the topic's partitions from their start and read on; BrokerUnavailable if
        the cluster does not answer within `timeout_s`."""
        metadata = ask_cluster(
            self.settings,
            self._consumer,
            lambda timeout: self._consumer.list_topics(self.topic, timeout=timeout),
            timeout_s,
        )
        topic = metadata.topics.get(self.topic)
        if topic is None or topic.error is not None or not topic.partitions:
            raise BrokerUnavailable(
                f"Kafka at {self.settings.kafka_bootstrap} has no topic {self.topic}: create the "
                "topics once with `pts topics`"
            )
        self._partitions = sorted(topic.partitions)
        self._consumer.assign(
            [TopicPartition(self.topic, p, OFFSET_BEGINNING) for p in self._partitions]
        )
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                message = self._consumer.poll(0.2)
            except KafkaException as exc:
                log.warning("view_poll_failed", topic=self.topic, reason=str(exc))
                continue
            if message is None:
                self._note_positions()  # past offsets compaction left out, too
                continue
            if message.error():
                continue
            try:
                self._fold(message)
            except Exception as exc:  # one bad record must not stop the view
                log.warning(
                    "view_record_skipped", topic=self.topic, partition=message.partition(),
                    offset=message.offset(), reason=str(exc),
                )  # fmt: skip
            with self._read_changed:
                self._read[message.partition()] = message.offset() + 1
                self._read_changed.notify_all()

    def _note_positions(self) -> None:
        try:
            positions = self._consumer.position(
                [TopicPartition(self.topic, p) for p in self._partitions]
            )
        except KafkaException:
            return
        with self._read_changed:
            for position in positions:
                if position.offset >= 0 and position.offset > self._read.get(position.partition, 0):
                    self._read[position.partition] = position.offset
            self._read_changed.notify_all()

    def catch_up_since(self, asked_at: float, timeout_s: float) -> bool:
        """`catch_up`, unless one began after `asked_at` (time.monotonic()): lookups that miss
        at once share one catch-up, and a flood of unknown names costs the cluster one
        question at a time."""
        with self._catching_up:
            if self._caught_up_from > asked_at:
                return True
            started = time.monotonic()
            done = self.catch_up(timeout_s)
            if done:
                self._caught_up_from = started
            return done

    def catch_up(self, timeout_s: float) -> bool:
        """Wait until the view has read every message the topic held when asked; False if it
        did not within `timeout_s`. BrokerUnavailable if the cluster does not say its end."""
        deadline = time.monotonic() + timeout_s
        ends = {}
        with self._watermarks_lock:
            for partition in self._partitions:
                where = TopicPartition(self.topic, partition)
                low, high = ask_cluster(
                    self.settings,
                    self._watermarks,
                    lambda timeout, where=where: self._watermarks.get_watermark_offsets(
                        where, timeout=timeout
                    ),
                    max(deadline - time.monotonic(), 0.5),
                )
                ends[partition] = (low, high)
        with self._read_changed:
            while not all(
                high <= low or self._read.get(p, 0) >= high for p, (low, high) in ends.items()
            ):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._read_changed.wait(min(left, 0.2))
        return True

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self._consumer.close()
        self._watermarks.close()


class TokenView:
    """The tokens topic, as a `TokenBook`."""

    def __init__(self, settings: Settings) -> None:
        self.book = TokenBook()
        self.view = TopicView(settings, "gateway-tokens", self._fold)

    def _fold(self, message: Message) -> None:
        value = message.value()
        key = (message.key() or b"").decode()
        if value is None:
            self.book.records.pop(key, None)
        else:
            self.book.keep(TokenRecord.from_json(value))


class BuildView:
    """Which builds each project has, with when each was recorded (the builds topic)."""

    def __init__(self, settings: Settings) -> None:
        self.started_at: dict[tuple[str, str], str] = {}
        self.view = TopicView(settings, "builds", self._fold)

    def _fold(self, message: Message) -> None:
        record = _decoded(message, "Build")
        if record is None:
            return
        build = Build.from_record(record)
        self.started_at.setdefault((build.project, build.build_id), build.started_at.isoformat())


class GoPackages:
    """Per project and last path element, the full import paths the project's test ids named
    (`pts.core.go_packages`)."""

    def __init__(self) -> None:
        self.packages: dict[tuple[str, str], tuple[str, ...]] = {}

    def keep(self, record: PackagesOf) -> None:
        self.packages[(record.project, record.element)] = record.packages

    def of(self, project: str, element: str) -> tuple[str, ...]:
        return self.packages.get((project, element), ())


class GoPackageView(GoPackages):
    """The go-packages topic, as `GoPackages`."""

    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self.view = TopicView(settings, "go-packages", self._fold)

    def _fold(self, message: Message) -> None:
        value = message.value()
        if value is None:  # a tombstone: the key is [project, element]
            project, element = json.loads(message.key() or b"[]")
            self.packages.pop((project, element), None)
        else:
            self.keep(PackagesOf.from_json(value))


KEPT_COMMITS = 10_000  # per project: the newest commits the jar sent


class RecentCommits:
    """The newest commits of each project, at most `kept` each.

    >>> from datetime import UTC, datetime
    >>> recent = RecentCommits(kept=2)
    >>> for sha in ("a1", "b2", "c3"):
    ...     recent.keep(Commit("shop", sha, datetime(2026, 12, 6, tzinfo=UTC)))
    >>> recent.newest("shop", 5), recent.commit("shop", "a1")
    (['c3', 'b2'], None)
    """

    def __init__(self, kept: int = KEPT_COMMITS) -> None:
        self.kept = kept
        self.commits: dict[str, OrderedDict[str, Commit]] = {}
        self._lock = threading.Lock()

    def keep(self, commit: Commit) -> None:
        with self._lock:
            known = self.commits.setdefault(commit.project, OrderedDict())
            known[commit.sha] = commit
            known.move_to_end(commit.sha)
            while len(known) > self.kept:
                known.popitem(last=False)

    def commit(self, project: str, sha: str) -> Commit | None:
        with self._lock:
            return self.commits.get(project, {}).get(sha)

    def newest(self, project: str, count: int) -> list[str]:
        """The shas of the project's newest commits, newest first."""
        with self._lock:
            known = list(self.commits.get(project, {}))
        return known[: -count - 1 : -1]


class CommitView(RecentCommits):
    """The commits topic, for a build recorded through the gateway to carry its commit's
    changes as `pts record build` computes them (the commit jar sent them just before)."""

    def __init__(self, settings: Settings, kept: int = KEPT_COMMITS) -> None:
        super().__init__(kept)
        self.view = TopicView(settings, "commits", self._fold)

    def _fold(self, message: Message) -> None:
        record = _decoded(message, "Commit")
        if record is not None:
            self.keep(Commit.from_record(record))


def _decoded(message: Message, schema: str) -> dict | None:
    """The message's record, or None (logged) when it does not decode as `schema`."""
    try:
        return wire.decode(message.value(), expected=schema)[1]
    except DecodeError as exc:
        log.warning("message_undecodable", topic=message.topic(), offset=message.offset(),
                    schema=schema, reason=exc.reason)  # fmt: skip
        return None
