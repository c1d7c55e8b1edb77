"""`pts loader` as its own process beside `pts worker --no-history`, on the session's broker:
the loader's store holds exactly what was recorded, `pts query` reaches it through the loader,
and a loader killed with SIGKILL and started again loses nothing and duplicates nothing."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from pts.client.publisher import EventPublisher
from pts.core.events import Build, Outcome, TestResult, TestResultBatch
from pts.core.settings import Settings
from tests.conftest import free_port, run_pts

pytestmark = pytest.mark.integration

TESTS_PER_BATCH = 40
T0 = datetime(2024, 5, 6, 7, 8, 9, 123000, tzinfo=UTC)


@dataclass
class Process:
    """A `pts` subprocess, its log, and its HTTP endpoint."""

    process: subprocess.Popen[bytes]
    log: Path
    url: str

    def get(self, path: str) -> dict[str, Any]:
        with urllib.request.urlopen(self.url + path, timeout=30) as answer:
            body: dict[str, Any] = json.load(answer)
            return body

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()


def start(env: dict[str, str], log: Path, url: str, *args: str) -> Process:
    """Start `pts ARGS` and wait until its /health answers."""
    with log.open("ab") as out:
        popen = subprocess.Popen(
            [sys.executable, "-m", "pts.cli", *args], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    started = Process(popen, log, url)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if popen.poll() is not None:
            raise RuntimeError(f"pts {' '.join(args)} exited with {popen.returncode}:\n"
                               f"{log.read_text()}")  # fmt: skip
        try:
            started.get("/health")
            return started
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.3)
    started.stop(signal.SIGKILL)
    raise RuntimeError(f"pts {' '.join(args)} did not answer:\n{log.read_text()}")


def wait_for(condition: Callable[[], bool], what: str, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.3)


@pytest.fixture
def env(pts_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """A fresh group, topics and data directory; the loader on a port of its own."""
    suffix = uuid.uuid4().hex[:8]
    return {
        **pts_env,
        "PTS_TOPIC_PREFIX": f"test-{suffix}",
        "PTS_WORKER_ID": f"pts-worker-{suffix}",
        "PTS_WORKER_HTTP_PORT": str(free_port()),
        "PTS_LOADER_HTTP_PORT": str(free_port()),
        "PTS_DATA_DIR": str(tmp_path / "data"),
        "PTS_LOG_LEVEL": "info",
    }


@pytest.fixture
def processes(env: dict[str, str], tmp_path: Path) -> Iterator[dict[str, Callable[[], Process]]]:
    started: list[Process] = []
    worker_url = f"http://127.0.0.1:{env['PTS_WORKER_HTTP_PORT']}"
    loader_url = f"http://127.0.0.1:{env['PTS_LOADER_HTTP_PORT']}"

    def worker() -> Process:
        started.append(start(env, tmp_path / "worker.log", worker_url, "worker", "--no-history"))
        return started[-1]

    def loader() -> Process:
        started.append(start(env, tmp_path / "loader.log", loader_url, "loader"))
        return started[-1]

    yield {"worker": worker, "loader": loader}
    for process in started:
        process.stop()


def batches(build_id: str, count: int) -> list[TestResultBatch]:
    return [
        TestResultBatch(
            project="shop",
            build_id=build_id,
            report=f"report-{n}.xml",
            results=tuple(
                TestResult(
                    f"suite{n}::test_{i}",
                    f"suite{n}",
                    f"test_{i}",
                    Outcome.FAILED if i == n else Outcome.PASSED,
                    0.01 * i,
                )
                for i in range(TESTS_PER_BATCH)
            ),  # fmt: skip
            recorded_at=T0,
        )
        for n in range(count)
    ]


def record(settings: Settings, build_id: str, count: int) -> None:
    publisher = EventPublisher(settings)
    publisher.publish(build=Build("shop", build_id, f"sha-{build_id}", T0))
    for batch in batches(build_id, count):
        publisher.publish(batches=[batch])
    publisher.flush()


def query(env: dict[str, str], sql: str) -> list[dict[str, Any]]:
    done = run_pts(env, "query", sql)
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def stored(env: dict[str, str]) -> int:
    return query(env, "SELECT count() AS n FROM pts.test_results")[0]["n"]


def test_the_loader_stores_exactly_what_was_recorded_and_survives_sigkill(
    env: dict[str, str], processes: dict[str, Callable[[], Process]]
) -> None:
    settings = Settings(
        kafka_bootstrap=env["PTS_KAFKA_BOOTSTRAP"],
        topic_prefix=env["PTS_TOPIC_PREFIX"],
        partitions=int(env["PTS_PARTITIONS"]),
    )
    worker = processes["worker"]()
    loader = processes["loader"]()
    assert "history" not in worker.get("/health")  # the worker loads none itself
    record(settings, "b1", 10)

    wait_for(lambda: loader.get("/health")["loaded"].get("TestResultBatch") == 10,
             "the loader loaded the 10 batches")  # fmt: skip
    health = loader.get("/health")
    assert health["status"] == "ok" and health["history"]["state"] == "running"
    assert health["store"] == {"backend": "chdb", "path": str(Path(env["PTS_DATA_DIR"]) / "chdb")}
    assert health["loaded"]["Build"] == 1 and health["dead_lettered"] == 0
    wait_for(lambda: worker.get("/health")["projects"].get("shop", {}).get("results_learned")
             == 10 * TESTS_PER_BATCH, "the worker learned every result")  # fmt: skip
    # `pts query` asks the worker, which serves no /query with --no-history, then the loader.
    assert stored(env) == 10 * TESTS_PER_BATCH
    assert query(env, "SELECT test_id, outcome FROM pts.test_results "
                      "WHERE outcome = 'failed' ORDER BY test_id") == [
        {"test_id": f"suite{n}::test_{n}", "outcome": "failed"} for n in range(10)
    ]  # fmt: skip

    record(settings, "b2", 30)
    wait_for(lambda: stored(env) > 10 * TESTS_PER_BATCH, "the loader loaded some of b2")
    assert loader.stop(signal.SIGKILL) == -signal.SIGKILL
    loader = processes["loader"]()  # the same group and chdb directory

    expected = 40 * TESTS_PER_BATCH
    wait_for(lambda: stored(env) == expected, "the restarted loader caught up")
    assert query(env, "SELECT build_id, count() AS n FROM pts.test_results "
                      "GROUP BY build_id ORDER BY build_id") == [
        {"build_id": "b1", "n": 10 * TESTS_PER_BATCH},
        {"build_id": "b2", "n": 30 * TESTS_PER_BATCH},
    ]  # fmt: skip
    duplicated = (
        "SELECT build_id, report, test_id FROM pts.test_results GROUP BY ALL HAVING count() > 1"
    )
    assert query(env, duplicated) == []
    wait_for(lambda: loader.get("/health")["messages_behind"] == 0, "the loader is caught up")

    assert loader.stop(signal.SIGTERM) == 0
    logged = [
        json.loads(line) for line in loader.log.read_text().splitlines() if line.startswith("{")
    ]
    assert "loader_stopped" in [line["event"] for line in logged]
