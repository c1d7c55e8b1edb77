"""`pts backfill` through the real command line, against the session's real broker and real
chdb: twice adds no row, a run killed midway and run again leaves every event once, a range
retention has cut into is refused with how much is gone."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from confluent_kafka import Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from pts.core import wire
from pts.core.events import Build, Outcome, TestResult, TestResultBatch, to_record
from pts.core.settings import Settings
from pts.core.topics import ensure_topics, topic_name
from tests.conftest import free_port, run_pts, running_worker

pytestmark = pytest.mark.integration

DAY0 = datetime(2026, 1, 1, tzinfo=UTC)
TESTS_PER_BATCH = 3


@pytest.fixture
def env(kafka_bootstrap: str, kafka_admin: AdminClient, tmp_path: Path) -> dict[str, str]:
    """A `pts` environment with topics of its own (two partitions each), no worker running."""
    prefix = f"test-{uuid.uuid4().hex[:8]}"
    settings = Settings(kafka_bootstrap=kafka_bootstrap, topic_prefix=prefix, partitions=2)
    ensure_topics(kafka_admin, settings)
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("PTS_")},
        "PTS_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "PTS_TOPIC_PREFIX": prefix,
        "PTS_PARTITIONS": "2",
        "PTS_WORKER_ID": f"pts-worker-{prefix}",
        "PTS_WORKER_HTTP_PORT": str(free_port()),  # nobody answers there
        "PTS_DATA_DIR": str(tmp_path / "data"),
        "PTS_LOG_LEVEL": "warning",
    }


def topic(env: dict[str, str], stem: str) -> str:
    return topic_name(Settings(topic_prefix=env["PTS_TOPIC_PREFIX"]), stem)


def batch(project: str, build_id: str, day: int) -> TestResultBatch:
    return TestResultBatch(
        project=project,
        build_id=build_id,
        report="junit.xml",
        results=tuple(
            TestResult(f"t::{i}", "t", str(i), Outcome.FAILED if i == 0 else Outcome.PASSED, 0.1)
            for i in range(TESTS_PER_BATCH)
        ),
        recorded_at=DAY0 + timedelta(days=day),
    )


def publish(
    env: dict[str, str],
    builds_per_project: int,
    projects: tuple[str, ...],
    step: timedelta = timedelta(days=1),
) -> None:
    """Each build and its results, build i of each project written at DAY0 + i steps (its
    Kafka timestamp too)."""
    producer = Producer({"bootstrap.servers": env["PTS_KAFKA_BOOTSTRAP"], "linger.ms": 20})
    failed: list[str] = []

    def delivered(error: object, _message: object) -> None:
        if error is not None:
            failed.append(str(error))

    for day in range(builds_per_project):
        when = int((DAY0 + step * day).timestamp() * 1000)
        for project in projects:
            build = Build(project, f"b{day}", f"c{day}", DAY0 + step * day)
            producer.produce(topic(env, "builds"), wire.encode("Build", to_record(build)),
                             key=project.encode(), timestamp=when,
                             on_delivery=delivered)  # fmt: skip
            results = wire.encode("TestResultBatch", to_record(batch(project, f"b{day}", day)))
            producer.produce(topic(env, "test-results"), results, key=project.encode(),
                             timestamp=when, on_delivery=delivered)  # fmt: skip
            producer.poll(0)
    assert producer.flush(30) == 0
    assert failed == []


def counts(env: dict[str, str]) -> dict[str, int]:
    """Rows in the store (read with FINAL, as every reader of the history does), and the
    distinct events they hold; read by `pts query` in a process of its own (a process that
    opened chdb keeps its view of the directory: it would not see a later run's rows)."""
    sql = (
        "SELECT (SELECT count() FROM pts.builds) AS builds,"
        " (SELECT uniqExact(project, build_id) FROM pts.builds) AS distinct_builds,"
        " (SELECT count() FROM pts.test_results) AS results,"
        " (SELECT uniqExact(project, build_id, test_id) FROM pts.test_results)"
        " AS distinct_results"
    )
    done = run_pts(env, "query", sql)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def printed_rows(stderr: str) -> dict[str, int]:
    """The rows per kind the command's last sentence says it stored."""
    sentence = stderr.strip().splitlines()[-1]
    assert sentence.startswith("backfilled"), stderr
    return {kind: int(rows.replace(",", "")) for kind, rows in
            re.findall(r"(\w+) \(([\d,]+) rows\)", sentence)}  # fmt: skip


def test_backfill_twice_adds_no_row(env: dict[str, str]) -> None:
    publish(env, builds_per_project=20, projects=("shop", "bank"))

    first = run_pts(env, "backfill", "--since", "2025-12-01")
    assert first.returncode == 0, first.stderr
    after_first = counts(env)
    second = run_pts(env, "backfill", "--since", "2025-12-01", "--batch-size", "7")
    assert second.returncode == 0, second.stderr

    assert after_first == counts(env) == {
        "builds": 40, "distinct_builds": 40, "results": 40 * TESTS_PER_BATCH,
        "distinct_results": 40 * TESTS_PER_BATCH,
    }  # fmt: skip
    # What each run says it stored is what reached the store.
    expected = {"Build": 40, "TestResultBatch": 40 * TESTS_PER_BATCH}
    assert printed_rows(first.stderr) == printed_rows(second.stderr) == expected
    assert "backfilled 80 messages" in first.stderr


def test_a_range_and_a_project(env: dict[str, str]) -> None:
    publish(env, builds_per_project=10, projects=("shop", "bank"))

    done = run_pts(
        env, "backfill", "--since", "2026-01-03", "--until", "2026-01-06", "--project", "shop"
    )

    assert done.returncode == 0, done.stderr
    # Days 2, 3 and 4 of shop: the range is [since, until).
    assert printed_rows(done.stderr) == {"Build": 3, "TestResultBatch": 3 * TESTS_PER_BATCH}
    assert "left out 6 of other projects" in done.stderr
    builds = run_pts(env, "query", "SELECT project, build_id FROM pts.builds ORDER BY build_id")
    assert [json.loads(line) for line in builds.stdout.splitlines()] == [
        {"project": "shop", "build_id": f"b{day}"} for day in (2, 3, 4)
    ]


def test_a_backfill_killed_midway_and_run_again_stores_every_event_once(
    env: dict[str, str],
) -> None:
    publish(env, builds_per_project=1500, projects=("shop",), step=timedelta(minutes=1))
    with subprocess.Popen(
        [sys.executable, "-m", "pts.cli", "backfill", "--since", "2025-12-01",
         "--batch-size", "5"],
        env=env, stderr=subprocess.PIPE, text=True,
    ) as killed:  # fmt: skip
        assert killed.stderr is not None
        for line in killed.stderr:  # a plain line after the first stored batch
            if re.search(r"[1-9][\d,]* rows stored", line):
                killed.send_signal(signal.SIGKILL)
                break
        rest = line + killed.stderr.read()
    assert killed.returncode == -signal.SIGKILL, rest
    partial = counts(env)
    assert 0 < partial["builds"] + partial["results"] < 1500 * (1 + TESTS_PER_BATCH)

    again = run_pts(env, "backfill", "--since", "2025-12-01", timeout=300)

    assert again.returncode == 0, again.stderr
    assert counts(env) == {
        "builds": 1500, "distinct_builds": 1500, "results": 1500 * TESTS_PER_BATCH,
        "distinct_results": 1500 * TESTS_PER_BATCH,
    }  # fmt: skip


def test_a_range_retention_cut_into_is_refused_with_how_much_is_gone(
    env: dict[str, str], kafka_admin: AdminClient
) -> None:
    publish(env, builds_per_project=10, projects=("shop",))
    results = topic(env, "test-results")
    partition = next(
        p for p in range(2)
        if kafka_admin.list_topics(results).topics[results].partitions
        and _high(env, results, p) == 10
    )  # fmt: skip
    # What retention does to old segments: the first 4 messages (days 0 to 3) are gone.
    for future in kafka_admin.delete_records([TopicPartition(results, partition, 4)]).values():
        future.result(timeout=30)

    refused = run_pts(env, "backfill", "--since", "2026-01-02")

    assert refused.returncode == 2, refused.stderr
    assert "retention already dropped part of the range" in refused.stderr
    assert "4 messages in 1 partition are gone, up to 3.0 days of the range" in refused.stderr
    assert f"{results}[{partition}] keeps nothing before 2026-01-05 00:00:00 UTC" in refused.stderr
    assert not (Path(env["PTS_DATA_DIR"]) / "chdb").exists()  # refused before anything was read

    kept = run_pts(env, "backfill", "--since", "2026-01-05")
    assert kept.returncode == 0, kept.stderr
    assert printed_rows(kept.stderr) == {"Build": 6, "TestResultBatch": 6 * TESTS_PER_BATCH}


def _high(env: dict[str, str], topic_: str, partition: int) -> int:
    from confluent_kafka import Consumer

    consumer = Consumer({"bootstrap.servers": env["PTS_KAFKA_BOOTSTRAP"], "group.id": "probe"})
    try:
        return consumer.get_watermark_offsets(TopicPartition(topic_, partition), timeout=10)[1]
    finally:
        consumer.close()


def test_a_backfill_beside_a_worker_that_owns_the_embedded_store_is_refused(
    env: dict[str, str],
) -> None:
    Path(env["PTS_DATA_DIR"]).mkdir()
    with running_worker(env):
        refused = run_pts(env, "backfill", "--since", "7d")

    assert refused.returncode == 2, refused.stderr
    assert f"the worker {env['PTS_WORKER_ID']} at http://127.0.0.1:" in refused.stderr
    assert "owns the chdb directory" in refused.stderr
    assert "backfill a ClickHouse server (PTS_CLICKHOUSE_URL)" in refused.stderr
