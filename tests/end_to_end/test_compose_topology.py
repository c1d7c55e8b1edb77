"""The docker-compose topology with processes instead of containers: the real broker, the two
`pts worker --no-history` of one consumer group and the `pts loader`, each started with the
compose file's own command and environment (host addresses for the containers' ones). CI
records a few builds of several projects; every answer comes from a model that learned every
result of its project, and the history holds every result."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, TopicPartition
from confluent_kafka.admin import AdminClient

from pts.core.settings import Settings
from pts.core.topics import partitions_of, spec, topic_name
from tests.conftest import RunningWorker, free_port, run_pts
from tests.ops.test_compose import by_command, environment, load_compose

pytestmark = pytest.mark.integration

PROJECTS = ("shop", "billing", "search", "maps")
BUILDS = ("b1", "b2")
REPORT = """<testsuites><testsuite name="suite" tests="3">
<testcase classname="tests.test_{project}" name="test_fast" time="0.5">{failure}</testcase>
<testcase classname="tests.test_{project}" name="test_slow" time="4.0"/>
<testcase classname="tests.test_{project}" name="test_mid" time="2.0"/>
</testsuite></testsuites>
"""
RESULTS_PER_BUILD = 3


def service_env(service: dict[str, Any], host: dict[str, str], data_dir: Path) -> dict[str, str]:
    """The service's compose environment on this host: the broker's host address for kafka:9092,
    loopback and a free port for the HTTP, its own data dir for its volume, and no ClickHouse
    server (there is none here: the loader keeps the history in chdb under its data dir)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PTS_")}
    env.update(environment(service))
    env.pop("PTS_CLICKHOUSE_URL", None)
    env.update(host)
    env["PTS_WORKER_ID"] = f"{environment(service)['PTS_WORKER_ID']}-{host['PTS_TOPIC_PREFIX']}"
    env["PTS_WORKER_HTTP_HOST"] = "127.0.0.1"
    env["PTS_WORKER_HTTP_PORT"] = str(free_port())
    env["PTS_LOADER_HTTP_PORT"] = str(free_port())  # `pts loader`'s own
    env["PTS_DATA_DIR"] = str(data_dir)
    return env


def start(command: list[str], env: dict[str, str], log: Path) -> RunningWorker:
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "pts.cli", *command], env=env, stdout=out, stderr=out
        )
    return RunningWorker(env, process, log)


def wait_until_answering(worker: RunningWorker, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if worker.process.poll() is not None:
            text = worker.log.read_text()
            raise RuntimeError(f"exited with {worker.process.returncode}:\n{text[-4000:]}")
        try:
            worker.get("/health")
            return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.5)
    raise RuntimeError(f"no answer within {timeout_s} s:\n{worker.log.read_text()[-4000:]}")


def wait_for(condition: Any, what: str, timeout_s: float = 90) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout_s} s")
        time.sleep(0.5)


def group_members(admin: AdminClient, group: str) -> int:
    description = admin.describe_consumer_groups([group], request_timeout=10)[group].result(30)
    return len(description.members)


def behind(env: dict[str, str], stems: tuple[str, ...]) -> int:
    """Messages of `stems` the history group has not committed yet."""
    settings = Settings(
        kafka_bootstrap=env["PTS_KAFKA_BOOTSTRAP"],
        topic_prefix=env["PTS_TOPIC_PREFIX"],
        worker_id=env["PTS_WORKER_ID"],
    )
    partitions = [
        TopicPartition(topic_name(settings, stem), partition)
        for stem in stems
        for partition in range(partitions_of(settings, spec(stem)))
    ]
    admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap})
    consumer = Consumer({"bootstrap.servers": settings.kafka_bootstrap, "group.id": "probe"})
    try:
        request = ConsumerGroupTopicPartitions(settings.history_group_id, partitions)
        [future] = admin.list_consumer_group_offsets([request]).values()
        committed = {
            (tp.topic, tp.partition): tp.offset for tp in future.result(30).topic_partitions
        }
        missing = 0
        for tp in partitions:
            high = consumer.get_watermark_offsets(tp, timeout=10)[1]
            missing += high - max(committed.get((tp.topic, tp.partition), 0), 0)
        return missing
    finally:
        consumer.close()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    for args in (["init", "-q"], ["config", "user.email", "ci@example.com"],
                 ["config", "user.name", "CI"]):  # fmt: skip
        subprocess.run(["git", "-C", str(repo), *args], check=True)
    (repo / "src.py").write_text("version = 1\n")
    subprocess.run(["git", "-C", str(repo), "add", "src.py"], check=True)
    subprocess.run(["git", "-C", str(repo), "commit", "-q", "-m", "v1"], check=True)
    return repo


@pytest.fixture
def stack() -> Iterator[list[RunningWorker]]:
    """Every process started, stopped at the end whatever happens."""
    running: list[RunningWorker] = []
    try:
        yield running
    finally:
        for process in reversed(running):
            process.stop()


def test_two_workers_and_the_loader_as_composed(
    kafka_bootstrap: str,
    kafka_admin: AdminClient,
    repo: Path,
    stack: list[RunningWorker],
    tmp_path: Path,
) -> None:
    compose = load_compose()
    host = {
        "PTS_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "PTS_TOPIC_PREFIX": f"test-{uuid.uuid4().hex[:8]}",
        "PTS_LOG_LEVEL": "warning",
    }
    workers = []
    for name, service in by_command(compose, "worker").items():
        env = service_env(service, host, tmp_path / name)
        worker = start(service["command"], env, tmp_path / name / "log")
        stack.append(worker)
        wait_until_answering(worker)  # one at a time: the first creates the topics
        workers.append(worker)
    group = workers[0].env["PTS_WORKER_ID"]
    assert {w.env["PTS_WORKER_ID"] for w in workers} == {group}
    wait_for(lambda: group_members(kafka_admin, group) == len(workers), "both workers in the group")

    [(loader_name, loader_service)] = by_command(compose, "loader").items()
    loader_env = service_env(loader_service, host, tmp_path / loader_name)
    assert loader_env["PTS_WORKER_ID"] == group
    stack.append(start(loader_service["command"], loader_env, tmp_path / loader_name / "log"))

    ci = {**{k: v for k, v in os.environ.items() if not k.startswith("PTS_")}, **host}
    ci["PTS_SUBSET_TIMEOUT_S"] = "30"
    for build in BUILDS:
        for project in PROJECTS:
            recorded = run_pts(
                ci, "record", "build", "-p", project, "-b", build, "--repo", str(repo)
            )
            assert recorded.returncode == 0, recorded.stderr
            report = tmp_path / "reports" / f"{project}-{build}.xml"
            report.parent.mkdir(exist_ok=True)
            failure = '<failure message="boom"/>' if build == "b1" else ""
            report.write_text(REPORT.format(project=project, failure=failure))
            recorded = run_pts(ci, "record", "tests", "-p", project, "-b", build, str(report))
            assert recorded.returncode == 0, recorded.stderr

    learned = RESULTS_PER_BUILD * len(BUILDS)
    for project in PROJECTS:
        candidates = "".join(f"tests.test_{project}::test_{t}\n" for t in ("fast", "slow", "mid"))
        answer = run_pts(
            ci, "subset", "-p", project, "-b", "b3", "--target", "50%", stdin=candidates
        )
        assert answer.returncode == 0, answer.stderr
        assert "warning" not in answer.stderr, answer.stderr  # answered, not the fallback
        ranker = re.search(r"\(ranker (\S+)@(\d+)\)", answer.stderr)
        assert ranker is not None, answer.stderr
        assert int(ranker.group(2)) == learned, f"{project}: {answer.stderr}"
        assert answer.stdout.split()[0] == f"tests.test_{project}::test_fast"  # it failed in b1

    for worker in workers:
        assert worker.process.poll() is None, worker.log.read_text()[-4000:]
    wait_for(lambda: behind(loader_env, ("builds", "test-results")) == 0, "history loaded")
    loader = stack.pop()
    assert loader.process.poll() is None, loader.log.read_text()[-4000:]
    loader.process.send_signal(signal.SIGTERM)
    assert loader.process.wait(timeout=60) == 0, loader.log.read_text()[-4000:]
    # The loader is stopped: `pts query` opens its chdb directory itself.
    counts = run_pts(
        loader_env,
        "query",
        "SELECT project, count() AS n, countIf(outcome = 'failed') AS failed "
        "FROM pts.test_results FINAL GROUP BY project ORDER BY project",
    )
    assert counts.returncode == 0, counts.stderr
    rows = [line for line in counts.stdout.splitlines() if line]
    assert rows == [f'{{"project": "{p}", "n": {learned}, "failed": 1}}' for p in sorted(PROJECTS)]
