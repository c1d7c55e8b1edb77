"""The lag the worker's /lag endpoint reports, against the real session broker."""

from __future__ import annotations

import uuid

import pytest

from pts.core.kafka import CheckedProducer, admin_client
from pts.core.settings import Settings
from pts.core.topics import ensure_topics, topic_name
from pts.worker.lag import measure_lag

pytestmark = pytest.mark.integration


def test_lag_counts_what_each_reader_has_not_processed(kafka_bootstrap: str) -> None:
    settings = Settings(
        kafka_bootstrap=kafka_bootstrap,
        topic_prefix=f"test-lag-{uuid.uuid4().hex[:8]}",
        worker_id=f"lag-{uuid.uuid4().hex[:8]}",
        partitions=3,
    )
    ensure_topics(admin_client(settings), settings)
    producer = CheckedProducer(settings)
    for _ in range(3):
        producer.produce(topic_name(settings, "builds"), "shop", b"build")
    for _ in range(2):
        producer.produce(topic_name(settings, "test-results"), "shop", b"results")
    producer.flush()

    nothing_read = measure_lag(settings, processed={})
    assert nothing_read["model"] == {"builds": 3, "test-results": 2, "subset-requests": 0}
    assert nothing_read["history"] == {
        "commits": 0,
        "builds": 3,
        "test-results": 2,
        "subset-responses": 0,
        "predictions": 0,
        "champion-decisions": 0,
    }

    # The model processed offsets 0 and 1 of each partition: the first two builds.
    builds = topic_name(settings, "builds")
    two_read = measure_lag(settings, {(builds, p): 1 for p in range(3)})
    assert two_read["model"] == {"builds": 1, "test-results": 2, "subset-requests": 0}
    all_read = measure_lag(settings, {(builds, p): 2 for p in range(3)})
    assert all_read["model"]["builds"] == 0
