"""Test results: for each result of a batch, predict first, then learn (progressive validation);
what was predicted goes to the predictions topic, so the model's quality becomes history."""

from __future__ import annotations

from typing import Any

import faust
from faust.types.tuples import Message

from pts.core import wire
from pts.core.events import TestResultBatch
from pts.core.logs import get_logger
from pts.core.topics import topic_name
from pts.streams.app import WorkerState
from pts.streams.messages import consume

log = get_logger(__name__)


def register(
    app: faust.App,
    results: faust.TopicT,
    state: WorkerState,
) -> None:
    predictions = topic_name(state.settings, "predictions")
    record_predictions = state.settings.record_predictions

    def learn_and_encode(batch: TestResultBatch) -> bytes | None:
        # On the model thread. None when the batch was learned before (a redelivery); empty
        # when predictions are not recorded.
        if not record_predictions:
            return b"" if state.selector.learn(batch) else None
        predicted = state.selector.learn_and_predict(batch)
        if predicted is None:
            return None
        return wire.encode("PredictionBatch", predicted.to_record())

    async def learn(record: dict[str, Any], message: Message) -> None:
        batch = TestResultBatch.from_record(record)
        if not state.selector.knows_build(batch.project, batch.build_id):
            # The build may still be in flight on its own topic: let it land first.
            await state.catch_up(message.partition, ("builds",))
            if not state.selector.knows_build(batch.project, batch.build_id):
                log.warning(
                    "results_of_unrecorded_build", project=batch.project,
                    build=batch.build_id, report=batch.report,
                    hint="record the build first: pts record build",
                )  # fmt: skip
        predicted = await state.run_model(learn_and_encode, batch)
        if predicted:
            # What the model said before it learned: the history of its quality.
            state.producer.produce(predictions, batch.project.encode(), predicted)
        learned = predicted is not None
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
        await consume(stream, "TestResultBatch", learn, state)
