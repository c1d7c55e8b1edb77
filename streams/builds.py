"""Builds: remember what each build changes, before its subset request and its results."""

from __future__ import annotations

from typing import Any

import faust
from faust.types.tuples import Message

from pts.core.events import Build
from pts.core.logs import get_logger
from pts.streams.app import WorkerState
from pts.streams.messages import consume

log = get_logger(__name__)


def register(app: faust.App, builds: faust.TopicT, state: WorkerState) -> None:
    async def observe(record: dict[str, Any], message: Message) -> None:
        build = Build.from_record(record)
        conflict = await state.run_model(state.selector.observe_build, build)
        state.changed(build.project, message.partition)
        if conflict is not None:
            log.warning(
                "build_recorded_again", project=build.project, build=build.build_id,
                reason=conflict, partition=message.partition, offset=message.offset,
            )  # fmt: skip

    @app.agent(builds, name="builds")
    async def observe_builds(stream: faust.StreamT) -> None:
        await consume(stream, "Build", observe, state)
