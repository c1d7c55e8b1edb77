"""`pts replay`: which project a history is published to, and that it says so."""

from __future__ import annotations

import time
import uuid

import pytest
from confluent_kafka import Consumer

from pts.evaluation.importers import load_history
from pts.ops.replay import default_project
from tests.conftest import run_pts

from .conftest import FIXTURES

RETECS_TOY = FIXTURES / "retecs" / "retecs_toy.csv"


@pytest.mark.parametrize(
    ("spec", "name", "project"),
    [
        (str(FIXTURES / "commons" / "commons_toy.csv"), "commons_toy", "commons-toy"),
        (str(RETECS_TOY), "retecs_toy", "retecs-toy"),
        (str(FIXTURES / "junit_history" / "toy"), "toy", "toy"),
        ("synthetic:3", "synthetic-3", "synthetic-3"),
    ],
)
def test_the_default_project_is_the_history_name_with_hyphens(
    spec: str, name: str, project: str
) -> None:
    history = load_history(spec)
    assert (history.name, default_project(history)) == (name, project)


@pytest.mark.parametrize(
    "spec",
    [
        str(FIXTURES / "commons" / "commons_toy.csv"),
        str(RETECS_TOY),
        str(FIXTURES / "junit_history" / "toy"),
    ],
)
def test_importers_name_their_builds_after_the_default_project(spec: str) -> None:
    history = load_history(spec)
    assert {c.build.project for c in history.cycles} == {default_project(history)}


def published_build_keys(bootstrap: str, topic: str, expected: int) -> list[bytes]:
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"replay-test-{uuid.uuid4().hex[:8]}",
            "auto.offset.reset": "earliest",
        }
    )
    keys: list[bytes] = []
    try:
        consumer.subscribe([topic])
        deadline = time.monotonic() + 30
        while len(keys) < expected and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is not None and not message.error():
                keys.append(message.key())
    finally:
        consumer.close()
    return keys


def test_replay_says_which_project_it_published_to(pts_env: dict[str, str]) -> None:
    assert run_pts(pts_env, "topics").returncode == 0
    done = run_pts(pts_env, "replay", str(RETECS_TOY))
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines()[-1] == "replayed 3 cycles of retecs_toy into project retecs-toy"
    chosen = run_pts(pts_env, "replay", str(RETECS_TOY), "--project", "shop", "--limit", "1")
    assert chosen.stderr.splitlines()[-1] == "replayed 1 cycles of retecs_toy into project shop"
    builds = f"{pts_env['PTS_TOPIC_PREFIX']}.builds"
    keys = published_build_keys(pts_env["PTS_KAFKA_BOOTSTRAP"], builds, expected=4)
    assert sorted(keys) == [b"retecs-toy"] * 3 + [b"shop"]
