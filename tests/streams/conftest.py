"""Fixtures of the stream tests."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient

from pts.core.settings import Settings
from pts.core.topics import ensure_topics


@pytest.fixture
def settings(kafka_bootstrap: str, kafka_admin: AdminClient, tmp_path: Path) -> Settings:
    """A worker's settings on the session's broker: its own topics (one partition each, made
    here), group and data directory."""
    suffix = uuid.uuid4().hex[:8]
    chosen = Settings(kafka_bootstrap=kafka_bootstrap, topic_prefix=f"streams-{suffix}",
                      partitions=1, worker_id=f"streams-{suffix}", data_dir=tmp_path)  # fmt: skip
    ensure_topics(kafka_admin, chosen)
    return chosen
