"""Champion and challengers through the real broker and worker: a history that calls for
another ranker makes it the project's champion, and the decision is on its topic, in
ClickHouse (`pts query champions`), in `/health` and `pts status`, and in the subset answer."""

from __future__ import annotations

import json
import time

import pytest

from pts.client.publisher import EventPublisher, batches_of
from pts.core.events import Build, Outcome, TestResult
from pts.core.settings import Settings
from tests.conftest import RunningWorker, run_pts

pytestmark = pytest.mark.integration

PROJECT = "champ"
TESTS = [f"org/x/T{i}Test.java" for i in range(10)]
# Enough failing builds for a lead chance would not give the best of nine challengers, on
# both metrics (APFD's comes at build 66 of this history, APFDc's at 30).
BUILDS = 80


def failing(build: int) -> set[str]:
    # The slowest test fails every other build, one of the three quickest in between: the
    # plain failure rate beats the model build after build, as in tests/selection.
    return {TESTS[-1]} if build % 2 else {TESTS[build % 3]}


def publish_history(env: dict[str, str]) -> None:
    settings = Settings(
        kafka_bootstrap=env["PTS_KAFKA_BOOTSTRAP"], topic_prefix=env["PTS_TOPIC_PREFIX"],
        partitions=int(env["PTS_PARTITIONS"]),
    )  # fmt: skip
    publisher = EventPublisher(settings)
    for i in range(BUILDS):
        results = [
            TestResult(t, "s", t, Outcome.FAILED if t in failing(i) else Outcome.PASSED, 1.0 + k)
            for k, t in enumerate(TESTS)
        ]
        batch = batches_of(PROJECT, f"b{i}", "junit.xml", [results], f"d{i}")
        publisher.publish(Build(PROJECT, f"b{i}", f"c{i}"), (), batch)
    publisher.flush()


def wait_for(condition, timeout_s: float = 120):  # noqa: ANN001, ANN201
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(1)


def test_the_champion_changes_when_the_history_calls_for_it(pts_worker: RunningWorker) -> None:
    publish_history(pts_worker.env)

    def project() -> dict | None:
        found = pts_worker.get("/health")["projects"].get(PROJECT)
        return found if found and found["results_learned"] == BUILDS * len(TESTS) else None

    health = wait_for(project)
    assert health is not None, pts_worker.get("/health")
    champions = health["champions"]
    assert champions["time"]["champion"] == "failure-rate"
    assert champions["confidence"]["champion"] == "failure-rate"
    assert champions["time"]["record"] > champions["time"]["challengers"]["learned/s"]

    def decisions() -> list[dict]:
        result = run_pts(pts_worker.env, "query", "champions", "-p", PROJECT)
        assert result.returncode == 0, result.stderr
        rows = [json.loads(line) for line in result.stdout.splitlines()]
        return rows if len(rows) >= 2 else []

    rows = wait_for(decisions, 60)
    assert {r["metric"] for r in rows} == {"apfd", "apfdc"}
    assert rows[-1]["champion"] == "failure-rate"
    assert all(r["champion_record"] > r["previous_record"] for r in rows)

    status = run_pts(pts_worker.env, "status")
    assert status.returncode == 0, status.stderr
    assert "time targets: failure-rate (APFDc" in status.stdout
    assert "confidence targets: failure-rate (APFD" in status.stdout

    answer = run_pts(
        pts_worker.env, "subset", "-p", PROJECT, "-b", f"b{BUILDS}", "--target", "30%",
        stdin="\n".join(TESTS) + "\n",
    )  # fmt: skip
    assert answer.returncode == 0, answer.stderr
    assert f"(ranker failure-rate@{BUILDS * len(TESTS)})" in answer.stderr
