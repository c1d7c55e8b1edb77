"""The Apache Commons CI history format (see /work/shared/datasets/README.md).

`commons_<p>.csv` has one row per (test class, CI cycle); `cycle_id` is the tested commit.
Rows are in chronological order of cycles and a cycle's rows are contiguous. A `cycle_id` that
reappears after other cycles is taken as a new cycle (a rebuild of the same commit) whose
build id is suffixed `#2`, `#3`, ... `commons_<p>_changes.csv` next to it gives each commit's
parent, time and changed files; without it the cycles have no changes (a warning is logged).

A row's test id is `test_class_name`; it failed when `current_failures` > 0; its duration is
`time`. The dataset's precomputed history columns are ignored: the replay recomputes history.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from pts.core.errors import DatasetError
from pts.core.events import Build, ChangedFile, Outcome, TestResult
from pts.core.logs import get_logger
from pts.evaluation.history import Cycle, History
from pts.evaluation.importers._common import (
    number,
    open_rows,
    placeholder_time,
    project_name,
    timestamp,
)

log = get_logger(__name__)

RESULT_COLUMNS = ("test_class_name", "cycle_id", "current_failures", "time")
CHANGE_COLUMNS = ("sha", "parent", "committed_at", "path", "added", "deleted")


@dataclass
class _Commit:
    parent: str
    committed_at: datetime
    files: list[ChangedFile] = field(default_factory=list)


def changes_path(results: Path) -> Path:
    """`commons_<p>_changes.csv` beside `commons_<p>.csv`."""
    return results.with_name(f"{results.stem}_changes.csv")


def load_commons(path: Path) -> History:
    """The history in `commons_<p>.csv` joined with its `_changes.csv`, cycles in file order."""
    path = Path(path)
    name = path.stem
    project = project_name(name)
    commits = _read_changes(changes_path(path))
    cycles: list[Cycle] = []
    seen: dict[str, int] = {}
    current: str | None = None
    for line, row in open_rows(path, RESULT_COLUMNS):
        sha = row["cycle_id"].strip()
        if not sha:
            raise DatasetError(f"{path}:{line}: empty cycle_id")
        if sha != current:
            current = sha
            seen[sha] = seen.get(sha, 0) + 1
            build_id = sha if seen[sha] == 1 else f"{sha}#{seen[sha]}"
            if seen[sha] > 1:
                log.warning("cycle_reappears", file=str(path), line=line, cycle_id=sha)
            cycles.append(Cycle(_build(project, build_id, sha, len(cycles), commits), []))
        cycles[-1].results.append(_result(path, line, row))
    if not cycles:
        raise DatasetError(f"{path}: no test results")
    if commits is not None:
        unmatched = sum(1 for c in cycles if c.build.commit_sha not in commits)
        if unmatched:
            log.warning("cycles_without_changes", file=str(path), cycles=unmatched)
    return History(name=name, project=project, cycles=cycles)


def _result(path: Path, line: int, row: dict[str, str]) -> TestResult:
    test_id = row["test_class_name"].strip()
    if not test_id:
        raise DatasetError(f"{path}:{line}: empty test_class_name")
    failures = number(path, line, "current_failures", row["current_failures"], int)
    dotted = test_id.removesuffix(".java").replace("/", ".")
    return TestResult(
        test_id=test_id,
        suite=dotted,
        name=dotted.rsplit(".", 1)[-1],
        outcome=Outcome.FAILED if failures > 0 else Outcome.PASSED,
        duration_s=number(path, line, "time", row["time"]),
        message=f"{failures} failed test methods" if failures else "",
    )


def _build(
    project: str, build_id: str, sha: str, index: int, commits: dict[str, _Commit] | None
) -> Build:
    commit = (commits or {}).get(sha)
    if commit is None:
        return Build(project, build_id, sha, started_at=placeholder_time(index), commits=(sha,))
    return Build(
        project=project,
        build_id=build_id,
        commit_sha=sha,
        started_at=commit.committed_at,
        base_sha=commit.parent or None,
        commits=(sha,),
        changed_files=tuple(commit.files),
    )


def _read_changes(path: Path) -> dict[str, _Commit] | None:
    if not path.exists():
        log.warning("changes_file_missing", file=str(path))
        return None
    commits: dict[str, _Commit] = {}
    for line, row in open_rows(path, CHANGE_COLUMNS):
        sha = row["sha"].strip()
        if not sha:
            raise DatasetError(f"{path}:{line}: empty sha")
        commit = commits.get(sha)
        if commit is None:
            when = timestamp(path, line, "committed_at", row["committed_at"])
            commit = commits[sha] = _Commit(row["parent"].strip(), when)
        if row["path"].strip():
            commit.files.append(
                ChangedFile(
                    row["path"].strip(),
                    int(number(path, line, "added", row["added"], int)),
                    int(number(path, line, "deleted", row["deleted"], int)),
                )
            )
    return commits
