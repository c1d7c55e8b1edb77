"""Signed checkpoints: what verifies is loaded; anything else is refused before it is read."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest

from pts.core.errors import ConfigError
from pts.core.settings import Settings
from pts.selection.selector import Selector
from pts.streams import checkpoints
from pts.streams.checkpoints import CHECKPOINT_FILE, Checkpoint, checkpoint_key

KEY = b"k" * 32


def test_a_saved_checkpoint_loads(tmp_path: Path) -> None:
    checkpoints.save(tmp_path, Checkpoint(Selector(), {("pts.builds", 0): 7}), KEY)
    loaded = checkpoints.load(tmp_path, KEY)
    assert loaded is not None and loaded.offsets == {("pts.builds", 0): 7}


def test_no_checkpoint_is_none(tmp_path: Path) -> None:
    assert checkpoints.load(tmp_path, KEY) is None


class RunsACommand:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # what a planted pickle does when it is loaded
        return (os.system, (f"touch {self.marker}",))


def test_a_planted_pickle_is_refused_and_never_run(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    (tmp_path / CHECKPOINT_FILE).write_bytes(pickle.dumps(RunsACommand(marker)))
    with pytest.raises(ConfigError, match="not a signed pts checkpoint"):
        checkpoints.load(tmp_path, KEY)
    assert not marker.exists()


def test_a_pickle_signed_with_another_key_is_refused_and_never_run(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    checkpoints.save(tmp_path, RunsACommand(marker), b"x" * 32)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="does not verify"):
        checkpoints.load(tmp_path, KEY)
    assert not marker.exists()


@pytest.mark.parametrize("cut", [0, 5, 40, -10])
def test_empty_and_truncated_files_are_one_line_errors(tmp_path: Path, cut: int) -> None:
    path = checkpoints.save(tmp_path, Checkpoint(Selector()), KEY)
    path.write_bytes(path.read_bytes()[:cut])
    with pytest.raises(ConfigError) as refused:
        checkpoints.load(tmp_path, KEY)
    message = str(refused.value)
    assert "\n" not in message and "rebuild the models from the topics" in message


def test_the_key_is_the_setting_or_a_private_file(tmp_path: Path) -> None:
    assert checkpoint_key(Settings(data_dir=tmp_path, checkpoint_key="s3cret")) == b"s3cret"
    first = checkpoint_key(Settings(data_dir=tmp_path))
    assert first == checkpoint_key(Settings(data_dir=tmp_path)) and len(first) == 64
    assert (tmp_path / "checkpoint.key").stat().st_mode & 0o077 == 0
