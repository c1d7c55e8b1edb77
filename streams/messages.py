"""Each message of a stream: restore its partition's models first if this worker was just
given it, skip what the restored snapshot already holds, decode it, hand it to the agent's
handler, and set aside to the dead-letter topic, with the reason, whatever does not decode or
fails; the stream goes on."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import faust
from faust.types.tuples import Message

from pts.core.errors import DecodeError
from pts.core.logs import get_logger
from pts.streams.app import WorkerState

Handler = Callable[[dict[str, Any], Message], Awaitable[None]]
RawHandler = Callable[[bytes | None, Message], Awaitable[None]]
log = get_logger(__name__)


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
    async for event in stream.events():
        message = event.message
        await state.ensure_restored(message.partition)
        if state.in_snapshot(message.topic, message.partition, message.offset):
            await state.mark_processed(message.topic, message.partition, message.offset)
            continue  # learned before the snapshot this partition was restored from
        try:
            await handle(message.value, message)
        except DecodeError as exc:
            set_aside(state, message, exc.reason)
        except Exception as exc:  # a bug or a bad record must not stop the partition
            log.exception(
                "message_failed",
                topic=message.topic,
                partition=message.partition,
                offset=message.offset,
            )
            set_aside(state, message, f"processing failed: {exc!r}")
        await state.mark_processed(message.topic, message.partition, message.offset)


def set_aside(state: WorkerState, message: Message, reason: str) -> None:
    state.dead_letters.set_aside(
        message.topic, message.partition, message.offset, message.key, message.value, reason
    )
