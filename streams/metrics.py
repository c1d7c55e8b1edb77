"""The worker's metrics, served on `GET /metrics` in Prometheus's text format (prometheus-client):
what the agents did since the process started, by project where a figure belongs to one. Each
`WorkerMetrics` has its own registry, so that several workers in one process (tests) do not
share counts. The lag gauges are measured when `/metrics` is read (`worker/http_endpoints.py`).

>>> metrics = WorkerMetrics()
>>> from pts.core.events import Outcome
>>> metrics.learned("shop", [TestResult(f"t{n}", "", "", Outcome.PASSED, 1) for n in range(12)])
>>> metrics.answered("shop", seconds=0.02, behind=3, model="cold-start")
>>> text = metrics.render()
>>> 'pts_results_learned_total{project="shop"} 12.0' in text
True
>>> 'pts_subset_answers_behind_total{project="shop"} 1.0' in text
True
>>> 'pts_subset_fallbacks_total{project="shop"} 1.0' in text
True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.registry import Collector

from pts.core.events import ResultColumns, TestResult
from pts.selection.selector import COLD_START

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"  # as generate_latest writes it
# Subset answers take milliseconds when the model has caught up, up to MAX_CATCH_UP_S when not.
ANSWER_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)

# Why a message went to the dead-letter topic: a small set, so that each is one series.
UNDECODABLE = "undecodable"  # not the Avro message its topic carries
FAILED = "processing_failed"  # decoded, but handling it raised
UNANSWERABLE = "unanswerable"  # a subset request naming a reply topic the worker does not answer


class WorkerMetrics:
    """The worker's counters, gauges and the answers' latency histogram, in one registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        registry = self.registry
        # prometheus-client adds the `_total` of a counter's name itself.
        self._results = Counter(
            "pts_results_learned", "Test results (not skipped) learned; redeliveries excluded.",
            ("project",), registry=registry,
        )  # fmt: skip
        self._batches = Counter(
            "pts_result_batches_learned", "Messages of test results learned.",
            ("project",), registry=registry,
        )  # fmt: skip
        self._answers = Counter(
            "pts_subset_answers", "Subset requests answered.", ("project",), registry=registry
        )
        self._answer_seconds = Histogram(
            "pts_subset_answer_seconds",
            "From a joined subset request to its answer sent (with the wait for the model).",
            ("project",), buckets=ANSWER_BUCKETS, registry=registry,
        )  # fmt: skip
        self._behind = Counter(
            "pts_subset_answers_behind",
            "Answers given before the model had learned every result written before them.",
            ("project",), registry=registry,
        )  # fmt: skip
        self._fallbacks = Counter(
            "pts_subset_fallbacks",
            "Answers in the candidates' given order: the project had no model yet (cold start).",
            ("project",), registry=registry,
        )  # fmt: skip
        self._champions = Counter(
            "pts_champion_changes", "Changes of a project's champion model.",
            ("project",), registry=registry,
        )  # fmt: skip
        self._dead_letters = Counter(
            "pts_dead_letters", "Messages set aside on the dead-letter topic, by topic and cause.",
            ("topic", "cause"), registry=registry,
        )  # fmt: skip
        self._snapshots = Counter(
            "pts_snapshot_rounds", "Snapshot rounds that wrote something, by outcome.",
            ("outcome",), registry=registry,
        )  # fmt: skip
        self._lag = Gauge(
            "pts_lag_messages",
            "Messages written to a topic and not yet processed, by reader (model, history).",
            ("reader", "topic"), registry=registry,
        )  # fmt: skip

    def learned(self, project: str, results: Sequence[TestResult]) -> None:
        """A batch learned: its results that ran (skipped ones teach the model nothing)."""
        self._batches.labels(project).inc()
        ran = results.ran() if isinstance(results, ResultColumns) else [r for r in results if r.ran]
        self._results.labels(project).inc(len(ran))

    def answered(self, project: str, seconds: float, behind: int, model: str) -> None:
        self._answers.labels(project).inc()
        self._answer_seconds.labels(project).observe(seconds)
        if behind:
            self._behind.labels(project).inc()
        if model == COLD_START:
            self._fallbacks.labels(project).inc()

    def champion_changed(self, project: str) -> None:
        self._champions.labels(project).inc()

    def dead_lettered(self, topic: str, cause: str) -> None:
        self._dead_letters.labels(topic, cause).inc()

    def snapshot_round(self, taken: bool) -> None:
        self._snapshots.labels("taken" if taken else "failed").inc()

    def lag(self, behind: Mapping[str, Mapping[str, int]]) -> None:
        """`measure_lag`'s {reader: {topic stem: messages behind}}."""
        for reader, topics in behind.items():
            for topic, messages in topics.items():
                self._lag.labels(reader, topic).set(messages)

    def add(self, collector: Collector) -> None:
        """Serve another collector's metrics too (the history loader's, in the worker)."""
        self.registry.register(collector)

    def render(self) -> str:
        return generate_latest(self.registry).decode()
