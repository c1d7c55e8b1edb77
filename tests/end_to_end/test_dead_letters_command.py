"""`pts dead-letters` shows operators what was set aside and why, without a group commit."""

from __future__ import annotations

import base64
import json
import time

import pytest
from confluent_kafka import Producer

from tests.conftest import RunningWorker, run_pts

pytestmark = pytest.mark.integration


def letters(env: dict[str, str], *args: str) -> list[dict]:
    result = run_pts(env, "dead-letters", *args)
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_dead_letters_are_listed_with_their_reason(pts_worker: RunningWorker) -> None:
    env = pts_worker.env
    assert letters(env) == []
    producer = Producer({"bootstrap.servers": env["PTS_KAFKA_BOOTSTRAP"]})
    for garbage in (b"first garbage", b"second garbage"):
        producer.produce(f"{env['PTS_TOPIC_PREFIX']}.builds", key=b"shop", value=garbage)
    assert producer.flush(10) == 0

    deadline = time.monotonic() + 60
    while len(found := letters(env)) < 2 and time.monotonic() < deadline:
        time.sleep(1)
    assert [base64.b64decode(letter["value"]) for letter in found] == [
        b"first garbage",
        b"second garbage",
    ]
    assert {letter["topic"] for letter in found} == {f"{env['PTS_TOPIC_PREFIX']}.builds"}
    assert all("C3 01 marker" in letter["reason"] for letter in found)
    assert [base64.b64decode(letter["value"]) for letter in letters(env, "--limit", "1")] == [
        b"second garbage"
    ]
