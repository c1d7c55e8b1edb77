"""Publishing recorded events to Kafka (or to the gateway at PTS_URL, over HTTP), or printing
them as JSON lines for a dry run."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, TextIO

from pts.client.http_transport import post_events
from pts.core import wire
from pts.core.events import Build, Commit, TestResult, TestResultBatch, to_record
from pts.core.kafka import CheckedProducer
from pts.core.logs import get_logger
from pts.core.settings import Settings
from pts.core.topics import topic_name

log = get_logger(__name__)
Message = tuple[str, str, bytes]  # topic, key (the project), value


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dry_run_lines(
    build: Build | None = None,
    commits: Sequence[Commit] = (),
    batches: Sequence[TestResultBatch] = (),
) -> Iterable[str]:
    """One JSON line per commit, build or test result: what a real run would publish."""
    for commit in commits:
        yield json.dumps({"kind": "commit", **to_record(commit)}, default=_json_default)
    if build is not None:
        yield json.dumps({"kind": "build", **to_record(build)}, default=_json_default)
    for batch in batches:
        context = {
            "project": batch.project,
            "build_id": batch.build_id,
            "report": batch.report,
            "report_digest": batch.report_digest,
            "slice": batch.slice,
        }
        for result in batch.results:
            yield json.dumps(
                {"kind": "test_result", **context, **to_record(result)}, default=_json_default
            )


def print_dry_run(out: TextIO, **events: Any) -> None:
    for line in dry_run_lines(**events):
        out.write(line + "\n")


class EventPublisher:
    """Publishes events keyed by project on one producer; `flush` checks they all landed.

    Commits first, then the build, then results, so that the worker sees a build's changes
    before its results.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._producer = CheckedProducer(settings)

    def publish(
        self,
        build: Build | None = None,
        commits: Sequence[Commit] = (),
        batches: Sequence[TestResultBatch] = (),
    ) -> None:
        self.send(self.encoded(build, commits, batches))

    def encoded(
        self,
        build: Build | None = None,
        commits: Sequence[Commit] = (),
        batches: Sequence[TestResultBatch] = (),
    ) -> list[Message]:
        """The messages `publish` sends, in its order: (topic, key, Avro bytes)."""
        return encoded(self.settings, build, commits, batches)

    def send(self, messages: Iterable[Message]) -> None:
        """Hand encoded messages to the producer; `flush` waits for them."""
        for topic, key, value in messages:
            self._producer.produce(topic, key, value)

    def flush(self) -> int:
        """Wait for every delivery; returns how many landed. Raises BrokerUnavailable."""
        self._producer.flush()
        return self._producer.delivered


def encoded(
    settings: Settings,
    build: Build | None = None,
    commits: Sequence[Commit] = (),
    batches: Sequence[TestResultBatch] = (),
) -> list[Message]:
    """The messages of the events, in the order they are published: commits first, then the
    build, then results, so that the worker sees a build's changes before its results."""
    topics = {stem: topic_name(settings, stem) for stem in ("commits", "builds", "test-results")}
    messages = [
        (topics["commits"], commit.project, wire.encode("Commit", to_record(commit)))
        for commit in commits
    ]
    if build is not None:
        messages.append((topics["builds"], build.project, wire.encode("Build", to_record(build))))
    messages += [
        (topics["test-results"], batch.project, wire.encode("TestResultBatch", batch.to_record()))
        for batch in batches
    ]
    return messages


def publish(
    settings: Settings,
    build: Build | None = None,
    commits: Sequence[Commit] = (),
    batches: Sequence[TestResultBatch] = (),
) -> int:
    """Publish events and wait until they landed; returns how many messages did.

    Raises BrokerUnavailable after the bounded retry (PTS_RECORD_TIMEOUT_S). With PTS_URL set,
    the gateway there publishes them (`pts.client.http_transport`): GatewayUnavailable after
    the same retry, GatewayRefused for a refusal.
    """
    if settings.url is not None:
        messages = encoded(settings, build, commits, batches)
        delivered = post_events(settings, [value for _, _, value in messages])
    else:
        publisher = EventPublisher(settings)
        publisher.publish(build, commits, batches)
        delivered = publisher.flush()
    log.info(
        "events_published",
        messages=delivered,
        commits=len(commits),
        builds=int(build is not None),
        batches=len(batches),
    )
    return delivered


def batches_of(
    project: str,
    build_id: str,
    report: str,
    slices: Sequence[Sequence[TestResult]],
    report_digest: str = "",
) -> list[TestResultBatch]:
    return [
        TestResultBatch(
            project=project,
            build_id=build_id,
            report=report,
            results=tuple(s),
            slice=i,
            slices=len(slices),
            report_digest=report_digest,
        )
        for i, s in enumerate(slices)
    ]
