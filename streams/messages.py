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
log = get_logger(__name__)


async def consume(
    stream: faust.StreamT,
    schema: str,
    handle: Handler,
    state: WorkerState,
) -> None:
    async for event in stream.events():
        message = event.message
        await state.ensure_restored(message.partition)
        if state.in_snapshot(message.topic, message.partition, message.offset):
            await state.mark_processed(message.topic, message.partition, message.offset)
            continue  # learned before the snapshot this partition was restored from
        try:
            record = await state.decode(message.value, schema)
        except DecodeError as exc:
            set_aside(state, message, exc.reason)
        else:
            try:
                await handle(record, message)
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
