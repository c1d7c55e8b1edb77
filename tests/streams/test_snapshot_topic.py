"""What a worker restores from the snapshot topic: states and markers that verify, and nothing
else. Whatever does not verify is a one-line StateRefused naming the partition and the offset,
and the worker's restore adds how to rebuild. On the session's broker."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient

from pts.core import wire
from pts.core.events import utc_now
from pts.core.settings import Settings
from pts.core.topics import ensure_topics
from pts.selection.selector import ProjectSelector
from pts.streams import checkpoints, snapshots
from pts.streams.checkpoints import StateRefused

pytestmark = pytest.mark.integration

KEY = b"k" * 32


@pytest.fixture
def settings(kafka_bootstrap: str, kafka_admin: AdminClient, tmp_path: Path) -> Settings:
    """Two partitions, so that a marker can be copied from one to the other."""
    suffix = uuid.uuid4().hex[:8]
    chosen = Settings(kafka_bootstrap=kafka_bootstrap, topic_prefix=f"snaps-{suffix}",
                      partitions=2, worker_id=f"snaps-{suffix}", data_dir=tmp_path)  # fmt: skip
    ensure_topics(kafka_admin, chosen)
    return chosen


def write(settings: Settings, partition: int, key: bytes, value: bytes) -> None:
    producer = Producer({"bootstrap.servers": settings.kafka_bootstrap})
    producer.produce(snapshots.snapshot_topic(settings), value, key, partition=partition)
    assert producer.flush(30) == 0


def state(project: str, partition: int, learned: int = 3) -> bytes:
    selector = ProjectSelector(project)
    selector.results_learned = learned
    return snapshots.encode_state(
        project, partition, {"test-results": 5}, checkpoints.pickled(selector), KEY, "w"
    )


def marker(settings: Settings, partition: int, offsets: dict[str, int]) -> bytes:
    topic = snapshots.snapshot_topic(settings)
    return snapshots.encode_marker(topic, partition, offsets, KEY, "w")


def read(settings: Settings, partition: int) -> snapshots.PartitionSnapshot:
    consumer = snapshots.restore_consumer(settings)
    try:
        return snapshots.read_partition(settings, consumer, partition, KEY)
    finally:
        consumer.close()


def refusal(settings: Settings, partition: int) -> str:
    with pytest.raises(StateRefused) as refused:
        read(settings, partition)
    message = str(snapshots.with_rebuild_hint(settings, refused.value))
    assert "\n" not in message
    assert "To rebuild the models from the topics instead, stop every worker of group " in message
    assert f"delete topic {snapshots.snapshot_topic(settings)}, and start again" in message
    return message


def test_states_and_a_signed_marker_are_restored(settings: Settings) -> None:
    write(settings, 1, b"shop", state("shop", 1, learned=7))
    write(settings, 1, snapshots.MARKER_KEY, marker(settings, 1, {"test-results": 5}))
    restored = read(settings, 1)
    assert restored.offsets == {"test-results": 5}
    assert restored.projects["shop"].results_learned == 7


@pytest.mark.parametrize(
    ("value", "said"),
    [
        (b"garbage \xff bytes", "is not a model snapshot (not Avro single-object encoding"),
        (wire.encode("ChangedFile", {"path": "a.py", "added": 1, "deleted": 0}),
         "is not a model snapshot (expected a ModelSnapshot message, got ChangedFile)"),
        (wire.encode("ModelSnapshot", {"project": "shop", "partition": 0, "offsets": {},
                                       "state": b"pickle?", "worker": "w",
                                       "taken_at": utc_now()}),
         "is not a sealed pts state"),
    ],
    ids=["garbage", "another-schema", "not-a-sealed-state"],
)  # fmt: skip
def test_anything_that_does_not_decode_is_refused_naming_partition_and_offset(
    settings: Settings, value: bytes, said: str
) -> None:
    write(settings, 0, b"shop", state("shop", 0))  # offset 0, good
    write(settings, 0, b"planted", value)  # offset 1
    message = refusal(settings, 0)
    assert f"{snapshots.snapshot_topic(settings)}[0] offset 1" in message and said in message


def test_an_unsigned_marker_is_refused(settings: Settings) -> None:
    unsigned = wire.encode("ModelSnapshot", {
        "project": "", "partition": 1, "offsets": {"test-results": 10**6}, "state": b"",
        "worker": "w", "taken_at": utc_now(),
    })  # fmt: skip
    write(settings, 1, snapshots.MARKER_KEY, unsigned)
    message = refusal(settings, 1)
    assert message.startswith(
        f"offsets marker of partition 1 ({snapshots.snapshot_topic(settings)}[1] offset 0) is not "
        "signed"
    )


def test_a_marker_copied_to_another_partition_is_refused(settings: Settings) -> None:
    write(settings, 1, snapshots.MARKER_KEY, marker(settings, 0, {"test-results": 10**6}))
    assert "does not verify under the checkpoint key" in refusal(settings, 1)


def test_a_marker_signed_with_another_key_is_refused(settings: Settings) -> None:
    topic = snapshots.snapshot_topic(settings)
    other = snapshots.encode_marker(topic, 0, {"test-results": 10**6}, b"x" * 32, "w")
    write(settings, 0, snapshots.MARKER_KEY, other)
    assert "does not verify under the checkpoint key" in refusal(settings, 0)


def test_a_state_filed_under_another_project_or_partition_is_refused(settings: Settings) -> None:
    write(settings, 0, b"billing", state("shop", 0))
    assert "is filed under another project's name" in refusal(settings, 0)
    write(settings, 1, b"shop", state("shop", 0))
    assert "belongs to partition 0" in refusal(settings, 1)
