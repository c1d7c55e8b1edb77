"""Gateway tokens: what CI presents, in Launchable's format, and what is kept of it.

A token is `v1:<organization>/<workspace>:<id>.<secret>`; the workspace is the pts project.
Only the SHA-256 of the id and secret is kept, on the compacted topic `gateway-tokens` keyed
by the id, where every gateway replica reads it: whoever reads the topic learns no token. The
secret is 32 random bytes, so a plain hash is out of reach of guessing (no slow hash needed).
Revoking a token writes its record again with the time it was revoked.

>>> token, record = new_token("pts", "shop")
>>> presented = parse_token(f"Bearer {token}")
>>> (presented.organization, presented.workspace, presented.token_id == record.token_id)
('pts', 'shop', True)
>>> TokenBook({record.token_id: record}).project_of(presented)
'shop'
>>> TokenBook({record.token_id: record}).project_of(
...     parse_token(f"Bearer v1:pts/shop:{record.token_id}.not-the-secret"))
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from typing import Any

from pts.core.errors import ConfigError

PREFIX = "v1"
_WORKSPACE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_TOKEN = re.compile(
    r"^Bearer\s+[^:\s]+:(?P<org>[^/:\s]+)/(?P<ws>[^/:\s]+):(?P<id>[0-9a-f]{16})\.(?P<secret>\S+)$"
)


@dataclass(frozen=True, slots=True)
class PresentedToken:
    organization: str
    workspace: str
    token_id: str
    secret: str


@dataclass(frozen=True, slots=True)
class TokenRecord:
    """What the tokens topic keeps of a token."""

    token_id: str
    organization: str
    project: str
    secret_sha256: str
    created_at: str
    revoked_at: str | None = None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> TokenRecord:
        record: dict[str, Any] = json.loads(raw)
        return cls(**{name: record.get(name) for name in cls.__dataclass_fields__})

    def revoke(self) -> TokenRecord:
        return replace(self, revoked_at=datetime.now(UTC).isoformat())


def check_workspace(project: str) -> None:
    """A project a token can name: it is a URL path segment and a part of the token."""
    if not _WORKSPACE.match(project):
        raise ConfigError(
            f"project {project!r} cannot be a Launchable workspace: letters, digits and . _ - "
            "only (at most 128), starting with a letter or digit"
        )


def _digest(token_id: str, secret: str) -> str:
    return hashlib.sha256(f"{token_id}.{secret}".encode()).hexdigest()


def new_token(organization: str, project: str) -> tuple[str, TokenRecord]:
    """A new token for `project` (the string to give CI) and the record to keep."""
    check_workspace(project)
    check_workspace(organization)
    token_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
    record = TokenRecord(
        token_id=token_id,
        organization=organization,
        project=project,
        secret_sha256=_digest(token_id, secret),
        created_at=datetime.now(UTC).isoformat(),
    )
    return f"{PREFIX}:{organization}/{project}:{token_id}.{secret}", record


def parse_token(authorization: str | None) -> PresentedToken | None:
    """The token in an `Authorization: Bearer ...` header; None for none or a malformed one."""
    found = _TOKEN.match((authorization or "").strip())
    if found is None:
        return None
    return PresentedToken(found["org"], found["ws"], found["id"], found["secret"])


class TokenBook:
    """The tokens as the topic states them, by id."""

    def __init__(self, records: dict[str, TokenRecord] | None = None) -> None:
        self.records: dict[str, TokenRecord] = dict(records or {})

    def keep(self, record: TokenRecord) -> None:
        self.records[record.token_id] = record

    def knows(self, token_id: str) -> bool:
        return token_id in self.records

    def project_of(self, presented: PresentedToken) -> str | None:
        """The project a presented token gives access to; None for an unknown, wrong or
        revoked token, or one presented for another organization or workspace."""
        record = self.records.get(presented.token_id)
        if record is None or record.revoked:
            return None
        wanted = _digest(presented.token_id, presented.secret)
        if not hmac.compare_digest(wanted, record.secret_sha256):
            return None
        if (presented.organization, presented.workspace) != (record.organization, record.project):
            return None
        return record.project
