"""Builds: remember what each build changes, before its subset request and its results."""

from __future__ import annotations

import faust

import schemas
from pts.errors import DecodeError
from pts.events import Build
from streams.app import WorkerState
from streams.dead_letters import set_aside


def register(
    app: faust.App, builds: faust.TopicT, dead_letters: faust.TopicT, state: WorkerState
) -> None:
    @app.agent(builds, name="builds")
    async def observe_builds(stream: faust.StreamT) -> None:
        async for event in stream.events():
            try:
                _, record = schemas.decode(event.message.value, expected="Build")
                await state.run_model(state.selector.observe_build, Build.from_record(record))
            except DecodeError as exc:
                await set_aside(dead_letters, event, exc.reason)
            await state.mark_processed(
                event.message.topic, event.message.partition, event.message.offset
            )
