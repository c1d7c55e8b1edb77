"""Before a worker or a loader starts, every secret setting is unset or a good secret: an empty
or short one is a one-line ConfigError saying how to make one. So "set" means one thing to the
start-up check and to the endpoints that test `token is not None`."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from pts.core.errors import ConfigError
from pts.core.secrets import MIN_SECRET_CHARS, check_secrets
from pts.core.settings import Settings
from pts.worker.startup_checks import check_http_exposure

GOOD = "0123456789abcdef" * 4  # what `openssl rand -hex 32` gives
SECRET_FIELDS = [
    name for name, field in Settings.model_fields.items() if SecretStr in getattr(
        field.annotation, "__args__", (field.annotation,)
    )
]  # fmt: skip


def test_the_secret_settings_are_found() -> None:
    assert {"worker_token", "checkpoint_key"} <= set(SECRET_FIELDS)


@pytest.mark.parametrize("field", SECRET_FIELDS)
@pytest.mark.parametrize(
    ("value", "said"),
    [("", "is empty"), ("   ", "is empty"), ("s3cret", "has 6 characters"),
     (GOOD[: MIN_SECRET_CHARS - 1], f"has {MIN_SECRET_CHARS - 1} characters")],
    ids=["empty", "blank", "short", "one-short"],
)  # fmt: skip
def test_an_empty_or_short_secret_is_refused(field: str, value: str, said: str) -> None:
    variable = f"PTS_{field.upper()}"
    with pytest.raises(ConfigError) as refused:
        check_secrets(Settings(**{field: value}))
    message = str(refused.value)
    assert "\n" not in message and (not value.strip() or value not in message)  # not shown
    assert message == (
        f"{variable} {said}: a secret needs at least {MIN_SECRET_CHARS} random characters; "
        f"make one with `openssl rand -hex 32`, or unset {variable}"
    )


def test_unset_and_good_secrets_pass() -> None:
    check_secrets(Settings())
    check_secrets(Settings(worker_token=GOOD, checkpoint_key=GOOD[:MIN_SECRET_CHARS]))


def test_an_empty_token_does_not_count_as_one_beyond_loopback() -> None:
    with pytest.raises(ConfigError, match="^PTS_WORKER_TOKEN is empty"):
        check_http_exposure(Settings(worker_http_host="0.0.0.0", worker_token=""))
    with pytest.raises(ConfigError, match="^PTS_WORKER_HTTP_HOST=0.0.0.0 serves the history"):
        check_http_exposure(Settings(worker_http_host="0.0.0.0"))
    check_http_exposure(Settings(worker_http_host="0.0.0.0", worker_token=GOOD))


def test_a_short_token_is_refused_on_loopback_too() -> None:
    with pytest.raises(ConfigError, match="^PTS_WORKER_TOKEN has 5 characters"):
        check_http_exposure(Settings(worker_token="guess"))
