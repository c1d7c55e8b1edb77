"""Messages that do not decode or cannot be processed go to the dead-letter topic, with why."""

from __future__ import annotations

import faust

import schemas
from pts.events import utc_now
from pts.logs import get_logger

log = get_logger(__name__)


async def set_aside(dead_letters: faust.TopicT, event: faust.EventT, reason: str) -> None:
    message = event.message
    log.warning(
        "message_dead_lettered",
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        reason=reason,
    )
    record = {
        "topic": message.topic,
        "partition": message.partition,
        "offset": message.offset,
        "key": message.key,
        "value": message.value,
        "reason": reason,
        "failed_at": utc_now(),
    }
    await dead_letters.send(key=message.key, value=schemas.encode("DeadLetter", record))
