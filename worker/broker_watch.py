"""Whether the broker answers, as the worker sees it: checked on a timer, logged once when it
goes away and once when it is back (not at every failed try), and shown on `/health`.
Two checks in a row must fail before it counts as away: one slow answer on a busy machine is
no outage."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from confluent_kafka import KafkaException

from pts.core.kafka import admin_client
from pts.core.logs import get_logger
from pts.core.settings import Settings
from pts.core.topics import topic_name

log = get_logger(__name__)

CHECK_EVERY_S = 5.0
FAILED_CHECKS_TO_BE_AWAY = 2
# No check finished for this long: the watch itself is stuck, and its answer is stale.
OVERDUE_AFTER_S = 4 * CHECK_EVERY_S


class BrokerWatch:
    """One metadata request per check; `reachable` flips only on a change of answer."""

    def __init__(self, settings: Settings, timeout_s: float = CHECK_EVERY_S * 0.8) -> None:
        """`timeout_s`: how long a check waits, shorter than the timer so checks never overlap."""
        self.bootstrap = settings.kafka_bootstrap
        self.timeout_s = timeout_s
        self._topic = topic_name(settings, "builds")
        self._admin = admin_client(settings)
        self.reachable = True
        self.error: str | None = None
        self.since = datetime.now(UTC)
        self._lost_at: float | None = None
        self.failed_checks = 0
        self._checked_at = time.monotonic()  # when the last check finished (or the watch began)

    def check(self) -> bool:
        """Ask the broker for one topic's metadata; blocking (run it in an executor)."""
        try:
            self._admin.list_topics(topic=self._topic, timeout=self.timeout_s)
        except KafkaException as exc:
            self._went_away(exc.args[0].str() if exc.args else str(exc))
            return False
        finally:
            self._checked_at = time.monotonic()
        self._answered()
        return True

    @property
    def overdue_s(self) -> float | None:
        """How long since the last check finished, when that is longer than it should be."""
        since = time.monotonic() - self._checked_at
        return since if since > OVERDUE_AFTER_S else None

    @property
    def healthy(self) -> bool:
        return self.reachable and self.overdue_s is None

    def as_dict(self) -> dict[str, Any]:
        overdue_s = self.overdue_s
        state = "reachable" if self.reachable else "unreachable"
        return {
            "state": "overdue" if overdue_s is not None else state,
            "error": self.error,
            "since": self.since.isoformat(),
            **({"last_check_s_ago": round(overdue_s, 1)} if overdue_s is not None else {}),
        }

    def _went_away(self, error: str) -> None:
        self.failed_checks += 1
        if not self.reachable or self.failed_checks < FAILED_CHECKS_TO_BE_AWAY:
            return
        self.reachable, self.error, self.since = False, error, datetime.now(UTC)
        self._lost_at = time.monotonic()
        log.warning("broker_unreachable", bootstrap=self.bootstrap, error=error)

    def _answered(self) -> None:
        if self.reachable:
            self.failed_checks = 0
            return
        away_s = time.monotonic() - self._lost_at if self._lost_at is not None else None
        log.warning(
            "broker_reachable_again",
            bootstrap=self.bootstrap,
            away_s=round(away_s, 1) if away_s is not None else None,
            failed_checks=self.failed_checks,
        )
        self.reachable, self.error, self.since = True, None, datetime.now(UTC)
        self.failed_checks = 0
