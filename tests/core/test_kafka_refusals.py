"""Refused credentials named whenever librdkafka reports them, also a moment after the call
failed: a fake client stands in for librdkafka's error_cb and poll, no broker."""

from __future__ import annotations

import time

import pytest
from confluent_kafka import KafkaError, KafkaException

from pts.core import kafka
from pts.core.errors import BrokerUnavailable
from pts.core.kafka import ask_cluster, unreachable
from pts.core.settings import Settings

SASL = Settings(
    kafka_bootstrap="kafka:9092",
    kafka_config={"security.protocol": "SASL_SSL", "sasl.mechanism": "PLAIN"},
)
PLAIN = Settings(kafka_bootstrap="kafka:9092")
REFUSED = "SASL authentication error: Authentication failed: Invalid username or password"


class LateReports:
    """A client whose error reports reach error_cb only at its `after`-th poll."""

    def __init__(self, *reports: KafkaError, after: int = 1) -> None:
        self.reports, self.after, self.polls = list(reports), after, 0

    def poll(self, timeout: float = 0, /) -> None:
        self.polls += 1
        if self.polls >= self.after:
            while self.reports:
                kafka._on_client_error(self.reports.pop(0))


def transport_failure(timeout: float) -> None:
    raise KafkaException(KafkaError(KafkaError._TRANSPORT, "Local: Broker transport failure"))


@pytest.fixture(autouse=True)
def nothing_heard(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kafka, "_heard", kafka._ClientReports())


def test_a_refusal_reported_after_the_call_failed_is_named() -> None:
    client = LateReports(
        KafkaError(KafkaError._AUTHENTICATION, REFUSED),
        KafkaError(KafkaError._ALL_BROKERS_DOWN, "1/1 brokers are down"),
        after=5,
    )
    error = unreachable(SASL, "did not answer", client)
    assert (
        str(error) == f"Kafka at kafka:9092 refused the credentials in PTS_KAFKA_CONFIG: {REFUSED}"
    )


def test_a_refusal_ends_the_call_at_once() -> None:
    calls = []

    def call(timeout: float) -> None:
        calls.append(timeout)
        transport_failure(timeout)

    client = LateReports(KafkaError(KafkaError._AUTHENTICATION, REFUSED))
    with pytest.raises(BrokerUnavailable, match="refused the credentials in PTS_KAFKA_CONFIG"):
        ask_cluster(SASL, client, call, timeout_s=30)
    assert calls == [kafka.FIRST_SLICE_S]


def test_an_unreachable_broker_is_not_taken_for_a_refusal() -> None:
    client = LateReports(KafkaError(KafkaError._TRANSPORT, "Connect to kafka:9092 failed"))
    started = time.monotonic()
    with pytest.raises(BrokerUnavailable) as raised:
        ask_cluster(SASL, client, transport_failure, timeout_s=0.2)
    assert str(raised.value) == (
        "Kafka at kafka:9092 did not answer: Local: Broker transport failure"
    )
    assert time.monotonic() - started < kafka.REFUSAL_WAIT_S  # its report ended the wait


def test_without_sasl_a_failure_waits_for_no_report() -> None:
    started = time.monotonic()
    error = unreachable(PLAIN, "did not answer", LateReports())
    assert str(error) == "Kafka at kafka:9092 did not answer"
    assert time.monotonic() - started < 0.5


def test_the_calls_answer_once_the_cluster_answers() -> None:
    answers = iter([KafkaError._TIMED_OUT, None])

    def call(timeout: float) -> str:
        code = next(answers)
        if code is not None:
            raise KafkaException(KafkaError(code, "Local: Timed out"))
        return f"answered within {timeout:g} s"

    assert ask_cluster(SASL, LateReports(), call, timeout_s=30) == "answered within 1 s"
