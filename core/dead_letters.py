"""The one dead-letter path: a message that cannot be used is set aside on `pts.dead-letters`,
with where it was (topic, partition, offset) and why, and the stream goes on. The worker's
agents and the history loader both set aside through here; `pts dead-letters` reads them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pts.core import wire
from pts.core.bounded import bounded, bounded_bytes, described
from pts.core.kafka import CheckedProducer
from pts.core.logs import get_logger
from pts.core.settings import Settings
from pts.core.topics import topic_name

log = get_logger(__name__)
# A letter always fits its topic (the broker's default 1 MB): a larger message is cut, and the
# letter says where the whole one is.
MAX_LETTER_BYTES = 512 * 1024
MAX_KEY_BYTES = 1024
MAX_REASON_CHARS = 2_000


class DeadLetters:
    """Sets messages aside on the dead-letter topic through a `CheckedProducer`. Setting aside
    never raises: a letter that cannot be written is tried again without the message (it
    names where the message is), then counted (`unwritten`), logged once, and shown on
    /health."""

    def __init__(self, settings: Settings, producer: CheckedProducer) -> None:
        self.topic = topic_name(settings, "dead-letters")
        self._producer = producer
        self.unwritten = 0
        self.unwritten_since: datetime | None = None
        self.unwritten_error: str | None = None

    def set_aside(
        self,
        topic: str,
        partition: int,
        offset: int,
        key: bytes | None,
        value: bytes | None,
        reason: str,
    ) -> bool:
        """Produce the letter (without waiting for it: `confirm` does); False when even a
        letter without the message could not be queued."""
        where = f"{topic}[{partition}]@{offset}"
        reason = bounded(reason, MAX_REASON_CHARS)
        if value is not None and len(value) > MAX_LETTER_BYTES:
            reason = (
                f"{reason} (value cut from {len(value)} to {MAX_LETTER_BYTES} bytes; the whole "
                f"message is at {where})"
            )
            value = bounded_bytes(value, MAX_LETTER_BYTES)
        if key is not None:
            key = bounded_bytes(key, MAX_KEY_BYTES)
        log.warning(
            "message_dead_lettered", topic=topic, partition=partition, offset=offset, reason=reason
        )
        error = ""
        for attempt in (value, None):
            try:
                letter = wire.dead_letter(topic, partition, offset, key, attempt, reason)
                self._producer.produce(self.topic, key, letter)
                return True
            except Exception as exc:  # too large, a full queue, a topic the broker refuses
                error = described(exc)
                reason = bounded(
                    f"{reason} (the message could not travel in the letter: {error}; it is at "
                    f"{where})",
                    MAX_REASON_CHARS * 2,
                )
        self.not_written(1, error)
        return False

    def not_written(self, letters: int, error: str) -> None:
        """Letters that did not reach the topic (refused here, or not delivered)."""
        if not self.unwritten:
            self.unwritten_since = datetime.now(UTC)
            log.error("dead_letters_not_written", letters=letters, topic=self.topic, error=error)
        self.unwritten += letters
        self.unwritten_error = bounded(error)

    def count_undelivered(self) -> None:
        """Count the letters the broker did not take since the last call."""
        failures = self._producer.take_failures()
        if failures:
            self.not_written(len(failures), failures[0])

    def health(self) -> dict[str, Any] | None:
        """For /health: None while every letter was written."""
        if not self.unwritten:
            return None
        return {
            "unwritten": self.unwritten,
            "since": self.unwritten_since.isoformat() if self.unwritten_since else None,
            "error": self.unwritten_error,
        }

    def confirm(self, timeout_s: float | None = None) -> None:
        """Wait until every letter set aside has landed; raises BrokerUnavailable if not."""
        self._producer.flush(timeout_s)
