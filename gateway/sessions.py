"""Test sessions and subset ids that carry what they stand for, so that any gateway replica
can serve any call without shared state.

A Launchable test session is a build, flavors and observation mode: its id is that, encoded
(URL-safe base64 of compact JSON), which the CLI keeps in `.launchable` and sends back in
later paths and bodies. A subset's id names where its answer lies on the subset-responses
topic (partition and offset), the Launchable runner profile that asked (to print it back as
test paths), and the session.

>>> sid = session_id(TestSession("b1", {"os": "linux"}, observation=True))
>>> parse_session_id(sid)
TestSession(build='b1', flavors={'os': 'linux'}, observation=True)
>>> parse_subset_id(subset_id(SubsetRef(2, 41, "go-test", sid))) == SubsetRef(2, 41, "go-test", sid)
True
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, field
from typing import Any

from pts.core.errors import PtsError
from pts.core.flavors import parse_flavors
from pts.gateway.errors import BadInput

MAX_ID_CHARS = 2048


class UnknownId(PtsError):
    """A session or subset id that this gateway did not issue: answered 404."""


@dataclass(frozen=True, slots=True)
class TestSession:
    __test__ = False

    build: str
    flavors: dict[str, str] = field(default_factory=dict)
    observation: bool = False

    @property
    def flavor(self) -> str:
        """The canonical flavor key pts records under (`pts.core.flavors`)."""
        return parse_flavors([f"{key}={value}" for key, value in sorted(self.flavors.items())])


def session_id(session: TestSession) -> str:
    record: dict[str, object] = {"b": session.build}
    if session.flavors:
        record["f"] = dict(sorted(session.flavors.items()))
    if session.observation:
        record["o"] = 1
    return "s" + _encode(record)


def parse_session_id(text: str) -> TestSession:
    record = _decode(text, "s", "test session")
    build, flavors = record.get("b"), record.get("f", {})
    if not isinstance(build, str) or not isinstance(flavors, dict):
        raise UnknownId(f"test session {text[:40]!r} was not issued by this gateway")
    return TestSession(build, {str(k): str(v) for k, v in flavors.items()}, bool(record.get("o")))


@dataclass(frozen=True, slots=True)
class SubsetRef:
    """Where a subset's answer lies: the first message of it on subset-responses."""

    partition: int
    offset: int
    runner: str
    session: str


_SUBSET_ID = re.compile(r"^(\d{1,6})\.(\d{1,19})\.([A-Za-z0-9_-]{1,40})\.(s[A-Za-z0-9_-]+)$")


def subset_id(ref: SubsetRef) -> str:
    return f"{ref.partition}.{ref.offset}.{ref.runner}.{ref.session}"


def parse_subset_id(text: str) -> SubsetRef:
    found = _SUBSET_ID.match(text.removeprefix("subset/"))
    if found is None:
        raise UnknownId(f"subset {text[:40]!r} was not issued by this gateway")
    return SubsetRef(int(found[1]), int(found[2]), found[3], found[4])


def _encode(record: dict[str, object]) -> str:
    raw = json.dumps(record, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(text: str, prefix: str, what: str) -> dict[str, object]:
    unknown = UnknownId(f"{what} {text[:40]!r} was not issued by this gateway")
    if not text.startswith(prefix) or len(text) > MAX_ID_CHARS:
        raise unknown
    body = text[len(prefix) :]
    try:
        record = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except (binascii.Error, ValueError):
        raise unknown from None
    if not isinstance(record, dict):
        raise unknown
    return record


def flavors_of(raw: Any) -> dict[str, str]:
    """Flavors as the CLI sends them: {"k": "v"}, or [["k", "v"], ...] from older ones."""
    if raw in (None, [], {}):
        return {}
    if isinstance(raw, dict):
        return {str(k): str(v) for k, v in raw.items()}
    if isinstance(raw, list) and all(isinstance(p, list | tuple) and len(p) == 2 for p in raw):
        return {str(k): str(v) for k, v in raw}
    raise BadInput(f"flavors must be an object of key: value, not {raw!r:.80}")
