"""Test results: for each result of a batch, predict first, then learn (progressive validation)."""

from __future__ import annotations

from typing import Any

import faust
from faust.types.tuples import Message

from pts.events import TestResultBatch
from pts.logs import get_logger
from streams.app import WorkerState
from streams.messages import consume

log = get_logger(__name__)


def register(
    app: faust.App, results: faust.TopicT, dead_letters: faust.TopicT, state: WorkerState
) -> None:
    async def learn(record: dict[str, Any], message: Message) -> None:
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

    @app.agent(results, name="test-results")
    async def learn_results(stream: faust.StreamT) -> None:
        await consume(stream, "TestResultBatch", learn, dead_letters, state)
