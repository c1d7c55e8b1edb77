"""What a secret must be: every process that keeps one (the worker, the loader, a gateway)
calls `check_secrets` before anything else, so that afterwards a secret setting is either
unset (None) or good, and "set" means the same thing to every reader.

A secret is at least MIN_SECRET_CHARS characters: 32 hex digits are 128 random bits, out of
reach of guessing even offline, which is how the checkpoint key would be attacked (every
snapshot on the topic is an HMAC of known bytes under it, so whoever reads the topic can try
keys at leisure). Length does not prove randomness, but it refuses what is empty, typed by
hand, or left from an example; `openssl rand -hex 32` gives twice the minimum.

>>> weak_secret_reason("0123456789abcdef0123456789abcdef") is None
True
>>> weak_secret_reason("  ")
'is empty'
>>> weak_secret_reason("s3cret")
'has 6 characters'
"""

from __future__ import annotations

from pydantic import SecretStr

from pts.core.errors import ConfigError
from pts.core.settings import Settings

MIN_SECRET_CHARS = 32
HOW_TO_MAKE = "openssl rand -hex 32"


def weak_secret_reason(value: str) -> str | None:
    """Why `value` is no secret, or None when it is long enough."""
    length = len(value.strip())
    if length == 0:
        return "is empty"
    if length < MIN_SECRET_CHARS:
        return f"has {length} characters"
    return None


def refuse_weak_secret(name: str, value: str, remedy: str) -> None:
    """ConfigError naming the setting or file `name` when `value` is too short to be a secret;
    `remedy` says how to put a good one there."""
    reason = weak_secret_reason(value)
    if reason is not None:
        raise ConfigError(
            f"{name} {reason}: a secret needs at least {MIN_SECRET_CHARS} random characters; "
            f"{remedy}"
        )


def check_secrets(settings: Settings) -> None:
    """Refuse every secret setting (a SecretStr field of Settings) that is set but weak."""
    for field in type(settings).model_fields:
        value = getattr(settings, field)
        if isinstance(value, SecretStr):
            variable = f"PTS_{field.upper()}"
            refuse_weak_secret(
                variable,
                value.get_secret_value(),
                f"make one with `{HOW_TO_MAKE}`, or unset {variable}",
            )
