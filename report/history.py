"""Reading the report's rows from the history, the way `pts query` does: from the worker or
`pts loader` that owns the embedded chdb directory when one answers, else from chdb opened
here, or from the ClickHouse server at PTS_CLICKHOUSE_URL."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, fields

import pandas as pd

from pts.core.errors import ConfigError
from pts.core.settings import Settings
from pts.report import queries
from pts.sinks.saved_queries import saved_queries
from pts.worker.http_client import run_query


@dataclass(frozen=True)
class History:
    """The rows of every section, for one project or for all (a `project` column each)."""

    projects: list[str]
    build_weeks: pd.DataFrame
    subset_builds: pd.DataFrame
    caught: pd.DataFrame
    flaky: pd.DataFrame
    slowest: pd.DataFrame
    quality_weeks: pd.DataFrame
    calibration: pd.DataFrame
    champions: pd.DataFrame

    def of(self, project: str) -> History:
        """Only `project`'s rows."""
        frames = {
            f.name: _only(getattr(self, f.name), project)
            for f in fields(self)
            if f.name != "projects"
        }
        return History(projects=[project], **frames)


def _only(frame: pd.DataFrame, project: str) -> pd.DataFrame:
    if frame.empty:
        return frame
    return frame[frame["project"] == project].reset_index(drop=True)


SECTION_SQL = {
    "build_weeks": queries.BUILD_WEEKS,
    "subset_builds": queries.SUBSET_BUILDS,
    "caught": queries.CAUGHT,
    "flaky": queries.FLAKIEST,
    "slowest": queries.SLOWEST,
    "quality_weeks": queries.QUALITY_WEEKS,
}
SAVED = {"calibration": "model-quality", "champions": "champions"}
"""Sections that read a saved query of `pts query` as it is."""


def read_history(
    settings: Settings, project: str | None, progress: Callable[[str], None] = lambda _: None
) -> History:
    """Every section's rows of `project` (all projects when None); ConfigError when the
    history has no such project."""
    params = {"project": project or ""}
    saved = saved_queries()
    statements = {**SECTION_SQL, **{name: saved[query].sql for name, query in SAVED.items()}}
    projects = [row["project"] for row in _rows(settings, queries.PROJECTS, params)]
    if project is not None and project not in projects:
        raise ConfigError(f"the history holds no project named {project!r}")
    frames = {}
    for done, (name, sql) in enumerate(statements.items(), 1):
        progress(f"reading the history: {name.replace('_', ' ')} ({done} of {len(statements)})")
        frames[name] = pd.DataFrame(_rows(settings, sql, params))
    return History(projects=projects, **frames)


def _rows(settings: Settings, sql: str, params: dict[str, str]) -> list[dict]:
    return [json.loads(line) for line in run_query(settings, sql, params)]
