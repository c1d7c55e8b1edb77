"""Test results: for each result of a batch, predict first, then learn (progressive validation)."""

from __future__ import annotations

import time

import faust

import schemas
from pts.errors import DecodeError
from pts.events import TestResultBatch
from pts.logs import get_logger
from streams.app import WorkerState
from streams.dead_letters import set_aside

CHECKPOINT_EVERY_S = 30.0
log = get_logger(__name__)


def register(
    app: faust.App, results: faust.TopicT, dead_letters: faust.TopicT, state: WorkerState
) -> None:
    @app.agent(results, name="test-results")
    async def learn_results(stream: faust.StreamT) -> None:
        async for event in stream.events():
            message = event.message
            try:
                _, record = schemas.decode(message.value, expected="TestResultBatch")
                batch = TestResultBatch.from_record(record)
                if not state.selector.knows_build(batch.project, batch.build_id):
                    # The build may still be in flight on its own topic: let it land first.
                    await state.catch_up(message.partition, ("builds",))
                learned = await state.run_model(state.selector.learn, batch)
                log.info(
                    "results_learned" if learned else "results_already_learned",
                    project=batch.project,
                    build=batch.build_id,
                    report=batch.report,
                    results=len(batch.results),
                    partition=message.partition,
                    offset=message.offset,
                )
            except DecodeError as exc:
                await set_aside(dead_letters, event, exc.reason)
            await state.mark_processed(message.topic, message.partition, message.offset)
            if time.monotonic() - state.last_checkpoint > CHECKPOINT_EVERY_S:
                await state.run_model(state.checkpoint)
