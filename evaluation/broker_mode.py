"""Evaluating through the real broker and worker: the same harness, a ranker that talks Kafka.

Each call becomes what CI would do: a build is published, a subset is requested over the
request/reply topics and answered by `pts worker`, then the results are published. The worker
answers after it has learned everything published before the request (its catch-up barrier),
but gives up waiting after a few seconds on a busy machine; so before each request this ranker
also waits until the worker's `/health` counts every result it published as learned. The
rankings then equal those of the in-process selector on the same history.
"""

from __future__ import annotations

import json
import time
import urllib.request
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
        self.timeout_s = timeout_s
        self.published = 0  # results that ran, as the worker counts them learned

    def observe_build(self, build: Build) -> None:
        self._publisher.publish(build=replace(build, project=self.project))
        self._publisher.flush()

    def rank(self, request: SubsetRequest) -> SubsetResponse:
        self._wait_until_learned()
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
        self.published += sum(1 for r in batch.results if r.ran)

    def _learned(self) -> int | None:
        """The results the worker learned for this ranker's project; None if it cannot say."""
        try:
            with urllib.request.urlopen(f"{self.settings.worker_url}/health", timeout=5) as got:
                health = json.load(got)
        except (OSError, ValueError):
            return None
        return health.get("projects", {}).get(self.project, {}).get("results_learned", 0)

    def _wait_until_learned(self) -> None:
        """Until the worker learned what was published (at most `timeout_s`), so an answer
        never comes from a model that had not caught up. A worker whose /health does not
        answer (another host, say) leaves only its own catch-up barrier."""
        deadline = time.monotonic() + self.timeout_s
        while self.published and time.monotonic() < deadline:
            learned = self._learned()
            if learned is None or learned >= self.published:
                return
            time.sleep(0.05)

    def close(self) -> None:
        self._client.close()
