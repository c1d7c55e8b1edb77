"""confluent-kafka clients configured from the settings, and a producer that checks delivery."""

from __future__ import annotations

import concurrent.futures
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from confluent_kafka import KafkaError, KafkaException, Message, Producer
from confluent_kafka.admin import AdminClient
from tenacity import retry, retry_if_exception, stop_after_delay, wait_exponential

from pts.core.errors import BrokerUnavailable
from pts.core.logs import get_logger
from pts.core.settings import Settings

log = get_logger(__name__)
MAX_MESSAGE_BYTES = 8 * 1024 * 1024  # the large topics' limit: a 5,000-result batch fits


class _LibrdkafkaLogs(logging.Handler):
    """librdkafka's own log lines, as structlog debug events instead of raw stderr lines."""

    def emit(self, record: logging.LogRecord) -> None:
        log.debug("kafka_client_log", message=record.getMessage(), level_name=record.levelname)


_librdkafka_logger = logging.getLogger("pts.librdkafka")
_librdkafka_logger.addHandler(_LibrdkafkaLogs())
_librdkafka_logger.propagate = False
_librdkafka_logger.setLevel(logging.DEBUG)

# librdkafka reports a refused login only to error_cb, served by the client's poll(): the call
# that failed says "transport failure" or "all brokers down", and the report may come a moment
# after it.
REFUSAL_WAIT_S = 2.0
"""How long a failure waits for librdkafka's reports when PTS_KAFKA_CONFIG asks for SASL."""
FIRST_SLICE_S = 0.5
UNANSWERED = {KafkaError._TRANSPORT, KafkaError._ALL_BROKERS_DOWN, KafkaError._TIMED_OUT}
"""The errors of a call that did not reach the cluster: asked again, within the caller's bound."""
T = TypeVar("T")


class Polled(Protocol):
    """A confluent-kafka client (admin, producer, or consumer without an assignment): its
    poll() serves error_cb."""

    def poll(self, timeout: float = ..., /) -> object: ...


@dataclass
class _ClientReports:
    """What error_cb heard in this process: how many reports, and a refused login's reason."""

    count: int = 0
    refusal: str | None = None


_heard = _ClientReports()


def _on_client_error(err: KafkaError) -> None:
    _heard.count += 1
    if err.code() == KafkaError._AUTHENTICATION:
        _heard.refusal = err.str()
    log.debug("kafka_client_error", code=err.name(), reason=err.str())


def _asks_for_sasl(settings: Settings) -> bool:
    return str(settings.kafka_config.get("security.protocol", "")).lower().startswith("sasl")


def _hear_reports(settings: Settings, client: Polled) -> None:
    """Serve the client's error reports; with SASL asked for and none heard yet, wait for one
    (at most REFUSAL_WAIT_S). librdkafka reports a refused login before the other reports of
    the same failure, so the first one heard tells whether the credentials were the cause."""
    client.poll(0)
    if not _asks_for_sasl(settings):
        return
    deadline = time.monotonic() + REFUSAL_WAIT_S
    while _heard.refusal is None and _heard.count == 0 and time.monotonic() < deadline:
        client.poll(0.05)
    client.poll(0)  # the rest of the same failure's reports


# What librdkafka reports when the listener speaks no SASL at all (an empty mechanism list).
_NO_SASL = re.compile(r"supported mechanisms:\s*(\(|$)")


def unreachable(settings: Settings, detail: str, client: Polled | None = None) -> BrokerUnavailable:
    """The error for a cluster that did not answer, naming refused credentials as the cause
    when librdkafka saw them; `client`, the one whose call failed, is asked for its reports
    first (the one place that turns a failure to reach Kafka into a message)."""
    if client is not None:
        _hear_reports(settings, client)
    where = f"Kafka at {settings.kafka_bootstrap}"
    refusal = _heard.refusal
    if refusal is not None and _NO_SASL.search(refusal):
        return BrokerUnavailable(
            f"{where} does not offer SASL on this listener, while PTS_KAFKA_CONFIG asks for "
            f"security.protocol={settings.kafka_config.get('security.protocol')}"
        )
    if refusal is not None:
        return BrokerUnavailable(f"{where} refused the credentials in PTS_KAFKA_CONFIG: {refusal}")
    return BrokerUnavailable(f"{where} {detail}")


def ask_cluster(
    settings: Settings,
    client: Polled,
    call: Callable[[float], T],
    timeout_s: float,
    what: str = "did not answer",
) -> T:
    """`call(timeout)`, a blocking request of `client` (metadata, offsets), answered within
    `timeout_s` in all. librdkafka holds such a call for its whole timeout when the login is
    refused, so it is asked in growing slices (0.5 s, 1 s, 2 s, ...) and given up as soon as
    a refusal is heard. Raises `unreachable`'s error when no slice was answered.
    """
    deadline = time.monotonic() + timeout_s
    slice_s = FIRST_SLICE_S
    while True:
        left = deadline - time.monotonic()
        try:
            return call(max(min(slice_s, left), 0.01))
        except KafkaException as exc:
            error = exc.args[0] if exc.args else None
            code = error.code() if isinstance(error, KafkaError) else None
            reason = error.str() if isinstance(error, KafkaError) else str(exc)
            if code not in UNANSWERED:  # an answer, though not the one hoped for
                raise unreachable(settings, f"{what}: {reason}") from exc
            client.poll(0)
            if _heard.refusal is not None or left <= slice_s:
                raise unreachable(settings, f"{what}: {reason}", client) from exc
        slice_s *= 2


# A new or restarted broker answers these until its group coordinator has loaded, and a new
# topic's partitions until their leader is known.
NOT_READY_YET = {
    KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
    KafkaError.COORDINATOR_NOT_AVAILABLE,
    KafkaError.NOT_COORDINATOR,
    KafkaError.LEADER_NOT_AVAILABLE,
    KafkaError.NOT_LEADER_FOR_PARTITION,
    KafkaError.UNKNOWN_TOPIC_OR_PART,
    KafkaError._UNKNOWN_PARTITION,
    KafkaError._TIMED_OUT,
}


def _retriable(exc: BaseException) -> bool:
    if isinstance(exc, concurrent.futures.TimeoutError):  # an admin future not answered yet
        return True
    if not isinstance(exc, KafkaException) or not exc.args:
        return False
    error = exc.args[0]
    if not isinstance(error, KafkaError):
        return False
    return bool(error.retriable()) or error.code() in NOT_READY_YET


retry_broker_call = retry(
    retry=retry_if_exception(_retriable),
    stop=stop_after_delay(30),
    wait=wait_exponential(multiplier=0.1, max=2),
    reraise=True,
)
"""The one retry policy for a call to the broker that a new or busy broker may not answer at
once (group calls, watermarks, offsets): up to 30 s, backing off from 0.1 s to 2 s."""


def client_config(settings: Settings, **overrides: Any) -> dict[str, Any]:
    """Bootstrap, then the user's pass-through librdkafka settings, then our overrides.

    Client errors surface as pts errors; librdkafka's log lines go to the debug log.
    """
    return {
        "bootstrap.servers": settings.kafka_bootstrap,
        "logger": _librdkafka_logger,
        "error_cb": _on_client_error,
        **settings.kafka_config,
        **overrides,
    }


def admin_client(settings: Settings) -> AdminClient:
    return AdminClient(client_config(settings))


def refused_credentials(settings: Settings, timeout_s: float = 3.0) -> BrokerUnavailable | None:
    """The cluster's refusal of the credentials in PTS_KAFKA_CONFIG, asked for at most
    `timeout_s`; None when none are configured, or the cluster takes them or does not answer.
    """
    if not _asks_for_sasl(settings):
        return None
    admin = admin_client(settings)
    try:
        ask_cluster(settings, admin, lambda timeout: admin.list_topics(timeout=timeout), timeout_s)
    except BrokerUnavailable as exc:
        return exc if _heard.refusal is not None else None
    return None


class CheckedProducer:
    """The one producer of pts (the CLI, the worker and the history loader): it counts
    deliveries and delivery failures, so a caller can tell whether all landed.

    Keys are hashed with murmur2, as Java clients do, so that events keyed by project
    land in the same partition number whichever client wrote them.
    """

    def __init__(self, settings: Settings, timeout_s: float | None = None) -> None:
        timeout_ms = int(1000 * (timeout_s or settings.record_timeout_s))
        self.timeout_s = timeout_ms / 1000
        self.settings = settings
        self._producer = Producer(
            client_config(
                settings,
                **{
                    "partitioner": "murmur2_random",
                    "enable.idempotence": True,
                    "message.timeout.ms": timeout_ms,
                    "socket.connection.setup.timeout.ms": max(timeout_ms, 1000),  # its minimum
                    "compression.type": "zstd",
                    "linger.ms": 5,
                    # The topic's max.message.bytes decides; this local cap leaves room for headers.
                    "message.max.bytes": MAX_MESSAGE_BYTES + 64 * 1024,
                },
            )
        )
        self.delivered = 0
        self.failures: list[str] = []
        self._topics: set[str] = set()

    def _on_delivery(self, err: KafkaError | None, msg: Message) -> None:
        if err is not None:
            self.failures.append(f"{msg.topic()}: {err.str()}")
            return
        self.delivered += 1

    def produce(
        self, topic: str, key: str | bytes | None, value: bytes, partition: int | None = None
    ) -> None:
        """Queue one message; `partition` overrides the key's partition."""
        self._topics.add(topic)
        where = {} if partition is None else {"partition": partition}
        while True:
            try:
                self._producer.produce(
                    topic, key=key, value=value, on_delivery=self._on_delivery, **where
                )
                break
            except BufferError:
                self._producer.poll(0.1)
        self._producer.poll(0)

    def take_failures(self) -> list[str]:
        """The delivery failures since the last call (served first), and forget them."""
        self._producer.poll(0)
        failures, self.failures = self.failures, []
        return failures

    def flush(self, timeout_s: float | None = None) -> None:
        """Wait for every delivery; raise BrokerUnavailable if any message did not land (the
        failures are then forgotten, so the producer can be used again)."""
        timeout_s = self.timeout_s if timeout_s is None else timeout_s
        remaining = self._flush(timeout_s)
        if remaining or self.failures:
            failures = self.take_failures()
            missing = [] if _heard.refusal is not None else self._missing_topics()
            if missing:
                raise BrokerUnavailable(
                    f"Kafka at {self.settings.kafka_bootstrap} has no topic {', '.join(missing)}:"
                    " create the topics once with `pts topics`"
                )
            reason = failures[0] if failures else f"{remaining} undelivered"
            raise unreachable(
                self.settings,
                f"did not take the events within {timeout_s:g} s ({reason})",
                self._producer,
            )

    def _flush(self, timeout_s: float) -> int:
        """librdkafka's flush in growing slices (0.5 s, 1 s, ...), given up once the cluster
        refused the credentials: it would hold the messages for their whole timeout."""
        deadline = time.monotonic() + timeout_s
        slice_s = FIRST_SLICE_S
        while True:
            left = deadline - time.monotonic()
            remaining: int = self._producer.flush(max(min(slice_s, left), 0))
            if not remaining or _heard.refusal is not None or left <= slice_s:
                return remaining
            slice_s *= 2

    def _missing_topics(self) -> list[str]:
        """The topics written to that the cluster does not have (auto-creation is off)."""
        try:
            known = self._producer.list_topics(timeout=1).topics  # brief: the error waits on it
        except KafkaException:
            return []  # no answer at all: the broker is the problem, not the topics
        return sorted(topic for topic in self._topics if topic not in known)
