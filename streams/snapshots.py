"""Model state in Kafka: each project's selector on the compacted topic `model-snapshots`, in
the project's own partition, so that whichever worker is assigned a partition restores that
partition's projects and replays only what followed. Any number of workers share one group.

A snapshot round (`WorkerState.snapshot`, every SNAPSHOT_EVERY_S, when partitions are revoked,
and when the worker stops) is incremental and off the path that learns and answers:

1. in one step on the event loop, note each owned partition's last offsets processed and the
   projects changed since the last round;
2. pickle each changed project on the model thread, one project per turn (learning and answering
   go on between turns), and compress, sign and produce it elsewhere;
3. produce each partition's marker with the offsets of step 1, signed with the checkpoint key
   for this topic and partition (`checkpoints.sign_offsets`), and wait until all is delivered;
4. commit the offsets just after the markers' to the consumer group. faust never commits the
   replayed topics itself, so the group's position of a partition is always where its last
   complete round stood.

A worker that is assigned a partition reads it here (`read_partition`): the latest state of
each project and the latest marker. Messages at or before the marker's offsets are in the states
and are skipped; a batch between the marker and a newer state (a round cut short by a crash) is
recognised by its identity and not learned twice.

Whatever on the topic does not verify stops the restore with one line naming the partition and
offset (`with_rebuild_hint` adds how to rebuild): a message that is not a ModelSnapshot, a state
that is not sealed with the key or holds anything but a selector, a marker that is unsigned or
signed for another partition. Skipping it instead would let a planted marker make a worker skip
everything before its offsets, or lose a project's model without a word.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition

from pts.core import wire
from pts.core.errors import BrokerUnavailable, DecodeError, PtsError
from pts.core.events import utc_now
from pts.core.kafka import client_config, retry_broker_call
from pts.core.logs import get_logger
from pts.core.settings import Settings
from pts.core.topics import Reader, read_by, topic_name
from pts.selection.selector import ProjectSelector
from pts.streams.checkpoints import StateRefused, seal_pickled, sign_offsets, unseal, verify_offsets

log = get_logger(__name__)

SNAPSHOT_EVERY_S = 10.0
MARKER_KEY = b"\x00offsets"  # no project can be named so: a NUL cannot come from argv
READ_TIMEOUT_S = 120.0
# The topics whose offsets a marker holds: what the model replays.
REPLAYED = tuple(spec.stem for spec in read_by(Reader.MODEL) if spec.replayed)


@dataclass
class PartitionSnapshot:
    """What the snapshot topic holds for one partition."""

    partition: int
    projects: dict[str, ProjectSelector] = field(default_factory=dict)
    offsets: dict[str, int] = field(default_factory=dict)  # stem -> last offset in the states
    end: int = 0  # the snapshot partition's end offset when read

    @property
    def marked(self) -> bool:
        return bool(self.offsets)


def snapshot_topic(settings: Settings) -> str:
    return topic_name(settings, "model-snapshots")


def encode_state(
    project: str, partition: int, offsets: dict[str, int], pickled: bytes, key: bytes, worker: str
) -> bytes:
    """A project's snapshot message: its pickled selector, sealed."""
    return _encode(project, partition, offsets, seal_pickled(pickled, key), worker)


def encode_marker(
    topic: str, partition: int, offsets: dict[str, int], key: bytes, worker: str
) -> bytes:
    """A partition's offsets marker for the snapshot `topic`, signed with `key`."""
    signed = sign_offsets(key, topic, partition, offsets)
    return _encode("", partition, offsets, signed, worker)


def _encode(
    project: str, partition: int, offsets: dict[str, int], state: bytes, worker: str
) -> bytes:
    record = {
        "project": project,
        "partition": partition,
        "offsets": offsets,
        "state": state,
        "worker": worker,
        "taken_at": utc_now(),
    }
    return wire.encode("ModelSnapshot", record)


@retry_broker_call
def _end_offsets(consumer: Consumer, partition: TopicPartition) -> tuple[int, int]:
    return consumer.get_watermark_offsets(partition, timeout=10, cached=False)


def end_offset(settings: Settings, consumer: Consumer, partition: int) -> int:
    """Where the snapshot partition ends now: unchanged means nobody snapshotted it since."""
    return _end_offsets(consumer, TopicPartition(snapshot_topic(settings), partition))[1]


def restore_consumer(settings: Settings) -> Consumer:
    """A consumer outside any group, for reading snapshot partitions by assignment."""
    return Consumer(
        client_config(
            settings,
            **{
                "group.id": f"{settings.worker_id}-restore",
                "enable.auto.commit": False,
                "enable.partition.eof": True,
                "fetch.message.max.bytes": 16 * 1024 * 1024,
            },
        )
    )


def read_partition(
    settings: Settings, consumer: Consumer, partition: int, key: bytes
) -> PartitionSnapshot:
    """The latest state of every project of `partition`, and its latest marker. Raises
    StateRefused when a message, a state or the marker does not verify; BrokerUnavailable when
    the partition cannot be read to its end within READ_TIMEOUT_S."""
    topic = snapshot_topic(settings)
    low, high = _end_offsets(consumer, TopicPartition(topic, partition))
    snapshot = PartitionSnapshot(partition, end=high)
    if high <= low:
        return snapshot
    latest = _latest_per_key(consumer, TopicPartition(topic, partition, OFFSET_BEGINNING), high)
    for message_key, (offset, value) in latest.items():
        if value is None:
            continue  # a tombstone
        where = f"{topic}[{partition}] offset {offset}"
        try:
            _, record = wire.decode(value, expected="ModelSnapshot")
        except DecodeError as exc:
            raise StateRefused(
                f"the message at {where} is not a model snapshot ({exc.reason}); it was not loaded"
            ) from None
        if message_key == MARKER_KEY:
            what = f"offsets marker of partition {partition} ({where})"
            verify_offsets(record["state"], key, topic, partition, record["offsets"], what)
            snapshot.offsets = dict(record["offsets"])
            continue
        project = record["project"]
        what = f"snapshot of project {project!r} ({where})"
        selector = unseal(record["state"], key, what, ProjectSelector)
        if message_key != project.encode() or selector.project != project:
            raise StateRefused(f"{what} is filed under another project's name; it was not loaded")
        if record["partition"] != partition:
            raise StateRefused(
                f"{what} belongs to partition {record['partition']}; it was not loaded"
            )
        snapshot.projects[project] = selector
    return snapshot


class RestoreStopped(SystemExit):
    """Stops a worker whose restore failed after it started, with the error's exit code: faust
    re-raises what crashed the app when its loop ends, and turns any Exception into exit code
    1, but lets a SystemExit through."""

    def __init__(self, error: PtsError) -> None:
        super().__init__(error.exit_code)
        self.error = error

    def __str__(self) -> str:
        return str(self.error)

    def __repr__(self) -> str:  # how faust logs what crashed the app
        return f"{type(self).__name__}({str(self.error)!r})"


def with_rebuild_hint(settings: Settings, refused: StateRefused) -> StateRefused:
    """The one-line error a refused snapshot stops the worker with: what, where, how to
    rebuild."""
    reason = " ".join(str(refused).split())  # one line, whatever a decoder said
    return StateRefused(
        f"{reason}. To rebuild the models from the topics instead, stop every worker of group "
        f"{settings.worker_id}, delete topic {snapshot_topic(settings)}, and start again"
    )


def _latest_per_key(
    consumer: Consumer, start: TopicPartition, end: int
) -> dict[bytes, tuple[int, bytes | None]]:
    consumer.assign([start])
    latest: dict[bytes, tuple[int, bytes | None]] = {}
    deadline = time.monotonic() + READ_TIMEOUT_S
    try:
        while time.monotonic() < deadline:
            message = consumer.poll(1.0)
            if message is None:
                continue
            if message.error() is not None:
                if message.error().code() == KafkaError._PARTITION_EOF:
                    if message.offset() >= end:
                        return latest
                    continue
                raise BrokerUnavailable(f"reading {start.topic}: {message.error().str()}")
            latest[message.key() or b""] = (message.offset(), message.value())
            if message.offset() >= end - 1:
                return latest
    finally:
        consumer.unassign()
    raise BrokerUnavailable(
        f"{start.topic}[{start.partition}] was not read to offset {end} in {READ_TIMEOUT_S:g} s"
    )


def describe(snapshot: PartitionSnapshot) -> dict[str, Any]:
    """For logs: what a restore found."""
    return {
        "partition": snapshot.partition,
        "projects": len(snapshot.projects),
        "offsets": snapshot.offsets,
        "results_learned": sum(p.results_learned for p in snapshot.projects.values()),
    }
