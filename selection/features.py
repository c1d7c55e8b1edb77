"""Features of (test, build): what history says about the test and how the change relates to it.

Every feature is a float in a small range, so a linear model can weigh them without tuning.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from pts.core.events import Build
from pts.selection.history import ProjectHistory
from pts.selection.paths import (
    file_location,
    is_test_file,
    jaccard,
    name_tokens,
    subject_of,
    test_location,
    topic_directories,
)

FEATURE_NAMES = (
    "never_run",
    "test_changed",
    "subject_changed",
    "name_similarity",
    "directory_similarity",
    "co_failure",
    "last_failed",
    "failure_recency",
    "failure_rate",
    "posterior",
    "failures_log",
    "flakiness",
    "runs_log",
    "age_log",
    "duration_log",
    "change_files_log",
    "change_lines_log",
    "new_files_share",
)


@dataclass(frozen=True, slots=True)
class ChangeView:
    """A build's change, prepared once for all of its candidates."""

    stems: frozenset[str]  # of every changed file
    stem_tokens: tuple[frozenset[str], ...]
    directories: tuple[frozenset[str], ...]  # stem_tokens, directories: of code, not tests
    paths: tuple[str, ...]
    files_log: float
    lines_log: float
    new_files_share: float


def view_change(build: Build | None, history: ProjectHistory) -> ChangeView:
    files = build.changed_files if build is not None else ()
    locations = [file_location(f.path) for f in files]
    code = [loc for f, loc in zip(files, locations, strict=True) if not is_test_file(f.path)]
    new_files = sum(1 for f in files if f.path not in history.file_changes)
    return ChangeView(
        stems=frozenset(loc.stem for loc in locations),
        stem_tokens=tuple(name_tokens(loc.stem) for loc in code),
        directories=tuple(topic_directories(loc.directories) for loc in code),
        paths=tuple(f.path for f in files),
        files_log=math.log1p(len(files)) / 5,
        lines_log=math.log1p(sum(f.added + f.deleted for f in files)) / 10,
        new_files_share=new_files / len(files) if files else 0.0,
    )


def features(test_id: str, change: ChangeView, history: ProjectHistory) -> dict[str, float]:
    """The feature dict of one candidate test for one build (River's dict-in convention)."""
    location = test_location(test_id)
    subject = subject_of(location.stem)
    subject_tokens = name_tokens(subject)
    test_dirs = topic_directories(location.directories)
    stats = history.tests.get(test_id)
    now = history.builds_learned

    x = {
        "never_run": 0.0 if stats is not None else 1.0,
        "test_changed": float(location.stem in change.stems),
        "subject_changed": float(subject != location.stem and subject in change.stems),
        "name_similarity": max(
            (jaccard(subject_tokens, t) for t in change.stem_tokens), default=0.0
        ),
        "directory_similarity": max(
            (jaccard(test_dirs, d) for d in change.directories), default=0.0
        ),
        "co_failure": _co_failure(test_id, change, history),
        "change_files_log": change.files_log,
        "change_lines_log": change.lines_log,
        "new_files_share": change.new_files_share,
    }
    if stats is None:
        x.update(
            last_failed=0.0,
            failure_recency=0.0,
            failure_rate=0.0,
            posterior=history.base_rate,
            failures_log=0.0,
            flakiness=0.0,
            runs_log=0.0,
            age_log=0.0,
            duration_log=math.log1p(history.typical_duration()) / 5,
        )
        return x
    x.update(
        last_failed=float(stats.last_failed),
        failure_recency=1.0 / (now - stats.last_failure) if stats.last_failure >= 0 else 0.0,
        failure_rate=stats.failure_rate,
        posterior=stats.posterior(history.base_rate),
        failures_log=math.log1p(stats.failures) / 5,
        flakiness=stats.transitions / stats.runs,
        runs_log=math.log1p(stats.runs) / 10,
        age_log=math.log1p(now - stats.first_seen) / 10,
        duration_log=math.log1p(stats.duration_s) / 5,
    )
    return x


def _co_failure(test_id: str, change: ChangeView, history: ProjectHistory) -> float:
    """The highest share of a changed file's past changes in which this test failed."""
    best = 0.0
    for path in change.paths:
        failed_with = history.co_failures.get(path)
        if failed_with and test_id in failed_with:
            changes = history.file_changes.get(path, 0)
            best = max(best, failed_with[test_id] / (changes + 1))
    return best
