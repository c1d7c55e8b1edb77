"""The results agent's turns (`messages.consume_in_turn`): one message at a time on the model
thread, in the stream's order, the next one's turn under way while the event loop finishes the
one before; a turn whose result holds (a batch ahead of its build) keeps the next one waiting
until it is finished; a message that fails is set aside and the rest go on; what the snapshot
holds is skipped. The worker's state is real (real broker); the stream is a list of messages."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from pts.core.errors import DecodeError
from pts.core.settings import Settings
from pts.core.topics import topic_name
from pts.selection.selector import Selector
from pts.streams.app import WorkerState
from pts.streams.messages import consume_in_turn
from tests.consumers.test_history_loader import read_dead_letters

pytestmark = pytest.mark.integration
WAIT_S = 30.0


@dataclass(frozen=True)
class Message:  # the fields of a faust message that the agents read
    topic: str
    offset: int
    value: bytes
    partition: int = 0
    key: bytes = b"p"


@dataclass(frozen=True)
class Event:
    message: Message


class Stream:
    """A faust stream's events, in order; it ends once `state` has processed the last one
    (a faust stream ends only when the worker stops)."""

    def __init__(self, state: WorkerState, messages: list[Message]) -> None:
        self.state, self.messages = state, messages

    async def events(self) -> AsyncIterator[Event]:
        for message in self.messages:
            yield Event(message)
        last = self.messages[-1]
        while self.state.processed.get((last.topic, last.partition), -1) < last.offset:
            await asyncio.sleep(0.01)


class Turns:
    """A turn and a finish that note what ran when; value b"hold" holds, b"bad" fails."""

    def __init__(self, state: WorkerState) -> None:
        self.state = state
        self.log: list[str] = []  # "turn 3", "finish 3", in the order they happened
        self.started: dict[bytes, threading.Event] = {}
        self.lock = threading.Lock()

    def note(self, entry: str) -> None:
        with self.lock:
            self.log.append(entry)

    def turn(self, value: bytes) -> bytes:
        # On the model thread.
        self.note(f"turn {value.decode()}")
        self.started.setdefault(value, threading.Event()).set()
        if value == b"bad":
            raise DecodeError("not a batch", value)
        return value

    async def finish(self, value: bytes, message: Message) -> None:
        if value == b"hold":
            await asyncio.sleep(0.2)  # the next turn would have started by now
            value = await self.state.run_model(lambda: b"held, then learned")
        elif value == b"1":
            # Finishing the first message waits for the second one's turn to start: it
            # never would if turns waited for the finish before them.
            started = self.started.setdefault(b"2", threading.Event())
            assert await asyncio.to_thread(started.wait, WAIT_S), "turn 2 did not overlap"
        self.note(f"finish {value.decode()}")


def run(
    settings: Settings, messages: list[Message], restored: int = -1
) -> tuple[Turns, WorkerState]:
    state = WorkerState(settings, Selector(), {})
    turns = Turns(state)

    async def consume() -> None:
        await state.ensure_restored(0)
        state.restored[0]["test-results"] = restored  # as a snapshot that learned this far
        await asyncio.wait_for(
            consume_in_turn(Stream(state, messages), state, turns.turn, turns.finish,
                            holds=lambda value: value == b"hold"),
            WAIT_S,
        )  # fmt: skip

    try:
        asyncio.run(consume())
        state.producer.flush()
    finally:
        state.close()
    return turns, state


def messages(settings: Settings, *values: bytes) -> list[Message]:
    topic = topic_name(settings, "test-results")
    return [Message(topic, offset, value) for offset, value in enumerate(values)]


def test_the_next_turn_runs_while_the_one_before_is_finished(settings: Settings) -> None:
    turns, state = run(settings, messages(settings, b"1", b"2", b"3"))
    assert turns.log.index("turn 2") < turns.log.index("finish 1")
    assert [e for e in turns.log if e.startswith("turn")] == ["turn 1", "turn 2", "turn 3"]
    assert [e for e in turns.log if e.startswith("finish")] == ["finish 1", "finish 2",
                                                               "finish 3"]  # fmt: skip
    assert state.processed[(topic_name(settings, "test-results"), 0)] == 2


def test_a_turn_that_holds_keeps_the_next_waiting_until_it_is_finished(
    settings: Settings,
) -> None:
    turns, _ = run(settings, messages(settings, b"0", b"hold", b"4", b"5"))
    log = turns.log
    assert [e for e in log if e.startswith("turn")] == ["turn 0", "turn hold", "turn 4", "turn 5"]
    assert log.index("turn 4") > log.index("finish held, then learned")


def test_a_message_that_fails_is_set_aside_and_the_rest_go_on(settings: Settings) -> None:
    turns, state = run(settings, messages(settings, b"3", b"bad", b"5"))
    assert "finish 5" in turns.log and "finish bad" not in turns.log
    assert state.processed[(topic_name(settings, "test-results"), 0)] == 2
    letters = read_dead_letters(settings.kafka_bootstrap, topic_name(settings, "dead-letters"),
                                f"letters-{uuid.uuid4().hex[:6]}", expected=1)  # fmt: skip
    assert [(letter["offset"], letter["reason"]) for letter in letters] == [(1, "not a batch")]


def test_what_the_snapshot_holds_is_skipped_but_counted_as_processed(settings: Settings) -> None:
    turns, state = run(settings, messages(settings, b"7", b"8", b"9"), restored=1)
    assert turns.log == ["turn 9", "finish 9"]
    assert state.processed[(topic_name(settings, "test-results"), 0)] == 2
