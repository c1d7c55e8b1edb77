"""Sealed model state: one project's selector, pickled, compressed and signed, so that what a
worker restores from the snapshot topic (`snapshots.py`) cannot run code.

A sealed state is a marker, an HMAC-SHA256 of the payload under the checkpoint key, then the
payload (a zlib-compressed pickle). A state that does not verify is refused before anything in
it is read, so a planted record cannot run code, and a truncated or corrupt one is a one-line
error saying how to rebuild. The key is PTS_CHECKPOINT_KEY (the same on every worker of a
group), or else a random key kept in `PTS_DATA_DIR/checkpoint.key` (one worker only).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import pickle
import secrets
import zlib
from typing import Any

from pts.core.errors import ConfigError
from pts.core.settings import Settings

KEY_FILE = "checkpoint.key"
MARKER = b"PTS-STATE-2\n"
_DIGEST = hashlib.sha256().digest_size
_LEVEL = 1  # zlib's fastest: River's state shrinks about 3 times, at a fraction of pickling's cost


class StateRefused(ConfigError):
    """A sealed state that does not verify or does not unpickle."""


def checkpoint_key(settings: Settings) -> bytes:
    """The key states are signed with: the setting, or the data directory's own."""
    if settings.checkpoint_key is not None:
        return settings.checkpoint_key.get_secret_value().encode()
    path = settings.data_dir / KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as out:
            out.write(secrets.token_hex(32))
    return path.read_text().strip().encode()


def pickled(state: Any) -> bytes:
    """The part of sealing that must see the state as it is: run it where the state is owned."""
    return pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)


def seal_pickled(payload: bytes, key: bytes) -> bytes:
    """Compress and sign a pickle: any thread."""
    compressed = zlib.compress(payload, _LEVEL)
    return MARKER + hmac.digest(key, compressed, "sha256") + compressed


def seal(state: Any, key: bytes) -> bytes:
    return seal_pickled(pickled(state), key)


def unseal(data: bytes, key: bytes, what: str, expected: type) -> Any:
    """The state sealed in `data`; StateRefused (naming `what`) when it does not verify under
    `key`, is corrupt, or is not an `expected`."""
    header = len(MARKER) + _DIGEST
    if not data.startswith(MARKER) or len(data) < header:
        raise _refused(what, "is not a sealed pts state (empty, truncated, or older)")
    signature, payload = data[len(MARKER) : header], data[header:]
    if not hmac.compare_digest(signature, hmac.digest(key, payload, "sha256")):
        raise _refused(
            what,
            "does not verify under the checkpoint key (altered, or written by a worker with "
            "another PTS_CHECKPOINT_KEY: every worker of a group needs the same one)",
        )
    try:
        state = pickle.loads(zlib.decompress(payload))  # noqa: S301 (verified above: ours)
    except Exception as exc:
        raise _refused(what, f"is corrupt ({type(exc).__name__})") from None
    if not isinstance(state, expected):
        raise _refused(what, f"does not hold a {expected.__name__}")
    return state


def _refused(what: str, why: str) -> StateRefused:
    return StateRefused(f"{what} {why}; it was not loaded")
