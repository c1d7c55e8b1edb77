"""The running ROC AUC of a project's predictions (progressive validation), over a window.

River's `ROCAUC` estimates the curve at 10 fixed thresholds between 0 and 1; failure
probabilities sit far below 0.1, so it reported 0.66 for predictions whose exact AUC was 0.84.
`RollingROCAUC` is exact over its window, and as fast. Over the last 10,000 results it says
how good the model is now, not averaged over its whole life.

>>> auc = RunningAUC(window=4)
>>> for failed, chance in [(True, 0.9), (False, 0.1), (False, 0.3), (True, 0.2)]:
...     auc.update(failed, chance)
>>> auc.get()  # of the 4 (failed, passed) pairs, 3 rank the failure higher
0.75
>>> for _ in range(4):
...     auc.update(False, 0.5)
>>> auc.get() is None  # no failure left in the window: nothing to rank
True
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from itertools import islice

from river import metrics

WINDOW = 10_000


class RunningAUC:
    _unread = 0  # updates since River last took its buffer (a default for older checkpoints)

    def __init__(self, window: int = WINDOW) -> None:
        self._metric = metrics.RollingROCAUC(window_size=window)
        self._labels: deque[bool] = deque(maxlen=window)
        self._failures = 0
        self._unread = 0

    def update(self, failed: bool, chance: float) -> None:
        self.update_many((failed,), (chance,))

    def update_many(self, failed: Iterable[bool], chances: Iterable[float]) -> None:
        """Count each (failed, chance) in turn."""
        failed, chances = list(failed), list(chances)
        if len(chances) != len(failed):
            raise ValueError(f"{len(failed)} outcomes but {len(chances)} chances")
        labels = self._labels
        kept = len(labels)
        dropped = kept + len(failed) - labels.maxlen  # the oldest labels the window lets go
        if dropped >= kept:
            self._failures = sum(failed[-labels.maxlen :])
        elif dropped > 0:
            self._failures += sum(failed) - sum(islice(labels, dropped))
        else:
            self._failures += sum(failed)
        labels.extend(failed)
        deque(map(self._metric.update, failed, chances), maxlen=0)
        # River (0.26) buffers updates in Python until the metric is read, and nothing reads
        # it unless /health is asked: read it once a window, so memory and checkpoints stay
        # bounded by the window, not by the project's whole history.
        self._unread += len(failed)
        if self._unread >= len(labels):
            self._metric.get()
            self._unread = 0

    def get(self) -> float | None:
        """ROC AUC over the window; None unless it holds both a failure and a pass."""
        if self._failures == 0 or self._failures == len(self._labels):
            return None
        return float(self._metric.get())
