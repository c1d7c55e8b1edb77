"""The topic registry: every topic declared once, with its schema, key, readers, retention and
partitions, and created idempotently.

The topics keyed by project have the same partition count (co-partitioned), so one worker sees
a project's events in log order.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from confluent_kafka.admin import AdminClient, NewTopic

from pts.core.errors import BrokerUnavailable, ConfigError
from pts.core.kafka import MAX_MESSAGE_BYTES, ask_cluster
from pts.core.logs import get_logger
from pts.core.settings import Settings

DAY_MS = 24 * 3600 * 1000
log = get_logger(__name__)


class Reader(StrEnum):
    """Who reads a topic."""

    MODEL = "model"  # the stream worker's agents (pts.streams)
    HISTORY = "history"  # the history loader (pts.consumers), into ClickHouse
    CLIENT = "client"  # `pts subset`, waiting for its answer
    OPERATOR = "operator"  # `pts dead-letters`
    STATE = "state"  # the worker that takes a partition over, restoring its projects' models
    GATEWAY = "gateway"  # `pts gateway`, which checks the tokens CI presents


@dataclass(frozen=True, slots=True)
class TopicSpec:
    stem: str  # the name after the prefix: pts.<stem>
    schema: str  # the Avro record its values carry (schemas/*.avsc)
    key: str  # what its message keys hold
    readers: frozenset[Reader]
    retention_days: int
    max_message_bytes: int | None = None  # None: the broker's default (1 MB)
    partitions: int | None = None  # None: PTS_PARTITIONS, co-partitioned by project
    replayed: bool = False  # the model re-reads it from its snapshot's offsets
    compacted: bool = False  # only the latest message per key is kept
    per_group: bool = False  # one topic per worker group: its name ends with PTS_WORKER_ID

    @property
    def co_partitioned(self) -> bool:
        """Keyed by project with the settings' partition count, so that one worker sees all of
        a project's events in log order."""
        return self.partitions is None

    @property
    def config(self) -> dict[str, str]:
        config = {"retention.ms": str(self.retention_days * DAY_MS)}
        if self.compacted:
            config["cleanup.policy"] = "compact"
        if self.max_message_bytes is not None:
            config["max.message.bytes"] = str(self.max_message_bytes)
        return config


MODEL, HISTORY, CLIENT, OPERATOR, STATE, GATEWAY = Reader
TOPICS = (
    TopicSpec("commits", "Commit", "project", frozenset({HISTORY, GATEWAY}), 365),
    TopicSpec(
        "builds", "Build", "project", frozenset({MODEL, HISTORY, GATEWAY}), 365, replayed=True
    ),
    TopicSpec(
        "test-results", "TestResultBatch", "project", frozenset({MODEL, HISTORY}), 365,
        max_message_bytes=MAX_MESSAGE_BYTES, replayed=True,
    ),
    TopicSpec("subset-requests", "SubsetRequest", "project", frozenset({MODEL}), 1),
    TopicSpec(
        "subset-responses", "SubsetResponse", "request id",
        frozenset({CLIENT, HISTORY, GATEWAY}), 7,
        max_message_bytes=MAX_MESSAGE_BYTES, partitions=3,
    ),
    TopicSpec(
        "predictions", "PredictionBatch", "project", frozenset({HISTORY}), 30,
        max_message_bytes=MAX_MESSAGE_BYTES,
    ),
    TopicSpec(
        "champion-decisions", "ChampionDecision", "project", frozenset({HISTORY}), 365,
    ),
    TopicSpec(
        "model-snapshots", "ModelSnapshot", "project", frozenset({STATE}), 365,
        max_message_bytes=MAX_MESSAGE_BYTES, compacted=True, per_group=True,
    ),
    TopicSpec(
        "dead-letters", "DeadLetter", "the original's key", frozenset({OPERATOR}), 30,
        partitions=1,
    ),
)  # fmt: skip
"""Every topic, once. Everything else asks this registry for names, readers and sizes."""
CONTROL_TOPICS = (
    TopicSpec(
        "gateway-tokens", "GatewayToken (JSON)", "token id", frozenset({GATEWAY}), 3650,
        partitions=1, compacted=True,
    ),
    TopicSpec(
        "go-packages", "PackagesOf (JSON)", "project and last element", frozenset({GATEWAY}),
        3650, partitions=1, compacted=True,
    ),
    TopicSpec(
        "rebuilds", "RebuildRecord (JSON)", "project", frozenset({MODEL, OPERATOR}), 7,
    ),
)  # fmt: skip
"""Topics of pts's own control records, JSON rather than an event contract: no model or
history reads them. `gateway-tokens` holds the gateway's tokens, each a hash and never the
secret (`pts.gateway.tokens`); revoking one writes it again, revoked. `go-packages` holds,
per project and last path element, the Go import paths its test ids named (written by the
worker, `pts.core.go_packages`), so that the gateway gives a Go test the Launchable CLI names
by its package's last element the id pts records. `rebuilds` holds operators' requests to
rebuild a project's model (`pts rebuild`) and the owning worker's answers, in the project's
partition (`pts.core.rebuild_requests`)."""
_BY_STEM = {spec.stem: spec for spec in (*TOPICS, *CONTROL_TOPICS)}


def spec(stem: str) -> TopicSpec:
    """The declaration of a topic.

    >>> spec("test-results").readers == {Reader.MODEL, Reader.HISTORY}
    True
    """
    try:
        return _BY_STEM[stem]
    except KeyError:
        raise ValueError(f"unknown topic {stem!r}; known: {sorted(_BY_STEM)}") from None


def read_by(reader: Reader) -> tuple[TopicSpec, ...]:
    """The topics `reader` reads.

    >>> [t.stem for t in read_by(Reader.MODEL)]
    ['builds', 'test-results', 'subset-requests']
    """
    return tuple(spec for spec in TOPICS if reader in spec.readers)


def topic_name(settings: Settings, stem: str) -> str:
    """The full name of a topic: prefix and stem, e.g. ``pts.test-results``; a group's own
    topic ends with the group, e.g. ``pts.model-snapshots.pts-worker``, as Kafka Streams names
    an application's changelogs."""
    declared = spec(stem)
    if declared.per_group:
        return f"{settings.topic_prefix}.{declared.stem}.{settings.worker_id}"
    return f"{settings.topic_prefix}.{declared.stem}"


def partitions_of(settings: Settings, topic: TopicSpec) -> int:
    return topic.partitions or settings.partitions


def ensure_topics(admin: AdminClient, settings: Settings, timeout_s: float = 15.0) -> list[str]:
    """Create the topics that are missing; check that model topics are co-partitioned.

    Returns the names of the topics created (empty when all existed).
    """
    existing = _list_topics(admin, settings, timeout_s)
    missing = []
    for topic in (*TOPICS, *CONTROL_TOPICS):
        name = topic_name(settings, topic.stem)
        wanted = partitions_of(settings, topic)
        if name not in existing:
            missing.append(
                NewTopic(name, num_partitions=wanted, replication_factor=-1, config=topic.config)
            )
        elif topic.co_partitioned and len(existing[name].partitions) != wanted:
            raise ConfigError(
                f"topic {name} has {len(existing[name].partitions)} partitions but the model "
                f"topics need {wanted} each to be co-partitioned (PTS_PARTITIONS)"
            )
    created = []
    for name, future in (
        admin.create_topics(missing, request_timeout=timeout_s).items() if missing else []
    ):
        try:
            future.result(timeout=timeout_s)
            created.append(name)
        except Exception as exc:  # another process may have created it meanwhile
            if "TOPIC_ALREADY_EXISTS" not in str(exc):
                raise
    for name in created:
        log.info("topic_created", topic=name)
    names = [topic_name(settings, topic.stem) for topic in (*TOPICS, *CONTROL_TOPICS)]
    _wait_for_leaders(admin, settings, names, timeout_s)
    return created


def _list_topics(admin: AdminClient, settings: Settings, timeout_s: float) -> dict[str, Any]:
    """The cluster's topics; a cluster that does not answer (or refuses the credentials) is
    one clear BrokerUnavailable."""
    return ask_cluster(
        settings, admin, lambda timeout: admin.list_topics(timeout=timeout).topics, timeout_s
    )


def _wait_for_leaders(
    admin: AdminClient, settings: Settings, names: list[str], timeout_s: float
) -> None:
    """New partitions have no leader for a moment; clients that come next need one."""
    deadline = time.monotonic() + timeout_s
    while True:
        topics = _list_topics(admin, settings, timeout_s)
        leaderless = [
            f"{name}[{p.id}]"
            for name in names
            if name in topics
            for p in topics[name].partitions.values()
            if p.leader < 0 or p.error
        ]
        missing = [name for name in names if name not in topics]
        if not leaderless and not missing:
            return
        if time.monotonic() > deadline:
            raise BrokerUnavailable(
                f"topics not ready after {timeout_s:g} s: {', '.join(missing + leaderless)}"
            )
        time.sleep(0.2)
