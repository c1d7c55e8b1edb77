"""Sealed model state: one project's selector, pickled, compressed and signed, so that what a
worker restores from the snapshot topic (`snapshots.py`) cannot run code.

A sealed state is a marker, an HMAC-SHA256 of the payload under the checkpoint key, then the
payload (a zlib-compressed pickle). A state that does not verify is refused before anything in
it is read, so a planted record cannot run code, and a truncated or corrupt one is a one-line
error saying how to rebuild. Even a state that verifies (signed with a key that leaked) is
unpickled by `_StateUnpickler`, which builds nothing but the classes a selector is made of, so
it cannot call a function such as `os.system` either. The key is PTS_CHECKPOINT_KEY (the same
on every worker of a group), or else a random key kept in `PTS_DATA_DIR/checkpoint.key` (one
worker only); either must be a good secret (`pts.core.secrets`).

A partition's offsets marker is signed with the same key (`sign_offsets`), over its topic,
partition and offsets, so that a marker cannot be forged, nor copied to another partition.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import os
import pickle
import secrets
import zlib
from typing import Any

from pts.core.errors import ConfigError
from pts.core.secrets import HOW_TO_MAKE, refuse_weak_secret
from pts.core.settings import Settings

KEY_FILE = "checkpoint.key"
MARKER = b"PTS-STATE-2\n"
OFFSETS_MARKER = b"PTS-OFFSETS-1\n"  # a signed offsets marker: this, then its HMAC
_DIGEST = hashlib.sha256().digest_size
_LEVEL = 1  # zlib's fastest: River's state shrinks about 3 times, at a fraction of pickling's cost


# What a pts state is made of (found by pickling selectors of every model kind and scorer:
# tests/streams/test_checkpoints.py checks they all unpickle). By exact name:
_ALLOWED_NAMES = frozenset(
    {("builtins", name) for name in (
        "dict", "list", "tuple", "set", "frozenset", "int", "float", "complex", "bool", "str",
        "bytes", "bytearray",
    )}
    | {("collections", name) for name in ("OrderedDict", "defaultdict", "deque", "Counter")}
    | {("datetime", name) for name in ("datetime", "date", "time", "timedelta", "timezone")}
    | {("functools", "partial"), ("random", "Random")}
    # a number computed with numpy that a state keeps: scalars only, never arrays
    | {("numpy", "dtype"), ("numpy._core.multiarray", "scalar")}
    | {("numpy.core.multiarray", "scalar")}  # numpy 1
)  # fmt: skip
# And any class defined in these modules (a class only: no function of theirs can be called).
_ALLOWED_PACKAGES = (
    "pts.selection.", "pts.core.events.",
    "river.forest.", "river.tree.", "river.drift.", "river.metrics.", "river.proba.",
    "river.stats.", "river._river_rust.",
)  # fmt: skip


class StateRefused(ConfigError):
    """A sealed state that does not verify or does not unpickle."""


def checkpoint_key(settings: Settings) -> bytes:
    """The key states are signed with: the setting, or the data directory's own (refused when
    it is empty or short: `pts.core.secrets`; the setting is checked when a process starts)."""
    if settings.checkpoint_key is not None:
        return settings.checkpoint_key.get_secret_value().encode()
    path = settings.data_dir / KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as out:
            out.write(secrets.token_hex(32))
    key = path.read_text().strip()
    refuse_weak_secret(
        f"the checkpoint key file {path}",
        key,
        f"write one with `{HOW_TO_MAKE} > {path}`, or set PTS_CHECKPOINT_KEY (snapshots signed "
        "with the old key are then refused: rebuild the models)",
    )
    return key.encode()


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
        state = _StateUnpickler(io.BytesIO(zlib.decompress(payload)), what).load()
    except StateRefused:
        raise
    except Exception as exc:
        raise _refused(what, f"is corrupt ({type(exc).__name__})") from None
    if not isinstance(state, expected):
        raise _refused(what, f"does not hold a {expected.__name__}")
    return state


class _StateUnpickler(pickle.Unpickler):
    """Unpickles only what a pts state is made of (`_ALLOWED_NAMES`, `_ALLOWED_PACKAGES`);
    anything else is refused before it is called."""

    def __init__(self, file: io.BytesIO, what: str) -> None:
        super().__init__(file)
        self.what = what

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED_NAMES:
            return super().find_class(module, name)
        if "." not in name and (module + ".").startswith(_ALLOWED_PACKAGES):
            found = super().find_class(module, name)
            if isinstance(found, type) and found.__module__ == module:
                return found
        raise _refused(self.what, f"holds {module}.{name}, which is not part of a pts state")


def sign_offsets(key: bytes, topic: str, partition: int, offsets: dict[str, int]) -> bytes:
    """What a marker's `state` holds: its offsets, signed for this topic and partition."""
    return OFFSETS_MARKER + _offsets_digest(key, topic, partition, offsets)


def verify_offsets(
    signed: bytes, key: bytes, topic: str, partition: int, offsets: dict[str, int], what: str
) -> None:
    """StateRefused (naming `what`) unless `signed` is `sign_offsets` of the same arguments."""
    if not signed.startswith(OFFSETS_MARKER):
        raise _refused(what, "is not signed (forged, or written before pts signed its markers)")
    expected = _offsets_digest(key, topic, partition, offsets)
    if not hmac.compare_digest(signed[len(OFFSETS_MARKER) :], expected):
        raise _refused(
            what,
            "does not verify under the checkpoint key (forged, altered, copied from another "
            "partition, or written by a worker with another PTS_CHECKPOINT_KEY)",
        )


def _offsets_digest(key: bytes, topic: str, partition: int, offsets: dict[str, int]) -> bytes:
    canonical = json.dumps(
        ["pts-offsets-marker-1", topic, partition, sorted(offsets.items())],
        separators=(",", ":"),
    )
    return hmac.digest(key, canonical.encode(), "sha256")


def _refused(what: str, why: str) -> StateRefused:
    return StateRefused(f"{what} {why}; it was not loaded")
