"""Subset requests: wait until the project's prior events are learned (up to the request's
catch-up time, each request on its own task), rank, and reply saying how many results the
model had not learned yet."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from datetime import timedelta
from typing import Any

import faust
from faust.types.tuples import Message

from pts.core import wire
from pts.core.collector import collector_paused
from pts.core.events import (
    FULL_RUN,
    SAFETY_NET_REASONS,
    STARVED,
    SubsetRequest,
    SubsetResponse,
    to_record,
    utc_now,
)
from pts.core.go_packages import PackagesOf
from pts.core.logs import get_logger
from pts.core.parts import PartsWaiting, join_request, split_response
from pts.core.topics import topic_name
from pts.streams.app import WorkerState
from pts.streams.messages import consume, set_aside
from pts.streams.metrics import UNANSWERABLE

# A request older than this has no one waiting for it (clients wait seconds); generous, as the
# age is read against the requesting machine's clock.
STALE_AFTER = timedelta(minutes=10)
MAX_CATCH_UP_S = 60.0  # whatever a request asks, the longest an answer waits for the model
# Answers that change the project: the candidates it now knows, the build of its last full run,
# the tests the starvation net added.
REMEMBERED = ("new", FULL_RUN, STARVED)
log = get_logger(__name__)


def register(app: faust.App, requests: faust.TopicT, state: WorkerState) -> None:
    waiting = PartsWaiting()
    in_flight: set[asyncio.Future[None]] = set()
    replies = topic_name(state.settings, "subset-responses")  # the one topic answers go to

    @collector_paused()  # `Selector.rank`'s reason, for the encoding too
    def rank_and_encode(
        request: SubsetRequest, behind: int
    ) -> tuple[SubsetResponse, list[bytes], list[PackagesOf]]:
        # On the model thread: encoding a 10,000-test answer takes tens of milliseconds.
        if request.known_tests:  # no candidate list: the project's recent tests of the flavor
            known = state.selector.known_tests(request.project, request.flavor)
            request = replace(request, candidates=tuple(known))
        response = replace(
            state.selector.rank(request), flavor=request.flavor, observe=request.observe,
            results_behind=behind, columns=request.reply_columns,
        )  # fmt: skip
        parts = split_response(response)
        payloads = [wire.encode("SubsetResponse", to_record(part)) for part in parts]
        return response, payloads, state.go_packages.learn(request.project, request.candidates)

    async def answer(record: dict[str, Any], message: Message) -> None:
        part = SubsetRequest.from_record(record)
        parts = waiting.add(part.request_id, part.part, part.parts, part)
        if parts is None:
            return  # the rest of the request is still on its way
        request = join_request(parts)
        if request.reply_topic != replies:
            reason = f"reply topic {request.reply_topic!r} is not {replies!r}"
            set_aside(state, message, reason, UNANSWERABLE)
            return
        bound = log.bind(
            project=request.project,
            build=request.build_id,
            request=request.request_id,
            partition=message.partition,
            offset=message.offset,
        )
        if utc_now() - request.requested_at > STALE_AFTER:
            bound.info("subset_request_stale_skipped")
            return
        # Waiting for the model to catch up must not hold up the requests behind this one.
        answering = asyncio.ensure_future(reply(request, message.partition, bound))
        in_flight.add(answering)
        answering.add_done_callback(in_flight.discard)

    async def reply(request: SubsetRequest, partition: int, bound: Any) -> None:
        started = time.monotonic()
        try:
            wait_s = min(max(request.catch_up_s, 0.0), MAX_CATCH_UP_S)
            caught_up = await state.catch_up(partition, timeout_s=wait_s)
            behind = 0 if caught_up else await state.results_behind(partition, request.project)
            response, payloads, packages = await state.run_model(rank_and_encode, request, behind)
            if any(test.reason in REMEMBERED for test in response.ranked):
                state.changed(request.project, partition)  # what the answer changed
            state.publish_go_packages(packages)
            for payload in payloads:
                state.producer.produce(request.reply_topic, request.request_id.encode(), payload)
        except Exception:  # a bug must not go unseen in a task nobody awaits
            bound.exception("subset_answer_failed")
            return
        seconds = time.monotonic() - started
        state.metrics.answered(request.project, seconds, behind, response.model)
        bound.info(
            "subset_answered",
            candidates=len(request.candidates),
            subset=response.subset_size,
            added_by_nets=sum(
                t.reason in SAFETY_NET_REASONS for t in response.ranked[: response.subset_size]
            ),
            parts=len(payloads),
            model=response.model,
            results_behind=behind,
        )

    @app.agent(requests, name="subset-requests")
    async def answer_requests(stream: faust.StreamT) -> None:
        await consume(stream, "SubsetRequest", answer, state)
