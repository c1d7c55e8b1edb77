"""The one dead-letter path: a message that cannot be used is set aside on `pts.dead-letters`,
with where it was (topic, partition, offset) and why, and the stream goes on. The worker's
agents and the history loader both set aside through here; `pts dead-letters` reads them."""

from __future__ import annotations

from pts.core import wire
from pts.core.kafka import CheckedProducer
from pts.core.logs import get_logger
from pts.core.settings import Settings
from pts.core.topics import topic_name

log = get_logger(__name__)
# A letter always fits its topic (the broker's default 1 MB): a larger message is cut, and the
# letter says where the whole one is.
MAX_LETTER_BYTES = 512 * 1024


class DeadLetters:
    """Sets messages aside on the dead-letter topic through a `CheckedProducer`."""

    def __init__(self, settings: Settings, producer: CheckedProducer) -> None:
        self.topic = topic_name(settings, "dead-letters")
        self._producer = producer

    def set_aside(
        self,
        topic: str,
        partition: int,
        offset: int,
        key: bytes | None,
        value: bytes | None,
        reason: str,
    ) -> None:
        """Produce the letter (without waiting for it: `confirm` does)."""
        if value is not None and len(value) > MAX_LETTER_BYTES:
            reason = (
                f"{reason} (value cut from {len(value)} to {MAX_LETTER_BYTES} bytes; the whole "
                f"message is at {topic}[{partition}]@{offset})"
            )
            value = value[:MAX_LETTER_BYTES]
        if key is not None and len(key) > MAX_LETTER_BYTES // 8:
            key = key[: MAX_LETTER_BYTES // 8]
        log.warning(
            "message_dead_lettered", topic=topic, partition=partition, offset=offset, reason=reason
        )
        letter = wire.dead_letter(topic, partition, offset, key, value, reason)
        self._producer.produce(self.topic, key, letter)

    def confirm(self, timeout_s: float | None = None) -> None:
        """Wait until every letter set aside has landed; raises BrokerUnavailable if not."""
        self._producer.flush(timeout_s)
