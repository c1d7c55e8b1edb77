"""PTS_KAFKA_CONFIG's security settings translated for faust: pure logic, no broker."""

from __future__ import annotations

import ssl
from pathlib import Path

import faust
import pytest

from pts.core.errors import ConfigError
from pts.streams.kafka_security import broker_credentials


def test_plaintext_and_tuning_settings_need_no_credentials() -> None:
    assert broker_credentials({}) is None
    assert broker_credentials({"security.protocol": "plaintext", "linger.ms": "5"}) is None


def test_sasl_ssl_carries_the_login_and_a_verifying_tls_context() -> None:
    credentials = broker_credentials(
        {
            "security.protocol": "SASL_SSL",
            "sasl.mechanisms": "SCRAM-SHA-512",
            "sasl.username": "ci",
            "sasl.password": "s3cret",
        }
    )
    assert isinstance(credentials, faust.SASLCredentials)
    assert credentials.protocol.value == "SASL_SSL"
    assert credentials.mechanism.value == "SCRAM-SHA-512"
    assert (credentials.username, credentials.password) == ("ci", "s3cret")
    assert credentials.ssl_context.verify_mode == ssl.CERT_REQUIRED
    assert credentials.ssl_context.check_hostname


def test_ssl_without_verification_when_asked() -> None:
    credentials = broker_credentials(
        {"security.protocol": "SSL", "enable.ssl.certificate.verification": "false"}
    )
    assert isinstance(credentials, faust.SSLCredentials)
    assert credentials.context.verify_mode == ssl.CERT_NONE


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            {"security.protocol": "SASL_PLAINTEXT", "sasl.username": "ci", "sasl.password": "x"},
            "sasl.mechanism='GSSAPI' is not supported",
        ),  # librdkafka's default mechanism
        (
            {
                "security.protocol": "SASL_PLAINTEXT",
                "sasl.mechanism": "PLAIN",
                "sasl.username": "ci",
            },
            "SASL PLAIN needs sasl.password",
        ),
        ({"security.protocol": "TLS"}, "security.protocol='TLS' is not one of"),
        ({"sasl.oauthbearer.config": "x"}, "sasl.oauthbearer.config cannot be passed"),
    ],
)
def test_settings_the_worker_cannot_honour_are_refused(config: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        broker_credentials(config)


def test_missing_tls_files_are_named(tmp_path: Path) -> None:
    missing = tmp_path / "ca.pem"
    with pytest.raises(ConfigError, match="cannot load the TLS files"):
        broker_credentials({"security.protocol": "SSL", "ssl.ca.location": str(missing)})
