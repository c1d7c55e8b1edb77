"""RunningAUC counts a batch at a time what it would count one result at a time."""

from __future__ import annotations

import random

import pytest
from river import metrics

from pts.selection.running_auc import RunningAUC


@pytest.mark.parametrize("batch", [1, 7, 30, 64])
def test_batches_across_the_window_give_the_auc_of_the_window(batch: int) -> None:
    rng = random.Random(batch)
    failed = [rng.random() < 0.2 for _ in range(300)]
    chances = [rng.random() for _ in failed]
    running, river = RunningAUC(window=50), metrics.RollingROCAUC(window_size=50)
    for start in range(0, len(failed), batch):
        end = min(start + batch, len(failed))
        running.update_many(failed[start:end], chances[start:end])
        for fail, chance in zip(failed[start:end], chances[start:end], strict=True):
            river.update(fail, chance)
        window = failed[max(0, end - 50) : end]
        assert running._failures == sum(window)
        assert running.get() == (river.get() if 0 < sum(window) < len(window) else None)


def test_a_window_of_one_kind_has_no_auc() -> None:
    running = RunningAUC(window=10)
    running.update_many([True] * 3 + [False] * 20, [0.5] * 23)
    assert running.get() is None  # the 3 failures left the window
    running.update_many([True], [0.9])
    assert running.get() == 1.0


def test_outcomes_and_chances_of_different_lengths_are_refused() -> None:
    with pytest.raises(ValueError, match="2 outcomes but 1 chances"):
        RunningAUC().update_many([True, False], [0.5])
