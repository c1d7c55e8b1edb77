"""Builds: remember what each build changes, before its subset request and its results."""

from __future__ import annotations

from typing import Any

import faust
from faust.types.tuples import Message

from pts.core.events import Build
from pts.streams.app import WorkerState
from pts.streams.messages import consume


def register(app: faust.App, builds: faust.TopicT, state: WorkerState) -> None:
    async def observe(record: dict[str, Any], _message: Message) -> None:
        await state.run_model(state.selector.observe_build, Build.from_record(record))

    @app.agent(builds, name="builds")
    async def observe_builds(stream: faust.StreamT) -> None:
        await consume(stream, "Build", observe, state)
