"""A directory of JUnit XML reports, one subdirectory per build.

    history/
      0001-abc123/          a build; builds replay in sorted order of their directory names,
        TEST-*.xml          so name them so that they sort chronologically (e.g. zero-padded)
        reports/more.xml    every *.xml file below the build directory is read, sorted by path
        changes.csv         optional: path,added,deleted (one row per changed file)

The build id and commit are the directory name. Reports are read at test-case level with
`pts.client.junit_reports.parse_report`; a test id that appears in several reports of a build is
kept as it comes (the replay sums its durations, and it fails if any occurrence failed). There
are no build times: builds get stand-in times one minute apart, in replay order.
"""

from __future__ import annotations

from pathlib import Path

from pts.core.errors import DatasetError, ReportError
from pts.core.events import Build, ChangedFile, TestResult
from pts.evaluation.history import Cycle, History
from pts.evaluation.importers._common import number, open_rows, placeholder_time, project_name

CHANGES = "changes.csv"


def load_junit_history(directory: Path) -> History:
    """The history of the builds under `directory`, in sorted order of their names."""
    from pts.client.junit_reports import parse_report

    directory = Path(directory)
    builds = sorted(p for p in directory.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not builds:
        raise DatasetError(f"{directory}: no build subdirectory")
    name = directory.resolve().name
    project = project_name(name)
    cycles = []
    for index, build_dir in enumerate(builds):
        results: list[TestResult] = []
        for report in sorted(build_dir.rglob("*.xml")):
            try:
                results += parse_report(report, level="case")
            except ReportError as e:
                raise DatasetError(str(e)) from e
        build = Build(
            project=project,
            build_id=build_dir.name,
            commit_sha=build_dir.name,
            started_at=placeholder_time(index),
            changed_files=_changes(build_dir / CHANGES),
        )
        cycles.append(Cycle(build, results))
    return History(name=name, project=project, cycles=cycles)


def _changes(path: Path) -> tuple[ChangedFile, ...]:
    if not path.is_file():
        return ()
    return tuple(
        ChangedFile(
            row["path"].strip(),
            int(number(path, line, "added", row["added"], int)),
            int(number(path, line, "deleted", row["deleted"], int)),
        )
        for line, row in open_rows(path, ("path", "added", "deleted"))
        if row["path"].strip()
    )
