"""The topic registry: each topic once, and the readers the rest of pts relies on."""

from __future__ import annotations

import pytest

from pts.consumers.history_loader import EVENT_TYPES
from pts.core import wire
from pts.core.settings import Settings
from pts.core.topics import TOPICS, Reader, partitions_of, read_by, spec, topic_name


def test_every_topic_carries_a_known_schema() -> None:
    for topic in TOPICS:
        assert topic.schema in wire._schemas().by_name, topic.stem


def test_the_history_loader_stores_exactly_what_the_registry_says_it_reads() -> None:
    assert {t.schema for t in read_by(Reader.HISTORY)} == set(EVENT_TYPES)


def test_the_model_replays_builds_and_results_but_not_requests() -> None:
    assert [t.stem for t in read_by(Reader.MODEL) if t.replayed] == ["builds", "test-results"]
    assert not spec("subset-requests").replayed


def test_project_keyed_topics_share_the_partition_count() -> None:
    settings = Settings(partitions=4)
    keyed = [t for t in TOPICS if t.co_partitioned]
    assert {t.key for t in keyed} == {"project"}
    assert {partitions_of(settings, t) for t in keyed} == {4}
    assert {t.stem for t in keyed} >= {t.stem for t in read_by(Reader.MODEL)}


def test_names_carry_the_prefix_and_unknown_stems_are_refused() -> None:
    assert topic_name(Settings(topic_prefix="ci"), "builds") == "ci.builds"
    with pytest.raises(ValueError, match="unknown topic 'build'"):
        topic_name(Settings(), "build")


def test_large_topics_allow_large_messages() -> None:
    assert spec("test-results").config["max.message.bytes"] == str(8 * 1024 * 1024)
    assert "max.message.bytes" not in spec("builds").config
