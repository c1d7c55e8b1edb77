"""Features of (test, build): what history says about the test and how the change relates to it.

Every feature is a float in a small range, so a linear model can weigh them without tuning.

`never_run` (the name is the one the learner was first fed) is 1 for a test that is new in this
build (`history.is_new`): one the project never saw as a candidate or in a result. A new test's
`posterior` is the project's learned chance of a new test (`ProjectHistory.new_test_chance`, by
whether the change touched its file); a known test that never ran (a candidate not chosen, a
test only ever skipped) has no evidence of its own: 0 on every history feature but its age, the
base rate as its posterior, and the typical duration.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

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


# The order of a feature row, and of a feature dict: the order River's learner was first fed
# (its dot product sums in this order, so learned weights stay what they were).
COLUMNS = (
    "never_run",
    "test_changed",
    "subject_changed",
    "name_similarity",
    "directory_similarity",
    "co_failure",
    "change_files_log",
    "change_lines_log",
    "new_files_share",
    "last_failed",
    "failure_recency",
    "failure_rate",
    "posterior",
    "failures_log",
    "flakiness",
    "runs_log",
    "age_log",
    "duration_log",
)
COLUMN = {name: i for i, name in enumerate(COLUMNS)}


@dataclass(frozen=True, slots=True)
class TestName:
    """What a test's id says about it, parsed once: its stem, subject and topic directories."""

    __test__ = False

    stem: str
    subject: str  # the stem without its test affixes
    subject_tokens: frozenset[str]
    directories: frozenset[str]


@lru_cache(maxsize=1 << 17)
def test_name(test_id: str) -> TestName:
    location = test_location(test_id)
    subject = subject_of(location.stem)
    return TestName(
        location.stem, subject, name_tokens(subject), topic_directories(location.directories)
    )


def features(
    test_id: str, change: ChangeView, history: ProjectHistory, build_id: str = ""
) -> dict[str, float]:
    """The feature dict of one candidate test for one build (River's dict-in convention)."""
    return dict(zip(COLUMNS, feature_values([test_id], change, history, build_id), strict=True))


def feature_values(
    test_ids: Sequence[str], change: ChangeView, history: ProjectHistory, build_id: str = ""
) -> list[float]:
    """The features of each test for build `build_id`, row after row (each in `COLUMNS` order)
    in one flat list. Many tests share a name's tokens or directories, so each similarity is
    computed once per distinct value; the values go into one flat list, not a list per test,
    which would leave the garbage collector tens of thousands of new containers to scan at
    every large request."""
    stems = change.stems
    code_tokens, code_directories = change.stem_tokens, change.directories
    co_failure = _co_failures(change, history)
    # A test that shares no word (no directory) with any changed code file is 0 on that score.
    any_code_token = frozenset().union(*code_tokens)
    any_code_directory = frozenset().union(*code_directories)
    by_tokens: dict[frozenset[str], float] = {}
    by_directories: dict[frozenset[str], float] = {}
    shared = files_log, lines_log, new_files_share = (
        change.files_log,
        change.lines_log,
        change.new_files_share,
    )
    tests = history.tests
    now = history.builds_learned
    base = history.base_rate
    typical: float | None = None  # `typical_log`, when a test needs it
    new_chance: tuple[float, float] | None = None  # of a new test: not changed, changed
    log1p = math.log1p
    values: list[float] = []
    add = values.extend
    for test_id in test_ids:
        name = test_name(test_id)
        tokens, directories = name.subject_tokens, name.directories
        similar = by_tokens.get(tokens)
        if similar is None:
            similar = by_tokens[tokens] = (
                max(jaccard(tokens, t) for t in code_tokens)
                if not tokens.isdisjoint(any_code_token)
                else 0.0
            )
        near = by_directories.get(directories)
        if near is None:
            near = by_directories[directories] = (
                max(jaccard(directories, d) for d in code_directories)
                if not directories.isdisjoint(any_code_directory)
                else 0.0
            )
        stats = tests.get(test_id)
        test_changed = float(name.stem in stems)
        subject_changed = float(name.subject != name.stem and name.subject in stems)
        co = co_failure.get(test_id, 0.0) if co_failure else 0.0
        if stats is None or (build_id and stats.named_in == build_id):  # `is_new`, inline
            if new_chance is None:
                new_chance = (history.new_test_chance(False), history.new_test_chance(True))
                typical = typical_log(history) if typical is None else typical
            add(
                (1.0, test_changed, subject_changed, similar, near, co, *shared,
                 0.0, 0.0, 0.0, new_chance[test_changed > 0], 0.0, 0.0, 0.0, 0.0, typical)
            )  # fmt: skip
        elif stats.runs == 0:  # known, never ran: no evidence of its own
            if typical is None:
                typical = typical_log(history)
            add(
                (0.0, test_changed, subject_changed, similar, near, co, *shared,
                 0.0, 0.0, 0.0, stats.posterior(base), 0.0, 0.0, 0.0,
                 log1p(now - stats.first_seen) / 10, typical)
            )  # fmt: skip
        else:
            runs = stats.runs
            add(
                (
                    0.0,
                    test_changed,
                    subject_changed,
                    similar,
                    near,
                    co,
                    files_log,
                    lines_log,
                    new_files_share,
                    float(stats.last_failed),
                    1.0 / (now - stats.last_failure) if stats.last_failure >= 0 else 0.0,
                    stats.failure_rate,
                    stats.posterior(base),
                    log1p(stats.failures) / 5,
                    stats.transitions / runs,
                    log1p(runs) / 10,
                    log1p(now - stats.first_seen) / 10,
                    log1p(stats.duration_s) / 5,
                )
            )
    return values


def typical_log(history: ProjectHistory) -> float:
    """`duration_log` of a test that never ran: the project's typical duration."""
    return math.log1p(history.typical_duration()) / 5


def _co_failures(change: ChangeView, history: ProjectHistory) -> dict[str, float]:
    """Per test, the highest share of a changed file's past changes in which it failed."""
    best: dict[str, float] = {}
    for path in change.paths:
        failed_with = history.co_failures.get(path)
        if not failed_with:
            continue
        changes = history.file_changes.get(path, 0) + 1
        for test_id, failed in failed_with.items():
            share = failed / changes
            if share > best.get(test_id, 0.0):
                best[test_id] = share
    return best
