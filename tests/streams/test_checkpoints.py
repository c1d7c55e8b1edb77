"""Sealed model states: what verifies is restored; anything else is refused before it is read,
and even a state signed with the right key cannot call anything but the classes a selector is
made of. Offsets markers are signed for their topic and partition."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest

from pts.core.errors import ConfigError
from pts.core.settings import Settings
from pts.selection.candidates import SCORER_NAMES
from pts.selection.features import view_change
from pts.selection.selector import ProjectSelector, Selector
from pts.streams.checkpoints import (
    MARKER,
    StateRefused,
    checkpoint_key,
    seal,
    sign_offsets,
    unseal,
    verify_offsets,
)
from tests.streams.test_checkpoint_size import learn_builds

KEY = b"k" * 32
GOOD = "0123456789abcdef" * 4  # what `openssl rand -hex 32` gives


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
    assert checkpoint_key(Settings(data_dir=tmp_path, checkpoint_key=GOOD)) == GOOD.encode()
    first = checkpoint_key(Settings(data_dir=tmp_path))
    assert first == checkpoint_key(Settings(data_dir=tmp_path)) and len(first) == 64
    assert (tmp_path / "checkpoint.key").stat().st_mode & 0o077 == 0


@pytest.mark.parametrize(("content", "said"), [("", "is empty"), ("s3cret\n", "has 6 characters")])
def test_an_empty_or_short_key_file_is_refused(tmp_path: Path, content: str, said: str) -> None:
    (tmp_path / "checkpoint.key").write_text(content)
    with pytest.raises(ConfigError) as refused:
        checkpoint_key(Settings(data_dir=tmp_path))
    message = str(refused.value)
    assert "\n" not in message and message.startswith(f"the checkpoint key file {tmp_path}")
    assert said in message and "openssl rand -hex 32" in message


class Calls:
    """A pickle that calls `target(*args)` when it is loaded."""

    def __init__(self, target: object, *args: object) -> None:
        self.target, self.args = target, args

    def __reduce__(self):
        return (self.target, self.args)


def test_a_state_signed_with_the_key_still_cannot_run_a_command(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    with pytest.raises(StateRefused) as refused:
        unseal(seal(RunsACommand(marker), KEY), KEY, "snapshot of 'shop'", ProjectSelector)
    assert not marker.exists()
    message = str(refused.value)
    assert message.startswith("snapshot of 'shop' holds posix.system, which is not part of")
    assert "\n" not in message


@pytest.mark.parametrize(
    "target",
    [
        view_change,  # a function of an allowed package: only classes may be called
        ProjectSelector.rank,  # a dotted name, which reaches anything the module imported
        eval,
        pickle.loads,
    ],
    ids=["function-of-pts.selection", "dotted-name", "builtins.eval", "pickle.loads"],
)
def test_nothing_but_a_selector_s_classes_is_called(target: object) -> None:
    with pytest.raises(StateRefused, match="which is not part of a pts state"):
        unseal(seal(Calls(target, "x"), KEY), KEY, "state", ProjectSelector)


@pytest.mark.parametrize(
    "selector",
    [{"model_kind": kind} for kind in ("logistic", "forest", "tree")]
    + [{"scorer": scorer} for scorer in SCORER_NAMES],
    ids=lambda chosen: "-".join(chosen.values()),
)
def test_every_kind_of_trained_selector_unseals(selector: dict[str, str]) -> None:
    trained = Selector(**selector)  # type: ignore[arg-type]
    learn_builds(trained, 0, 300)  # builds, results, champions, calibration: all filled
    project = trained.projects["shop"]
    restored = unseal(seal(project, KEY), KEY, "state", ProjectSelector)
    assert restored.results_learned == project.results_learned
    assert pickle.dumps(restored.model) == pickle.dumps(project.model)


def test_a_signed_marker_verifies_for_its_own_topic_and_partition_only() -> None:
    offsets = {"builds": 4, "test-results": 9}
    signed = sign_offsets(KEY, "pts.model-snapshots.g", 2, offsets)
    verify_offsets(signed, KEY, "pts.model-snapshots.g", 2, dict(reversed(offsets.items())), "m")
    wrong = [
        (signed, KEY, "pts.model-snapshots.g", 3, offsets),  # copied to another partition
        (signed, KEY, "pts.model-snapshots.h", 2, offsets),  # or another group's topic
        (signed, KEY, "pts.model-snapshots.g", 2, {"builds": 4, "test-results": 10**6}),
        (signed, b"x" * 32, "pts.model-snapshots.g", 2, offsets),  # another key
    ]
    for arguments in wrong:
        with pytest.raises(StateRefused, match="^m does not verify under the checkpoint key"):
            verify_offsets(*arguments, "m")
    with pytest.raises(StateRefused, match="^m is not signed"):
        verify_offsets(b"", KEY, "pts.model-snapshots.g", 2, offsets, "m")
