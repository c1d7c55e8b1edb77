"""Sealed model states: what verifies is restored; anything else is refused before it is read."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest

from pts.core.settings import Settings
from pts.selection.selector import ProjectSelector
from pts.streams.checkpoints import MARKER, StateRefused, checkpoint_key, seal, unseal

KEY = b"k" * 32


def test_a_sealed_state_unseals() -> None:
    project = ProjectSelector("shop")
    project.results_learned = 7
    restored = unseal(seal(project, KEY), KEY, "state", ProjectSelector)
    assert restored.project == "shop" and restored.results_learned == 7


class RunsACommand:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # what a planted pickle does when it is loaded
        return (os.system, (f"touch {self.marker}",))


def test_a_planted_pickle_is_refused_and_never_run(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    with pytest.raises(StateRefused, match="not a sealed pts state"):
        unseal(pickle.dumps(RunsACommand(marker)), KEY, "state", ProjectSelector)
    assert not marker.exists()


def test_a_pickle_sealed_with_another_key_is_refused_and_never_run(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    with pytest.raises(StateRefused, match="does not verify.*PTS_CHECKPOINT_KEY"):
        unseal(seal(RunsACommand(marker), b"x" * 32), KEY, "state", ProjectSelector)
    assert not marker.exists()


def test_a_state_of_another_type_is_refused() -> None:
    with pytest.raises(StateRefused, match="does not hold a ProjectSelector"):
        unseal(seal({"not": "a selector"}, KEY), KEY, "state", ProjectSelector)


@pytest.mark.parametrize("cut", [0, 5, len(MARKER) + 10, -10])
def test_empty_and_truncated_states_are_one_line_errors(cut: int) -> None:
    sealed = seal(ProjectSelector("shop"), KEY)
    with pytest.raises(StateRefused) as refused:
        unseal(sealed[:cut], KEY, "snapshot of project 'shop'", ProjectSelector)
    message = str(refused.value)
    assert "\n" not in message and message.startswith("snapshot of project 'shop' ")


def test_the_key_is_the_setting_or_a_private_file(tmp_path: Path) -> None:
    assert checkpoint_key(Settings(data_dir=tmp_path, checkpoint_key="s3cret")) == b"s3cret"
    first = checkpoint_key(Settings(data_dir=tmp_path))
    assert first == checkpoint_key(Settings(data_dir=tmp_path)) and len(first) == 64
    assert (tmp_path / "checkpoint.key").stat().st_mode & 0o077 == 0
