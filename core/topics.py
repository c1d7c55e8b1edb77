"""Every topic, declared once as code, and created idempotently.

All topics that feed a model (commits, builds, test results, subset requests) are keyed by
project and have the same partition count, so one worker sees a project's events in log order.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from confluent_kafka.admin import AdminClient, NewTopic

from pts.core.errors import BrokerUnavailable, ConfigError
from pts.core.kafka import unreachable
from pts.core.logs import get_logger
from pts.core.settings import Settings

DAY_MS = 24 * 3600 * 1000
log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class TopicSpec:
    stem: str
    schema: str  # the Avro record its values carry
    feeds_model: bool  # keyed by project, co-partitioned with the other model topics
    config: dict[str, str]
    partitions: int | None = None  # None: the settings' partition count


MAX_MESSAGE_BYTES = 8 * 1024 * 1024  # a 5,000-result batch, or a 10,000-test answer, fits

TOPICS = (
    TopicSpec("commits", "Commit", True, {"retention.ms": str(365 * DAY_MS)}),
    TopicSpec("builds", "Build", True, {"retention.ms": str(365 * DAY_MS)}),
    TopicSpec(
        "test-results",
        "TestResultBatch",
        True,
        {"retention.ms": str(365 * DAY_MS), "max.message.bytes": str(MAX_MESSAGE_BYTES)},
    ),
    TopicSpec("subset-requests", "SubsetRequest", True, {"retention.ms": str(DAY_MS)}),
    TopicSpec(
        "subset-responses",
        "SubsetResponse",
        False,
        {"retention.ms": str(7 * DAY_MS), "max.message.bytes": str(MAX_MESSAGE_BYTES)},
        3,
    ),
    TopicSpec(
        "predictions",
        "PredictionBatch",
        False,
        {"retention.ms": str(30 * DAY_MS), "max.message.bytes": str(MAX_MESSAGE_BYTES)},
    ),
    TopicSpec("dead-letters", "DeadLetter", False, {"retention.ms": str(30 * DAY_MS)}, 1),
)


def topic_name(settings: Settings, stem: str) -> str:
    """The full name of a topic: prefix and stem, e.g. ``pts.test-results``."""
    if stem not in {t.stem for t in TOPICS}:
        raise ValueError(f"unknown topic {stem!r}")
    return f"{settings.topic_prefix}.{stem}"


def partitions_of(settings: Settings, spec: TopicSpec) -> int:
    return spec.partitions or settings.partitions


def ensure_topics(admin: AdminClient, settings: Settings, timeout_s: float = 15.0) -> list[str]:
    """Create the topics that are missing; check that model topics are co-partitioned.

    Returns the names of the topics created (empty when all existed).
    """
    try:
        existing = admin.list_topics(timeout=timeout_s).topics
    except Exception as exc:
        admin.poll(0)  # serves error_cb, which tells refused credentials from a silent broker
        raise unreachable(settings, f"did not answer: {exc}") from exc
    missing = []
    for spec in TOPICS:
        name = topic_name(settings, spec.stem)
        wanted = partitions_of(settings, spec)
        if name not in existing:
            missing.append(
                NewTopic(name, num_partitions=wanted, replication_factor=-1, config=spec.config)
            )
        elif spec.feeds_model and len(existing[name].partitions) != wanted:
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
    _wait_for_leaders(admin, [topic_name(settings, spec.stem) for spec in TOPICS], timeout_s)
    return created


def _wait_for_leaders(admin: AdminClient, names: list[str], timeout_s: float) -> None:
    """New partitions have no leader for a moment; clients that come next need one."""
    deadline = time.monotonic() + timeout_s
    while True:
        topics = admin.list_topics(timeout=timeout_s).topics
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
