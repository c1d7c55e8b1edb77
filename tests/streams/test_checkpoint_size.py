"""A long-lived project's checkpoint stays bounded: what grows with every result (the builds
awaiting results, the batches already learned, the AUC's predictions) is windowed, and the
rest grows with the suite (its tests and files), not with its history."""

from __future__ import annotations

from pathlib import Path

from pts.core.events import Build, ChangedFile, Outcome, TestResult, TestResultBatch
from pts.selection.running_auc import WINDOW
from pts.selection.selector import BATCHES_KEPT, BUILDS_KEPT, Selector
from pts.streams import checkpoints

TESTS = [f"suite::test_{i}" for i in range(40)]
FILES = [f"src/f{i}.py" for i in range(10)]


def learn_builds(selector: Selector, first: int, count: int) -> None:
    """`count` builds of one steady suite: two files changed, four tests run, some failing."""
    for n in range(first, first + count):
        changed = (ChangedFile(FILES[n % 10], 3, 1), ChangedFile(FILES[n * 7 % 10], 1, 0))
        selector.observe_build(Build("shop", str(n), f"c{n}", changed_files=changed))
        results = tuple(
            TestResult(TESTS[(n + i) % 40], "suite", f"test_{(n + i) % 40}",
                       Outcome.FAILED if (n + i) % 13 == 0 else Outcome.PASSED, 0.5)
            for i in range(0, 40, 10)
        )  # fmt: skip
        selector.learn_and_predict(TestResultBatch("shop", str(n), "junit.xml", results))


def checkpoint_bytes(selector: Selector, folder: Path) -> int:
    """The size of the project's snapshot state (`folder` unused: kept for the call sites)."""
    return len(checkpoints.seal(selector.projects["shop"], b"k" * 32))


def test_a_checkpoint_stops_growing_once_its_windows_are_full(tmp_path: Path) -> None:
    selector = Selector()
    # Past every window, and a whole number of AUC windows of results (4 a build), so that
    # both checkpoints are taken at the same point of River's read-buffer cycle.
    past_every_window = 25_000
    assert past_every_window > max(BUILDS_KEPT, BATCHES_KEPT, WINDOW)
    assert past_every_window * 4 % WINDOW == 0
    learn_builds(selector, 0, past_every_window)
    full = checkpoint_bytes(selector, tmp_path)
    learn_builds(selector, past_every_window, past_every_window)  # twice the history
    twice = checkpoint_bytes(selector, tmp_path)
    project = selector.projects["shop"]
    assert project.results_learned == 2 * past_every_window * 4
    assert len(project.builds) <= BUILDS_KEPT and len(project.learned_batches) <= BATCHES_KEPT
    assert len(project.auc._labels) == WINDOW and project.roc_auc is not None
    assert twice <= full * 1.02, (full, twice)
