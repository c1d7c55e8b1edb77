"""Replaying a CI history (a dataset) into the topics, cycle by cycle, as CI would record it."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

from pts.client.junit_reports import slice_results
from pts.client.publisher import EventPublisher, batches_of
from pts.core.events import TestResultBatch
from pts.core.logs import get_logger
from pts.core.settings import Settings
from pts.evaluation.history import History
from pts.evaluation.importers import project_name

log = get_logger(__name__)
PROGRESS_EVERY_S = 2.0


def default_project(history: History) -> str:
    """The project a replay publishes to without `--project`, whatever the history's format."""
    return project_name(history.name)


def replay(
    settings: Settings,
    history: History,
    project: str | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> int:
    """Publish every cycle's build, then its results; returns the number of cycles published.
    `on_progress(done, total)` hears of each cycle handed to the producer."""
    project = project or default_project(history)
    publisher = EventPublisher(settings)
    started = last_report = time.monotonic()
    for done, cycle in enumerate(history.cycles, 1):
        build = replace(cycle.build, project=project)
        batches: list[TestResultBatch] = batches_of(
            project, build.build_id, "history", slice_results(list(cycle.results))
        )
        publisher.publish(build=build, batches=batches)
        if on_progress is not None:
            on_progress(done, len(history.cycles))
        if time.monotonic() - last_report > PROGRESS_EVERY_S or done == len(history.cycles):
            publisher.flush()
            last_report = time.monotonic()
            log.info(
                "replay_progress",
                project=project,
                cycles=done,
                of=len(history.cycles),
                seconds=round(last_report - started, 1),
            )
    return len(history.cycles)
