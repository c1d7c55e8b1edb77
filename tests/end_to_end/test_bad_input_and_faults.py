"""What happens with bad input and when parts are down; each case on the real command line."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from pts.core import wire
from tests.conftest import FIXTURES_JUNIT, REPO, RunningWorker, run_pts

pytestmark = pytest.mark.integration
FIXTURES = FIXTURES_JUNIT


def total_messages(bootstrap: str, topic: str, partitions: int = 3) -> int:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "count"})
    try:
        return sum(
            consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
            for p in range(partitions)
        )
    finally:
        consumer.close()


def test_a_malformed_report_is_named_the_good_one_published_and_exit_is_2(
    pts_env: dict[str, str],
) -> None:
    assert run_pts(pts_env, "topics").returncode == 0
    result = run_pts(
        pts_env,
        "record",
        "tests",
        "-p",
        "shop",
        "-b",
        "1",
        str(FIXTURES / "pytest.xml"),
        str(FIXTURES / "truncated.xml"),
    )
    assert result.returncode == 2
    error = result.stderr.strip().splitlines()[-1]
    assert error.startswith("pts: error: ") and "truncated.xml:9:" in error
    topic = f"{pts_env['PTS_TOPIC_PREFIX']}.test-results"
    assert total_messages(pts_env["PTS_KAFKA_BOOTSTRAP"], topic) == 1  # pytest.xml's batch
    assert "recorded 7 test results of build 1 from 1 report" in result.stderr


def test_non_junit_report_names_file_and_line(pts_env: dict[str, str]) -> None:
    result = run_pts(
        pts_env, "record", "tests", "-p", "shop", "-b", "1", str(FIXTURES / "not_junit.xml")
    )
    assert result.returncode == 2
    assert "not_junit.xml:2: not a JUnit report" in result.stderr


def test_dry_run_prints_one_json_line_per_result_and_publishes_nothing(
    pts_env: dict[str, str],
) -> None:
    assert run_pts(pts_env, "topics").returncode == 0
    bootstrap, prefix = pts_env["PTS_KAFKA_BOOTSTRAP"], pts_env["PTS_TOPIC_PREFIX"]
    stems = ("test-results", "builds", "commits")
    before = {stem: total_messages(bootstrap, f"{prefix}.{stem}") for stem in stems}
    result = run_pts(
        pts_env,
        "record",
        "tests",
        "-p",
        "shop",
        "-b",
        "7",
        "--dry-run",
        str(FIXTURES / "surefire.xml"),
    )
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 7 and {line["kind"] for line in lines} == {"test_result"}
    assert {line["build_id"] for line in lines} == {"7"}
    build = run_pts(
        pts_env, "record", "build", "-p", "shop", "-b", "7", "--dry-run", "--repo", str(REPO)
    )
    assert build.returncode == 0, build.stderr
    kinds = [json.loads(line)["kind"] for line in build.stdout.splitlines()]
    assert kinds[-1] == "build" and set(kinds[:-1]) <= {"commit"}
    after = {stem: total_messages(bootstrap, f"{prefix}.{stem}") for stem in stems}
    assert after == before


def test_record_fails_clearly_when_the_broker_is_down(
    pts_env: dict[str, str], unreachable_bootstrap: str
) -> None:
    env = {**pts_env, "PTS_KAFKA_BOOTSTRAP": unreachable_bootstrap, "PTS_RECORD_TIMEOUT_S": "2"}
    started = time.monotonic()
    result = run_pts(env, "record", "tests", "-p", "shop", "-b", "1", str(FIXTURES / "gradle.xml"))
    assert result.returncode == 3
    assert time.monotonic() - started < 30  # bounded retry, not a hang
    assert "did not take the events within 2 s" in result.stderr.strip().splitlines()[-1]


def test_subset_prints_every_candidate_when_the_broker_is_down(
    pts_env: dict[str, str], unreachable_bootstrap: str
) -> None:
    env = {**pts_env, "PTS_KAFKA_BOOTSTRAP": unreachable_bootstrap}
    result = run_pts(
        env,
        "subset",
        "-p",
        "shop",
        "-b",
        "1",
        "--target",
        "10%",
        "--timeout",
        "2",
        stdin="t1\nt2\nt3\n",
    )
    assert result.returncode == 0
    assert result.stdout.split() == ["t1", "t2", "t3"]
    assert "running all 3 tests" in result.stderr


def test_bad_target_is_a_usage_error(pts_env: dict[str, str]) -> None:
    result = run_pts(pts_env, "subset", "-p", "shop", "-b", "1", "--target", "lots", stdin="t1\n")
    assert result.returncode == 2
    assert "target 'lots' is not" in result.stderr


def test_sql_that_reads_a_project_needs_one(pts_env: dict[str, str]) -> None:
    result = run_pts(pts_env, "query", "SELECT {project:String} AS p")
    assert result.returncode == 2
    assert "give --project" in result.stderr


def test_undecodable_message_goes_to_dead_letters_and_the_worker_goes_on(
    pts_worker: RunningWorker,
) -> None:
    env = pts_worker.env
    prefix, bootstrap = env["PTS_TOPIC_PREFIX"], env["PTS_KAFKA_BOOTSTRAP"]
    producer = Producer({"bootstrap.servers": bootstrap, "partitioner": "murmur2_random"})
    producer.produce(f"{prefix}.builds", key=b"shop", value=b"not avro at all")
    producer.produce(f"{prefix}.subset-requests", key=b"shop", value=b"\xc3\x01" + b"\0" * 12)
    assert producer.flush(10) == 0

    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": "dlq-reader", "auto.offset.reset": "earliest"}
    )
    reasons: dict[str, list[str]] = {}
    try:
        consumer.subscribe([f"{prefix}.dead-letters"])
        deadline = time.monotonic() + 60
        settled_at = None
        while time.monotonic() < deadline:
            if len(reasons) == 2 and settled_at is None:
                settled_at = time.monotonic()  # both arrived; watch a while for duplicates
            if settled_at is not None and time.monotonic() - settled_at > 3:
                break
            message = consumer.poll(0.5)
            if message is None or message.error():
                continue
            _, letter = wire.decode(message.value(), expected="DeadLetter")
            reasons.setdefault(letter["topic"], []).append(letter["reason"])
            assert letter["value"] in (b"not avro at all", b"\xc3\x01" + b"\0" * 12)
    finally:
        consumer.close()
    # One dead letter each, though both the worker and the history loader read builds.
    assert len(reasons[f"{prefix}.builds"]) == 1
    assert "no C3 01 marker" in reasons[f"{prefix}.builds"][0]
    assert len(reasons[f"{prefix}.subset-requests"]) == 1
    assert "unknown writer schema" in reasons[f"{prefix}.subset-requests"][0]

    answer = run_pts(env, "subset", "-p", "shop", "-b", "1", "--target", "50%", stdin="a\nb\n")
    assert answer.returncode == 0, answer.stderr
    assert "running all" not in answer.stderr  # answered by the worker, not the fallback


def test_a_second_worker_on_the_same_endpoint_is_refused_as_the_group_is_taken(
    pts_worker: RunningWorker,
) -> None:
    second = run_pts(pts_worker.env, "worker", timeout=90)
    assert second.returncode == 2
    error = second.stderr.strip().splitlines()[-1]
    assert error.startswith("pts: error: ")
    assert f"consumer group {pts_worker.env['PTS_WORKER_ID']} already has a running worker" in error
    assert f"answering on {pts_worker.url}/health" in error
    assert pts_worker.process.poll() is None


def test_worker_refuses_an_http_port_in_use(pts_env: dict[str, str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_pts({**pts_env, "PTS_WORKER_HTTP_PORT": str(port)}, "worker", timeout=90)
    assert result.returncode == 2
    error = result.stderr.strip().splitlines()[-1]
    assert error.startswith("pts: error: ")
    assert f"127.0.0.1:{port}" in error and "PTS_WORKER_HTTP_PORT" in error


JUNIT_REPORT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" tests="2">
<testcase classname="tests.test_app" name="test_one">{outcome}</testcase>
<testcase classname="tests.test_app" name="test_two"/>
</testsuite></testsuites>
"""


def project_health(worker: RunningWorker, project: str, learned: int) -> dict:
    """The project's /health entry once it learned `learned` results (or after 60 s)."""
    deadline = time.monotonic() + 60
    health = worker.get("/health")["projects"].get(project, {})
    while time.monotonic() < deadline and health.get("results_learned", 0) < learned:
        time.sleep(0.5)
        health = worker.get("/health")["projects"].get(project, {})
    return health


def test_roc_auc_is_null_until_a_project_has_a_failure_and_a_pass(
    pts_worker: RunningWorker, tmp_path: Path
) -> None:
    def record(build: str, outcome: str) -> None:
        report = tmp_path / f"{build}.xml"
        report.write_text(JUNIT_REPORT.format(outcome=outcome))
        result = run_pts(pts_worker.env, "record", "tests", "-p", "green", "-b", build, str(report))
        assert result.returncode == 0, result.stderr

    record("1", "")
    passes_only = project_health(pts_worker, "green", learned=2)
    assert passes_only["results_learned"] == 2 and passes_only["roc_auc"] is None
    record("2", '<failure message="boom"/>')
    with_a_failure = project_health(pts_worker, "green", learned=4)
    assert with_a_failure["results_learned"] == 4
    assert isinstance(with_a_failure["roc_auc"], float)
