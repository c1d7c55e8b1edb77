"""`pts record` and `pts subset` over HTTP(S) to a `pts gateway` (PTS_URL, PTS_TOKEN) instead
of Kafka: the same Avro messages (`pts.core.wire`), posted to the gateway's own API.

`POST /pts/v1/events` takes the messages `pts record` would publish, one after another, each
after its length (4 bytes, big-endian); `POST /pts/v1/subset` takes one SubsetRequest and
answers the whole SubsetResponse. A refusal is JSON with a `reason`, as on the Launchable
routes. Only the standard library is used: the plain install stays as it is.

>>> framed = frames([b"ab", b"c"])
>>> framed
b'\\x00\\x00\\x00\\x02ab\\x00\\x00\\x00\\x01c'
>>> unframed(framed)
[b'ab', b'c']
>>> [len(request) for request in requests_of([b"a" * 6, b"b" * 6, b"c" * 6], limit=20)]
[2, 1]
"""

from __future__ import annotations

import http.client
import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Sequence

from pts.core import wire
from pts.core.errors import ConfigError, DecodeError, PtsError
from pts.core.events import SubsetRequest, SubsetResponse
from pts.core.settings import Settings

EVENTS_PATH = "/pts/v1/events"
SUBSET_PATH = "/pts/v1/subset"
CONTENT_TYPE = "application/vnd.pts.avro"
REQUEST_BYTES = 4 * 1024 * 1024  # per request: well inside the gateway's default body limit
RETRIED = (502, 503, 504)  # the gateway cannot answer now: Kafka or the worker away
ANSWER_MARGIN_S = 10.0  # a request may wait this beyond the gateway's own bounded wait
_LENGTH = 4


class GatewayUnavailable(PtsError):
    """No gateway answers at PTS_URL, or it cannot answer now (503): as when Kafka is down."""

    exit_code = 3


class GatewayRefused(PtsError):
    """The gateway refused a request: a missing, wrong or revoked token, a token of another
    project, a message it cannot read."""

    exit_code = 2


def frames(messages: Iterable[bytes]) -> bytes:
    """The messages one after another, each after its length."""
    return b"".join(len(m).to_bytes(_LENGTH, "big") + m for m in messages)


def unframed(body: bytes) -> list[bytes]:
    """The messages of a `frames` body; ValueError when it is cut short."""
    messages, at = [], 0
    while at < len(body):
        size = int.from_bytes(body[at : at + _LENGTH], "big")
        start, at = at + _LENGTH, at + _LENGTH + size
        if at > len(body):
            raise ValueError(f"a message of {size} bytes at byte {start - _LENGTH} is cut short")
        messages.append(body[start:at])
    return messages


def requests_of(messages: Sequence[bytes], limit: int = REQUEST_BYTES) -> list[list[bytes]]:
    """The messages in order, as requests of about `limit` bytes at most (a larger message
    travels alone)."""
    requests: list[list[bytes]] = [[]]
    used = 0
    for message in messages:
        if requests[-1] and used + len(message) + _LENGTH > limit:
            requests.append([])
            used = 0
        requests[-1].append(message)
        used += len(message) + _LENGTH
    return requests if requests[0] else []


def post_events(settings: Settings, messages: Sequence[bytes]) -> int:
    """Post encoded events to the gateway, in order; returns how many it published. Retries
    while none answers, or it answers 503, for PTS_RECORD_TIMEOUT_S: then GatewayUnavailable;
    GatewayRefused for a refusal."""
    retry_until = time.monotonic() + settings.record_timeout_s
    for request in requests_of(messages):
        _post(settings, EVENTS_PATH, frames(request), "the events", retry_until,
              settings.record_timeout_s + ANSWER_MARGIN_S)  # fmt: skip
    return len(messages)


def ask_subset(settings: Settings, request: SubsetRequest, timeout_s: float) -> SubsetResponse:
    """The gateway's answer to a whole (unsplit) request, within `timeout_s`; no retry: `pts
    subset` runs every test instead."""
    body = wire.encode("SubsetRequest", request.to_record())
    answer = _post(settings, SUBSET_PATH, body, "the subset request", 0.0, timeout_s)
    try:
        _, record = wire.decode(answer, expected="SubsetResponse")
    except DecodeError as exc:
        raise GatewayUnavailable(f"the gateway's subset answer does not decode: {exc}") from None
    return SubsetResponse.from_record(record)


def gateway_of(settings: Settings) -> tuple[str, str]:
    """PTS_URL without a trailing slash, and PTS_TOKEN; ConfigError when either is unusable."""
    url = (settings.url or "").rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"PTS_URL={settings.url!r} must start with http:// or https://")
    token = settings.token.get_secret_value().strip() if settings.token is not None else ""
    if not token or any(c in token for c in "\r\n"):
        raise ConfigError(
            "PTS_URL needs PTS_TOKEN: a gateway token of the project (`pts token create "
            "--project P`)"
        )
    return url, token


def _post(
    settings: Settings, path: str, body: bytes, what: str, retry_until: float, timeout_s: float
) -> bytes:
    url, token = gateway_of(settings)
    request = urllib.request.Request(
        url + path, data=body, method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": CONTENT_TYPE},
    )  # fmt: skip
    pause = 0.25
    while True:
        try:
            with urllib.request.urlopen(request, timeout=timeout_s) as answer:
                return answer.read()
        except urllib.error.HTTPError as exc:
            reason = _reason(exc)
            if exc.code not in RETRIED:
                raise GatewayRefused(
                    f"the gateway at {url} refused {what}: {reason} (HTTP {exc.code})"
                ) from None
            failure = f"the gateway at {url} cannot take {what} now: {reason} (HTTP {exc.code})"
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            cause = exc.reason if isinstance(exc, urllib.error.URLError) else exc
            failure = f"no gateway answers at {url} (PTS_URL): {cause or type(exc).__name__}"
        if time.monotonic() + pause > retry_until:
            raise GatewayUnavailable(failure)
        time.sleep(pause)
        pause = min(pause * 2, 2.0)


def _reason(refusal: urllib.error.HTTPError) -> str:
    """The `reason` of the gateway's JSON refusal, else the HTTP reason phrase."""
    try:
        reason = json.loads(refusal.read() or b"{}").get("reason")
    except (ValueError, AttributeError, OSError):
        reason = None
    return " ".join(str(reason or refusal.reason).split())
