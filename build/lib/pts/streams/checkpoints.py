"""Model state on local disk, with the offsets it reflects, so a restart loses nothing.

A checkpoint is the selector and the last offset processed per (topic, partition), pickled
and signed: the file is a marker, an HMAC-SHA256 of the pickle under the checkpoint key, then
the pickle. A file that does not verify is refused before anything in it is read, so a planted
file cannot run code, and a truncated or corrupt one is a one-line error saying how to rebuild.
The key is PTS_CHECKPOINT_KEY, or else a random key kept in `PTS_DATA_DIR/checkpoint.key`.

On start the worker rewinds its consumer group to just after the checkpoint's offsets and
replays: batches already learned are recognised by their identity and skipped.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import pickle
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from pts.core.errors import ConfigError
from pts.core.settings import Settings
from pts.selection.selector import Selector

CHECKPOINT_FILE = "selector.pkl"
KEY_FILE = "checkpoint.key"
MARKER = b"PTS-CHECKPOINT-1\n"
_DIGEST = hashlib.sha256().digest_size


@dataclass
class Checkpoint:
    selector: Selector
    offsets: dict[tuple[str, int], int] = field(default_factory=dict)


def checkpoint_key(settings: Settings) -> bytes:
    """The key checkpoints are signed with: the setting, or the data directory's own."""
    if settings.checkpoint_key is not None:
        return settings.checkpoint_key.get_secret_value().encode()
    path = settings.data_dir / KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as out:
            out.write(secrets.token_hex(32))
    return path.read_text().strip().encode()


def save(directory: Path, checkpoint: Checkpoint, key: bytes) -> Path:
    """Write atomically: a crash mid-write leaves the previous checkpoint intact."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / CHECKPOINT_FILE
    tmp = path.with_suffix(".tmp")
    payload = pickle.dumps(checkpoint, protocol=pickle.HIGHEST_PROTOCOL)
    with tmp.open("wb") as out:
        out.write(MARKER + hmac.digest(key, payload, "sha256") + payload)
        out.flush()
        os.fsync(out.fileno())
    tmp.replace(path)
    return path


def load(directory: Path, key: bytes) -> Checkpoint | None:
    """The checkpoint in `directory`, or None when there is none; ConfigError when the file
    does not verify under `key` or does not hold a checkpoint."""
    path = directory / CHECKPOINT_FILE
    if not path.exists():
        return None
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise _refused(path, f"cannot be read ({exc.strerror})") from None
    header = len(MARKER) + _DIGEST
    if not data.startswith(MARKER) or len(data) < header:
        raise _refused(path, "is not a signed pts checkpoint (empty, truncated, or older)")
    signature, payload = data[len(MARKER) : header], data[header:]
    if not hmac.compare_digest(signature, hmac.digest(key, payload, "sha256")):
        raise _refused(path, "does not verify under the checkpoint key (altered or truncated)")
    try:
        checkpoint = pickle.loads(payload)  # noqa: S301 (verified above: written by us)
    except Exception as exc:
        raise _refused(path, f"is corrupt ({type(exc).__name__})") from None
    if not isinstance(checkpoint, Checkpoint):
        raise _refused(path, "does not hold a checkpoint")
    return checkpoint


def _refused(path: Path, why: str) -> ConfigError:
    return ConfigError(
        f"checkpoint {path} {why}; it was not loaded. Delete it and start the worker again to "
        "rebuild the models from the topics"
    )
