"""Each message of a stream: restore its partition's models first if this worker was just
given it, skip what the restored snapshot already holds, decode it, hand it to the agent's
handler, and set aside to the dead-letter topic, with the reason, whatever does not decode or
fails; the stream goes on. `consume_in_turn` does the same with the model thread's turns of
consecutive messages back to back."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import faust
from faust.types.tuples import Message

from pts.core.bounded import described
from pts.core.errors import DecodeError
from pts.core.logs import get_logger
from pts.streams.app import WorkerState
from pts.streams.metrics import FAILED, UNDECODABLE

T = TypeVar("T")
Handler = Callable[[dict[str, Any], Message], Awaitable[None]]
RawHandler = Callable[[bytes | None, Message], Awaitable[None]]
log = get_logger(__name__)
WAITING_AT_MOST = 4  # messages taken from the stream ahead of the model thread
FINISH_AT_EXIT_S = 30.0


async def consume(
    stream: faust.StreamT,
    schema: str,
    handle: Handler,
    state: WorkerState,
) -> None:
    """Each message decoded on the decode thread, then handed to `handle`."""

    async def decode_then_handle(value: bytes | None, message: Message) -> None:
        await handle(await state.decode(value, schema), message)

    await consume_raw(stream, decode_then_handle, state)


async def consume_raw(stream: faust.StreamT, handle: RawHandler, state: WorkerState) -> None:
    """Each message's bytes handed to `handle`, which decodes them where it likes; a
    DecodeError it raises sets the message aside with its reason."""
    try:
        async for event in stream.events():
            message = event.message
            await state.ensure_restored(message.partition)
            # Skipped when the snapshot the partition was restored from has learned it already.
            if not state.in_snapshot(message.topic, message.partition, message.offset):
                await guarded(state, message, handle(message.value, message))
            await state.mark_processed(message.topic, message.partition, message.offset)
    except Exception as exc:
        state.agent_crashed(_agent_of(stream), exc)
        raise


async def consume_in_turn(
    stream: faust.StreamT,
    state: WorkerState,
    turn: Callable[[bytes | None], T],
    finish: Callable[[T, Message], Awaitable[None]],
    holds: Callable[[T], bool],
) -> None:
    """`consume_raw`, with each message's turn of the model thread (`turn`, given the bytes)
    started as soon as the previous turn ends, while the event loop finishes the message before
    it (`finish`: replies, logs, offsets). So the model thread does not wait on the event loop
    between messages. Turns still run one at a time, in the stream's order; after a turn whose
    result `holds` (a batch whose build has not arrived), the next waits until `finish` is done
    with it, so `finish` may take more turns for it first."""
    loop = asyncio.get_running_loop()
    waiting: deque[tuple[Message, bool]] = deque()  # (message, already in the snapshot)
    # Taken messages, in order, each with its turn (None: in the snapshot); None ends them.
    turns: asyncio.Queue[tuple[Message, asyncio.Future[T] | None] | None] = asyncio.Queue()
    room = asyncio.Event()
    busy = False
    holding: asyncio.Future[T] | None = None  # the turn whose result holds the next ones

    def start_turns() -> None:
        nonlocal busy
        while waiting and not busy and holding is None:
            message, restored = waiting.popleft()
            if restored:
                turns.put_nowait((message, None))
                continue
            busy = True
            future = state.start_model(turn, message.value)
            future.add_done_callback(turn_ended)
            turns.put_nowait((message, future))
        if len(waiting) < WAITING_AT_MOST:
            room.set()

    def turn_ended(future: asyncio.Future[T]) -> None:
        nonlocal busy, holding
        busy = False
        if not future.cancelled() and future.exception() is None and holds(future.result()):
            holding = future
        else:
            start_turns()

    async def finished(future: asyncio.Future[T], message: Message) -> None:
        await finish(await future, message)

    async def finish_turns() -> None:
        nonlocal holding
        while (taken := await turns.get()) is not None:
            message, future = taken
            if future is not None:
                await guarded(state, message, finished(future, message))
                if future is holding:
                    holding = None
                    start_turns()
            await state.mark_processed(message.topic, message.partition, message.offset)

    finisher = loop.create_task(finish_turns())
    try:
        async for event in stream.events():
            if finisher.done():
                finisher.result()  # raises what stopped it
            message = event.message
            await state.ensure_restored(message.partition)
            restored = state.in_snapshot(message.topic, message.partition, message.offset)
            waiting.append((message, restored))
            start_turns()
            while len(waiting) >= WAITING_AT_MOST:
                room.clear()
                await room.wait()
    except Exception as exc:
        state.agent_crashed(_agent_of(stream), exc)
        raise
    finally:
        # What the model thread took is finished (its predictions sent, its offset marked):
        # else a batch learned here would be redelivered, found learned, and never answered
        # for. What it did not take yet is redelivered to the partition's next owner.
        waiting.clear()
        turns.put_nowait(None)
        try:
            await asyncio.wait_for(asyncio.shield(finisher), FINISH_AT_EXIT_S)
        finally:
            finisher.cancel()


async def guarded(state: WorkerState, message: Message, work: Awaitable[None]) -> None:
    """Await the message's `work`; a DecodeError it raises sets the message aside with its
    reason, and so does any other error, logged. Never raises: setting aside does not."""
    try:
        await work
    except DecodeError as exc:
        set_aside(state, message, exc.reason, UNDECODABLE)
    except Exception as exc:  # a bug or a bad record must not stop the partition
        log.exception(
            "message_failed", topic=message.topic, partition=message.partition,
            offset=message.offset,
        )  # fmt: skip
        set_aside(state, message, f"processing failed: {described(exc)}", FAILED)


def set_aside(state: WorkerState, message: Message, reason: str, cause: str) -> None:
    """`cause`: the reason's kind, one of `pts.streams.metrics`'s, for /metrics."""
    stem = message.topic.removeprefix(f"{state.settings.topic_prefix}.")
    state.metrics.dead_lettered(stem, cause)
    state.dead_letters.set_aside(
        message.topic, message.partition, message.offset, message.key, message.value, reason
    )


def _agent_of(stream: faust.StreamT) -> str:
    """The topic an agent's stream reads, to name the agent on /health."""
    topics = getattr(stream.channel, "topics", None)
    return ",".join(topics) if topics else str(stream.channel)
