"""Whether a build id was recorded before, with which commit: the worker keeps a build's first
recording, so `pts record build` asks the history before recording the same id again."""

from __future__ import annotations

from pts.core.errors import PtsError
from pts.core.settings import Settings

FIRST_COMMIT = (
    "SELECT commit_sha FROM builds WHERE project = {project:String} "
    "AND build_id = {build:String} LIMIT 1"
)


def recorded_commit(settings: Settings, project: str, build: str) -> str | None:
    """The commit the history holds for the build, asked of the worker's (or the loader's)
    /query; None when the build is not there yet or nothing answers in time (the history may
    lag a record made seconds ago: the worker's log then tells)."""
    from pts.worker.http_client import ask_history, worker_answering

    if worker_answering(settings) is None:
        return None  # asked within seconds: an unreachable host must not hold up CI
    try:
        rows = ask_history(settings, FIRST_COMMIT, {"project": project, "build": build})
    except PtsError:
        return None  # a history that refuses or fails must not keep a build from recording
    if not rows:
        return None
    return str(rows[0]["commit_sha"])
