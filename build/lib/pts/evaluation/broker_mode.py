"""Evaluating through the real broker and worker: the same harness, a ranker that talks Kafka.

Each call becomes what CI would do: a build is published, a subset is requested over the
request/reply topics and answered by `pts worker`, then the results are published. The worker
answers only after it has learned everything published before the request (its catch-up
barrier), so the rankings equal those of the in-process selector on the same history.
"""

from __future__ import annotations

import uuid
from dataclasses import replace

from pts.client.publisher import EventPublisher
from pts.client.subset_client import SubsetClient
from pts.core.events import Build, SubsetRequest, SubsetResponse, TestResultBatch, utc_now
from pts.core.settings import Settings
from pts.core.topics import topic_name


class BrokerRanker:
    """A `Ranker` whose answers come from the stream worker, under a project of its own."""

    name = "selector-via-broker"

    def __init__(
        self, settings: Settings, project: str | None = None, timeout_s: float = 60.0
    ) -> None:
        self.settings = settings
        self.project = project or f"eval-{uuid.uuid4().hex[:8]}"
        self._publisher = EventPublisher(settings)
        self._client = SubsetClient(settings, timeout_s=timeout_s)

    def observe_build(self, build: Build) -> None:
        self._publisher.publish(build=replace(build, project=self.project))
        self._publisher.flush()

    def rank(self, request: SubsetRequest) -> SubsetResponse:
        asked = replace(
            request,
            project=self.project,
            request_id=uuid.uuid4().hex,
            reply_topic=topic_name(self.settings, "subset-responses"),
            requested_at=utc_now(),
        )
        return self._client.request(asked)

    def learn(self, batch: TestResultBatch) -> None:
        self._publisher.publish(batches=[replace(batch, project=self.project)])
        self._publisher.flush()

    def close(self) -> None:
        self._client.close()
