"""`/metrics` of a real `pts worker --no-history` and a real `pts loader`, on the session's
broker: each counter equals what the test sent (results in batches for two projects, subset
requests, a malformed message), read with prometheus-client's own parser."""

from __future__ import annotations

import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from confluent_kafka import Producer
from prometheus_client.parser import text_string_to_metric_families

from pts.client.publisher import EventPublisher
from pts.client.subset_client import SubsetClient, new_request
from pts.core.events import Build, Outcome, Target, TestResult, TestResultBatch
from pts.core.settings import Settings
from tests.conftest import free_port, start_worker, wait_until

pytestmark = pytest.mark.integration

T0 = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
# project -> results that ran in each of its batches (one build each; each has a skipped one too)
SENT = {"shop": (5, 7, 3), "cart": (4, 6)}
FAILED, PASSED = Outcome.FAILED, Outcome.PASSED
SHOP_REQUESTS = 2  # after shop's results are learned
CART_REQUESTS = 1  # before cart has any event: answered in the given order (a fallback)
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(url: str) -> Samples:
    with urllib.request.urlopen(url + "/metrics", timeout=30) as answer:
        assert answer.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = answer.read().decode()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


@pytest.fixture
def env(pts_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    suffix = uuid.uuid4().hex[:8]
    return {
        **pts_env,
        "PTS_TOPIC_PREFIX": f"test-{suffix}",
        "PTS_WORKER_ID": f"pts-worker-{suffix}",
        "PTS_WORKER_HTTP_PORT": str(free_port()),
        "PTS_LOADER_HTTP_PORT": str(free_port()),
        "PTS_DATA_DIR": str(tmp_path / "data"),
    }


@pytest.fixture
def loader_url(env: dict[str, str], tmp_path: Path) -> Iterator[str]:
    url = f"http://127.0.0.1:{env['PTS_LOADER_HTTP_PORT']}"
    with (tmp_path / "loader.log").open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "pts.cli", "loader"], env=env, stdout=log, stderr=log
        )
    try:
        assert wait_until(lambda: process.poll() is not None or _answers(url + "/health"), 120)
        assert process.poll() is None, (tmp_path / "loader.log").read_text()
        yield url
    finally:
        process.terminate()
        process.wait(60)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5):
            return True
    except (urllib.error.URLError, ConnectionError):
        return False


def test_metrics_count_what_was_sent(env: dict[str, str], loader_url: str, tmp_path: Path) -> None:
    worker = start_worker(env, tmp_path / "worker.log", args=("--no-history",))
    try:
        check_counts(env, worker.url, loader_url)
    finally:
        worker.stop()


def check_counts(env: dict[str, str], worker_url: str, loader_url: str) -> None:
    settings = Settings(
        kafka_bootstrap=env["PTS_KAFKA_BOOTSTRAP"], topic_prefix=env["PTS_TOPIC_PREFIX"],
        partitions=int(env["PTS_PARTITIONS"]), subset_timeout_s=30,
    )  # fmt: skip
    tests = [f"t{i}" for i in range(10)]
    client = SubsetClient(settings)
    try:
        for n in range(CART_REQUESTS):
            client.request(new_request(settings, "cart", f"early-{n}", tests, Target.parse("50%")))
        publisher = EventPublisher(settings)
        for project, sizes in SENT.items():
            publisher.publish(build=Build(project, "b1", "sha-1", T0))
            for n, size in enumerate(sizes):
                publisher.publish(batches=[batch(project, n, size)])
        publisher.flush()
        producer = Producer({"bootstrap.servers": settings.kafka_bootstrap})
        producer.produce(f"{settings.topic_prefix}.test-results", key=b"shop", value=b"not avro")
        assert producer.flush(10) == 0

        results = {p: float(sum(sizes)) for p, sizes in SENT.items()}
        learned = [("pts_results_learned_total", {"project": p}, n) for p, n in results.items()]
        assert wait_until(lambda: reached(scrape(worker_url), learned), 120), scrape(worker_url)
        for n in range(SHOP_REQUESTS):
            client.request(new_request(settings, "shop", f"b2-{n}", tests, Target.parse("50%")))
    finally:
        client.close()

    answered = [
        ("pts_subset_answers_total", {"project": "shop"}, SHOP_REQUESTS),
        ("pts_subset_answers_total", {"project": "cart"}, CART_REQUESTS),
        ("pts_dead_letters_total", {"topic": "test-results", "cause": "undecodable"}, 1),
        ("pts_snapshot_rounds_total", {"outcome": "taken"}, None),  # any: a round every 10 s
    ]
    assert wait_until(lambda: reached(scrape(worker_url), answered), 60), scrape(worker_url)
    metrics = scrape(worker_url)
    for project, sizes in SENT.items():
        assert value(metrics, "pts_results_learned_total", project=project) == sum(sizes)
        assert value(metrics, "pts_result_batches_learned_total", project=project) == len(sizes)
    assert value(metrics, "pts_subset_answers_total", project="shop") == SHOP_REQUESTS
    assert value(metrics, "pts_subset_answer_seconds_count", project="shop") == SHOP_REQUESTS
    assert value(metrics, "pts_subset_answers_total", project="cart") == CART_REQUESTS
    assert value(metrics, "pts_subset_fallbacks_total", project="cart") == CART_REQUESTS
    assert value(metrics, "pts_subset_fallbacks_total", project="shop") is None
    assert value(metrics, "pts_subset_answers_behind_total", project="shop") is None
    dead = {tuple(sorted(labels)): n for (name, labels), n in metrics.items()
            if name == "pts_dead_letters_total"}  # fmt: skip
    assert dead == {(("cause", "undecodable"), ("topic", "test-results")): 1}
    assert value(metrics, "pts_snapshot_rounds_total", outcome="failed") is None
    assert value(metrics, "pts_lag_messages", reader="model", topic="test-results") == 0
    assert not any(name.startswith("pts_loader_") for name, _ in metrics)  # --no-history

    batches = sum(len(sizes) for sizes in SENT.values())
    stored = sum(results.values()) + batches  # the skipped results are history too
    rows = [("pts_loader_rows_stored_total", {"table": "test_results"}, stored)]
    assert wait_until(lambda: reached(scrape(loader_url), rows), 120), scrape(loader_url)
    loaded = scrape(loader_url)
    assert value(loaded, "pts_loader_rows_stored_total", table="builds") == len(SENT)
    assert value(loaded, "pts_loader_events_stored_total", kind="TestResultBatch") == batches
    # The worker reads test-results and sets the malformed message aside; the loader skips it.
    assert value(loaded, "pts_loader_dead_letters_total") == 0
    assert value(loaded, "pts_loader_store_failures_total") == 0


def reached(samples: Samples, wanted: list[tuple[str, dict[str, str], float | None]]) -> bool:
    """Whether each sample is there with its value (with any value, for None)."""
    for name, labels, expected in wanted:
        found = value(samples, name, **labels)
        if found is None or (expected is not None and found != expected):
            return False
    return True


def batch(project: str, n: int, size: int) -> TestResultBatch:
    return TestResultBatch(
        project=project,
        build_id="b1",
        report=f"report-{n}.xml",
        results=tuple(
            TestResult(f"s{n}::t{i}", f"s{n}", f"t{i}", FAILED if i == n else PASSED, 0.1)
            for i in range(size)
        )
        + (TestResult(f"s{n}::ignored", f"s{n}", "ignored", Outcome.SKIPPED, 0),),
        recorded_at=T0,
    )


def test_a_worker_that_loads_history_serves_the_loaders_metrics(
    env: dict[str, str], tmp_path: Path
) -> None:
    settings = Settings(kafka_bootstrap=env["PTS_KAFKA_BOOTSTRAP"],
                        topic_prefix=env["PTS_TOPIC_PREFIX"])  # fmt: skip
    worker = start_worker(env, tmp_path / "worker.log")
    try:
        publisher = EventPublisher(settings)
        publisher.publish(build=Build("shop", "b1", "sha-1", T0), batches=[batch("shop", 0, 4)])
        publisher.flush()
        stored = [
            ("pts_loader_rows_stored_total", {"table": "builds"}, 1),
            ("pts_loader_rows_stored_total", {"table": "test_results"}, 5),  # 1 skipped
            ("pts_results_learned_total", {"project": "shop"}, 4),
        ]
        assert wait_until(lambda: reached(scrape(worker.url), stored), 120), scrape(worker.url)
        metrics = scrape(worker.url)
        assert value(metrics, "pts_loader_store_failures_total") == 0
        assert value(metrics, "pts_loader_lag_messages", topic="builds") == 0
    finally:
        worker.stop()
