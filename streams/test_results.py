"""Test results: for each batch, predict first, then learn (progressive validation); what was
predicted goes to the predictions topic, so the model's quality becomes history, and a change of
a project's champion goes to the champion-decisions topic. The model thread decodes and learns
a batch while the event loop sends what the one before it produced (`consume_in_turn`)."""

from __future__ import annotations

from dataclasses import dataclass, field

import faust
from faust.types.tuples import Message

from pts.core import wire
from pts.core.events import ChampionDecision, ResultColumns, TestResultBatch
from pts.core.go_packages import PackagesOf
from pts.core.logs import get_logger
from pts.core.topics import topic_name
from pts.streams.app import BUILD_WAIT_S, WorkerState
from pts.streams.messages import consume_in_turn

log = get_logger(__name__)


@dataclass(slots=True)
class _Learned:
    """What one model-thread call did with a message of results."""

    batch: TestResultBatch
    learned: bool = False  # False: learned before (a redelivery), or its build is awaited
    awaits_build: bool = False
    predictions: bytes = b""  # encoded, when predictions are recorded
    decisions: list[ChampionDecision] = field(default_factory=list)
    go_packages: list[PackagesOf] = field(default_factory=list)  # elements that gained one


def register(
    app: faust.App,
    results: faust.TopicT,
    state: WorkerState,
) -> None:
    predictions = topic_name(state.settings, "predictions")
    champion_decisions = topic_name(state.settings, "champion-decisions")
    record_predictions = state.settings.record_predictions
    selector = state.selector

    def decode_and_learn(value: bytes | None) -> _Learned:
        # On the model thread, so that a message costs one hand-off: decode, then learn
        # unless its build has not been seen yet. Raises DecodeError.
        _, record = wire.decode(value, expected="TestResultBatch")
        batch = TestResultBatch.from_record(record)
        if not selector.knows_build(batch.project, batch.build_id):
            return _Learned(batch, awaits_build=True)
        return learn(batch)

    def learn(batch: TestResultBatch) -> _Learned:
        # On the model thread.
        if not record_predictions:
            done = _Learned(batch, learned=selector.learn(batch))
        else:
            predicted = selector.learn_and_predict(batch)
            done = _Learned(batch, learned=predicted is not None)
            if predicted is not None:
                done.predictions = wire.encode("PredictionBatch", predicted.to_record())
        done.decisions = selector.take_decisions(batch.project)
        test_ids = ResultColumns.of(batch.results).test_ids
        done.go_packages = state.go_packages.learn(batch.project, test_ids)
        return done

    async def finish(done: _Learned, message: Message) -> None:
        # On the event loop, while the model thread takes the next message.
        batch = done.batch
        if done.awaits_build:
            # The build may still be in flight on its own topic: let it land first.
            await state.catch_up(
                message.partition, ("builds",), timeout_s=BUILD_WAIT_S,
                or_until=lambda: selector.knows_build(batch.project, batch.build_id),
            )  # fmt: skip
            if not selector.knows_build(batch.project, batch.build_id):
                log.warning(
                    "results_of_unrecorded_build", project=batch.project,
                    build=batch.build_id, report=batch.report,
                    hint="record the build first: pts record build",
                )  # fmt: skip
            done = await state.run_model(learn, batch)
        state.changed(batch.project, message.partition)
        state.publish_go_packages(done.go_packages)
        if done.predictions:
            # What the model said before it learned: the history of its quality.
            state.producer.produce(predictions, batch.project.encode(), done.predictions)
        for decision in done.decisions:
            state.producer.produce(
                champion_decisions,
                decision.project.encode(),
                wire.encode("ChampionDecision", decision.to_record()),
            )
            state.metrics.champion_changed(decision.project)
            log.info(
                "champion_changed", project=decision.project, metric=decision.metric,
                previous=decision.previous, champion=decision.champion,
                record=decision.records[decision.champion], scored=decision.scored,
            )  # fmt: skip
        if done.learned:
            state.metrics.learned(batch.project, batch.results)
        log.info(
            "results_learned" if done.learned else "results_already_learned",
            project=batch.project,
            build=batch.build_id,
            report=batch.report,
            results=len(batch.results),
            partition=message.partition,
            offset=message.offset,
        )

    @app.agent(results, name="test-results")
    async def learn_results(stream: faust.StreamT) -> None:
        await consume_in_turn(
            stream, state, decode_and_learn, finish, holds=lambda done: done.awaits_build
        )
