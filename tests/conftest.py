"""Session fixtures: one real Kafka broker for the whole test session, and factories for
fresh topics, so that every integration test has its own topics and consumer groups.

The broker is started by `ops/broker/kafka.sh` on a free port with a throw-away data
directory. Set PTS_TEST_KAFKA_BOOTSTRAP to use a running cluster instead.
"""

from __future__ import annotations

import os
import socket
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient, NewTopic

REPO = Path(__file__).resolve().parent.parent
BROKER_SCRIPT = REPO / "ops" / "broker" / "kafka.sh"


def _free_port_pair() -> int:
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port + 1))
                return port
            except OSError:
                continue


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Bootstrap address of a real Kafka broker running for this test session."""
    existing = os.environ.get("PTS_TEST_KAFKA_BOOTSTRAP")
    if existing:
        yield existing
        return
    port = _free_port_pair()
    env = {**os.environ, "PTS_BROKER_PORT": str(port),
           "PTS_BROKER_DIR": str(tmp_path_factory.mktemp("broker"))}
    subprocess.run([str(BROKER_SCRIPT), "start"], env=env, check=True)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        subprocess.run([str(BROKER_SCRIPT), "stop"], env=env, check=False)


@pytest.fixture(scope="session")
def kafka_admin(kafka_bootstrap: str) -> AdminClient:
    return AdminClient({"bootstrap.servers": kafka_bootstrap})


@pytest.fixture
def make_topic(kafka_admin: AdminClient) -> Callable[..., str]:
    """Create a fresh topic with a unique name: make_topic("results", partitions=3)."""

    def make(stem: str = "topic", partitions: int = 1, config: dict[str, str] | None = None) -> str:
        name = f"test.{stem}.{uuid.uuid4().hex[:8]}"
        futures = kafka_admin.create_topics(
            [NewTopic(name, num_partitions=partitions, replication_factor=1, config=config or {})]
        )
        futures[name].result(timeout=30)
        return name

    return make


@pytest.fixture
def unique_group() -> str:
    """A consumer group id no other test uses."""
    return f"test-group-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def unreachable_bootstrap() -> str:
    """An address where no broker listens."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"127.0.0.1:{port}"
