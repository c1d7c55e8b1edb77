"""Test results: for each batch, predict first, then learn (progressive validation); what was
predicted goes to the predictions topic, so the model's quality becomes history, and a change of
a project's champion goes to the champion-decisions topic."""

from __future__ import annotations

from typing import Any

import faust
from faust.types.tuples import Message

from pts.core import wire
from pts.core.events import ChampionDecision, TestResultBatch
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
    champion_decisions = topic_name(state.settings, "champion-decisions")
    record_predictions = state.settings.record_predictions

    def learn_and_encode(batch: TestResultBatch) -> tuple[bytes | None, list[ChampionDecision]]:
        # On the model thread. None when the batch was learned before (a redelivery); empty
        # when predictions are not recorded.
        if not record_predictions:
            encoded = b"" if state.selector.learn(batch) else None
        else:
            predicted = state.selector.learn_and_predict(batch)
            encoded = None if predicted is None else wire.encode(
                "PredictionBatch", predicted.to_record()
            )  # fmt: skip
        return encoded, state.selector.take_decisions(batch.project)

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
        predicted, decisions = await state.run_model(learn_and_encode, batch)
        state.changed(batch.project, message.partition)
        if predicted:
            # What the model said before it learned: the history of its quality.
            state.producer.produce(predictions, batch.project.encode(), predicted)
        for decision in decisions:
            state.producer.produce(
                champion_decisions,
                decision.project.encode(),
                wire.encode("ChampionDecision", decision.to_record()),
            )
            log.info(
                "champion_changed", project=decision.project, metric=decision.metric,
                previous=decision.previous, champion=decision.champion,
                record=decision.records[decision.champion], scored=decision.scored,
            )  # fmt: skip
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
