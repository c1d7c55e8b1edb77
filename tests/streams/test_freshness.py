"""An answer says how far behind its model was: the worker counts the results written but not
yet learned, and `pts subset` prints them and passes its catch-up time on (real broker)."""

from __future__ import annotations

import asyncio
import os
import threading
import time
import uuid
from datetime import UTC, datetime

import pytest
from confluent_kafka import Consumer

from pts.core import wire
from pts.core.events import (
    Outcome,
    SubsetRequest,
    SubsetResponse,
    TestResult,
    TestResultBatch,
    to_record,
)
from pts.core.kafka import CheckedProducer
from pts.core.settings import Settings
from pts.core.topics import topic_name
from pts.selection.selector import Selector
from pts.streams.app import WorkerState
from tests.conftest import run_pts

pytestmark = pytest.mark.integration
T0 = datetime(2026, 12, 1, tzinfo=UTC)


def batch(project: str, build: str, outcomes: list[Outcome]) -> bytes:
    results = tuple(
        TestResult(f"t{i}", "s", f"t{i}", outcome, 0.1) for i, outcome in enumerate(outcomes)
    )
    return wire.encode(
        "TestResultBatch", to_record(TestResultBatch(project, build, "r.xml", results, T0))
    )


def test_the_worker_counts_the_projects_results_it_has_not_learned(settings: Settings) -> None:
    asyncio.run(count_behind(settings))


async def count_behind(settings: Settings) -> None:
    producer = CheckedProducer(settings)
    topic = topic_name(settings, "test-results")
    producer.produce(topic, b"shop", batch("shop", "1", [Outcome.PASSED] * 3))
    producer.produce(topic, b"other", batch("other", "1", [Outcome.FAILED] * 5))
    producer.produce(topic, b"shop", batch("shop", "2", [Outcome.FAILED, Outcome.SKIPPED]))
    producer.flush()
    state = WorkerState(settings, Selector(), {})
    try:
        assert await state.results_behind(0, "shop") == 4  # the skipped one is not learned
        await state.mark_processed(topic, 0, 0)  # the first batch is learned now
        assert await state.results_behind(0, "shop") == 1
        await state.mark_processed(topic, 0, 2)
        assert await state.results_behind(0, "shop") == 0
    finally:
        state.close()


def answer_one_request(settings: Settings, behind: int, asked: list[SubsetRequest]) -> None:
    """Stands in for the worker: answers the first request, `behind` results behind."""
    consumer = Consumer({"bootstrap.servers": settings.kafka_bootstrap,
                         "group.id": f"echo-{uuid.uuid4().hex[:6]}",
                         "auto.offset.reset": "earliest"})  # fmt: skip
    consumer.subscribe([topic_name(settings, "subset-requests")])
    try:
        deadline = time.monotonic() + 90  # then the client's own 60 s wait has ended
        message = None
        while time.monotonic() < deadline:
            message = consumer.poll(1.0)
            if message is not None and message.error() is None:
                break
        if message is None or message.error() is not None:
            return  # no request came: the test fails on `asked` being empty
        _, record = wire.decode(message.value(), expected="SubsetRequest")
        request = SubsetRequest.from_record(record)
        asked.append(request)
        response = SubsetResponse(request.request_id, request.project, request.build_id, (),
                                  0, 0.0, 0.0, "learned@9", results_behind=behind)  # fmt: skip
        producer = CheckedProducer(settings)
        producer.produce(request.reply_topic, request.request_id.encode(),
                         wire.encode("SubsetResponse", to_record(response)))  # fmt: skip
        producer.flush()
    finally:
        consumer.close()


def test_pts_subset_says_how_far_behind_the_model_was(settings: Settings) -> None:
    asked: list[SubsetRequest] = []
    worker = threading.Thread(target=answer_one_request, args=(settings, 12, asked))
    worker.start()
    env = {"PTS_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
           "PTS_TOPIC_PREFIX": settings.topic_prefix, "PTS_SUBSET_TIMEOUT_S": "60"}  # fmt: skip
    answer = run_pts({**os.environ, **env}, "subset", "-p", "shop", "-b", "1",
                     "--target", "50%", "--catch-up", "7.5", stdin="a\n")  # fmt: skip
    worker.join(timeout=60)
    assert answer.returncode == 0, answer.stderr
    assert asked and asked[0].catch_up_s == 7.5
    assert "the model had not learned 12 results of shop yet" in answer.stderr


def test_a_catch_up_longer_than_the_wait_for_the_answer_is_refused(settings: Settings) -> None:
    env = {"PTS_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
           "PTS_TOPIC_PREFIX": settings.topic_prefix}  # fmt: skip
    ask = (
        "subset",
        "-p",
        "shop",
        "-b",
        "1",
        "--target",
        "50%",
        "--catch-up",
        "9",
        "--timeout",
        "3",
    )
    answer = run_pts({**os.environ, **env}, *ask, stdin="a\nb\n")
    assert answer.returncode == 0  # pts never blocks a build: every candidate runs
    assert answer.stdout.split() == ["a", "b"]
    assert (
        "--catch-up 9 s (PTS_SUBSET_CATCH_UP_S) must be shorter than --timeout 3 s" in answer.stderr
    )
