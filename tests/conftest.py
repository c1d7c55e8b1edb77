"""Session fixtures: one real Kafka broker for the whole test session, and factories for
fresh topics, so that every integration test has its own topics and consumer groups.

The broker is started by `ops/broker/kafka.sh` on a free port with a throw-away data
directory. Set PTS_TEST_KAFKA_BOOTSTRAP to use a running cluster instead.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient, NewTopic

REPO = Path(__file__).resolve().parent.parent
FIXTURES_JUNIT = REPO / "tests" / "fixtures" / "junit"
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


@contextmanager
def running_broker(broker_dir: Path, **broker_env: str) -> Iterator[str]:
    """Start `ops/broker/kafka.sh` on a free port (with e.g. PTS_BROKER_SASL_USERS) and yield
    its bootstrap address; stop it afterwards."""
    port = _free_port_pair()
    env = {
        **os.environ,
        "PTS_BROKER_PORT": str(port),
        "PTS_BROKER_DIR": str(broker_dir),
        "PTS_BROKER_WATCH_PID": str(os.getpid()),  # no broker outlives a killed session
        **broker_env,
    }
    subprocess.run([str(BROKER_SCRIPT), "start"], env=env, check=True)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        subprocess.run([str(BROKER_SCRIPT), "stop"], env=env, check=False)


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Bootstrap address of a real Kafka broker running for this test session."""
    existing = os.environ.get("PTS_TEST_KAFKA_BOOTSTRAP")
    if existing:
        yield existing
        return
    with running_broker(tmp_path_factory.mktemp("broker")) as bootstrap:
        yield bootstrap


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


@pytest.fixture(scope="module")
def pts_env(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Environment for `pts` subprocesses: the session broker, fresh topics, a fresh data dir."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        http_port = s.getsockname()[1]
    suffix = uuid.uuid4().hex[:8]
    return {
        **os.environ,
        "PTS_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "PTS_TOPIC_PREFIX": f"test-{suffix}",
        "PTS_PARTITIONS": "3",
        "PTS_WORKER_ID": f"pts-worker-{suffix}",
        "PTS_WORKER_HTTP_PORT": str(http_port),
        "PTS_DATA_DIR": str(tmp_path_factory.mktemp("pts-data")),
        "PTS_SUBSET_TIMEOUT_S": "20",
        "PTS_LOG_LEVEL": "warning",
    }


def run_pytest(
    project: Path, env: dict[str, str], *args: str, timeout: float = 240
) -> subprocess.CompletedProcess[str]:
    """Run the real pytest (with the pts plugin installed) on `project` in a subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "pytest", *args],
        cwd=project, env=env, capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip


def run_pts(
    env: dict[str, str],
    *args: str,
    stdin: str | None = None,
    timeout: float = 120,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run the real `pts` command line in a subprocess (in `cwd`, if given)."""
    return subprocess.run(
        [sys.executable, "-m", "pts.cli", *args],
        env=env,
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@dataclass
class RunningWorker:
    env: dict[str, str]
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.env['PTS_WORKER_HTTP_PORT']}"

    def get(self, path: str) -> dict:
        with urllib.request.urlopen(self.url + path, timeout=30) as answer:
            return json.load(answer)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(condition: Callable[[], bool], timeout_s: float = 60, every_s: float = 0.5) -> bool:
    """Whether `condition` came true within `timeout_s`, asked every `every_s`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(every_s)
    return False


def start_worker(
    env: dict[str, str], log: Path, timeout_s: float = 90, args: tuple[str, ...] = ()
) -> RunningWorker:
    """Start `pts worker` (with `args`) as a real process and wait until its HTTP endpoint
    answers."""
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "pts.cli", "worker", *args],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    worker = RunningWorker(env, process, log)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"pts worker exited with {process.returncode}:\n{log.read_text()}")
        try:
            worker.get("/health")
            return worker
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.5)
    worker.stop()
    raise RuntimeError(f"pts worker did not answer within {timeout_s} s:\n{log.read_text()}")


@contextmanager
def running_worker(env: dict[str, str], log_name: str = "worker.log") -> Iterator[RunningWorker]:
    """A real `pts worker` process with `env`, its log in PTS_DATA_DIR; stopped afterwards."""
    worker = start_worker(env, Path(env["PTS_DATA_DIR"]) / log_name)
    try:
        yield worker
    finally:
        worker.stop()


@pytest.fixture(scope="module")
def pts_worker(pts_env: dict[str, str]) -> Iterator[RunningWorker]:
    """A real `pts worker` process on the session broker, for the tests of one module."""
    with running_worker(pts_env) as worker:
        yield worker
