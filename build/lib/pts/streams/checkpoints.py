"""Model state on local disk, with the offsets it reflects, so a restart loses nothing.

A checkpoint is a pickle of the selector and of the last offset processed per
(topic, partition). On start the worker rewinds its consumer group to just after those
offsets and replays: batches already learned are recognised by their key and skipped.
"""

from __future__ import annotations

import os
import pickle
from dataclasses import dataclass, field
from pathlib import Path

from pts.selection.selector import Selector

CHECKPOINT_FILE = "selector.pkl"


@dataclass
class Checkpoint:
    selector: Selector
    offsets: dict[tuple[str, int], int] = field(default_factory=dict)


def save(directory: Path, checkpoint: Checkpoint) -> Path:
    """Write atomically: a crash mid-write leaves the previous checkpoint intact."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / CHECKPOINT_FILE
    tmp = path.with_suffix(".tmp")
    with tmp.open("wb") as out:
        pickle.dump(checkpoint, out, protocol=pickle.HIGHEST_PROTOCOL)
        out.flush()
        os.fsync(out.fileno())
    tmp.replace(path)
    return path


def load(directory: Path) -> Checkpoint | None:
    path = directory / CHECKPOINT_FILE
    if not path.exists():
        return None
    with path.open("rb") as src:
        return pickle.load(src)
