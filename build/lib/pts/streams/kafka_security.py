"""The security part of PTS_KAFKA_CONFIG (librdkafka names), translated for faust's aiokafka
client, so that the worker reaches the same cluster as `pts record` with the same settings.

librdkafka settings that only tune the confluent-kafka clients (batching, timeouts) have no
aiokafka twin and are left to those clients; a security setting that cannot be honoured is an
error, never silently dropped: a worker that would connect without the TLS or SASL the user
asked for must not start.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping

import faust

from pts.core.errors import ConfigError

PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
SUPPORTED = {
    "security.protocol",
    "sasl.mechanism",
    "sasl.mechanisms",
    "sasl.username",
    "sasl.password",
    "ssl.ca.location",
    "ssl.certificate.location",
    "ssl.key.location",
    "ssl.key.password",
    "ssl.endpoint.identification.algorithm",
    "enable.ssl.certificate.verification",
}


def broker_credentials(
    given: Mapping[str, str | int | float | bool],
) -> faust.auth.Credentials | None:
    """faust credentials for the librdkafka settings in `config`; None for plaintext.

    >>> broker_credentials({"linger.ms": "5"}) is None
    True
    >>> sasl = broker_credentials({"security.protocol": "SASL_PLAINTEXT",
    ...     "sasl.mechanism": "SCRAM-SHA-256", "sasl.username": "ci", "sasl.password": "s"})
    >>> sasl.protocol.value, sasl.mechanism.value, sasl.username
    ('SASL_PLAINTEXT', 'SCRAM-SHA-256', 'ci')
    """
    config = {key: _text(value) for key, value in given.items()}
    _refuse_unsupported(config)
    protocol = config.get("security.protocol", "PLAINTEXT").upper()
    if protocol not in PROTOCOLS:
        raise ConfigError(
            f"PTS_KAFKA_CONFIG: security.protocol={protocol!r} is not one of {', '.join(PROTOCOLS)}"
        )
    context = _ssl_context(config) if protocol.endswith("SSL") else None
    if protocol == "PLAINTEXT":
        return None
    if protocol == "SSL":
        return faust.SSLCredentials(context)
    mechanism = config.get("sasl.mechanism", config.get("sasl.mechanisms", "GSSAPI")).upper()
    if mechanism not in MECHANISMS:
        raise ConfigError(
            f"PTS_KAFKA_CONFIG: sasl.mechanism={mechanism!r} is not supported by the stream "
            f"worker; use one of {', '.join(MECHANISMS)}"
        )
    missing = [key for key in ("sasl.username", "sasl.password") if key not in config]
    if missing:
        raise ConfigError(f"PTS_KAFKA_CONFIG: SASL {mechanism} needs {' and '.join(missing)}")
    return faust.SASLCredentials(
        username=config["sasl.username"],
        password=config["sasl.password"],
        mechanism=mechanism,
        ssl_context=context,
    )


def _text(value: str | int | float | bool) -> str:
    """A setting as librdkafka spells it: JSON true is "true"."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def _refuse_unsupported(config: Mapping[str, str]) -> None:
    unsupported = sorted(
        key
        for key in config
        if key.startswith(("sasl.", "ssl.", "security.")) and key not in SUPPORTED
    )
    if unsupported:
        raise ConfigError(
            f"PTS_KAFKA_CONFIG: {', '.join(unsupported)} cannot be passed to the stream worker's "
            f"Kafka client (aiokafka); supported security settings: {', '.join(sorted(SUPPORTED))}"
        )


def _ssl_context(config: Mapping[str, str]) -> ssl.SSLContext:
    try:
        context = ssl.create_default_context(cafile=config.get("ssl.ca.location"))
        if "ssl.certificate.location" in config:
            context.load_cert_chain(
                config["ssl.certificate.location"],
                config.get("ssl.key.location"),
                config.get("ssl.key.password"),
            )
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"PTS_KAFKA_CONFIG: cannot load the TLS files: {exc}") from exc
    if config.get("ssl.endpoint.identification.algorithm", "https").lower() == "none":
        context.check_hostname = False
    if config.get("enable.ssl.certificate.verification", "true").lower() == "false":
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context
