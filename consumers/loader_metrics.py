"""The history loader's metrics, for `GET /metrics` of `pts loader` and of a worker that loads
history: events and rows stored, dead letters, failed batches and how far behind the loader is,
read from the loader's own counts (`HistoryService.progress` and `counts`) when /metrics is
read, so the loader keeps one set of counts.

>>> from threading import Event
>>> from pts.core.settings import Settings
>>> service = HistoryService(Settings(clickhouse_url="http://127.0.0.1:1"), Event())
>>> names = [family.name for family in LoaderCollector(service).collect()]
>>> names[:2]
['pts_loader_events_stored', 'pts_loader_rows_stored']
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from pts.consumers.history_service import HistoryService
from pts.sinks.rows import TABLE_OF_KIND


class LoaderCollector(Collector):
    """A prometheus-client collector over one `HistoryService`."""

    def __init__(self, service: HistoryService) -> None:
        self.service = service

    def collect(self) -> Iterator[Metric]:
        progress = self.service.progress()
        rows_stored, failures = self.service.counts()
        events = CounterMetricFamily(
            "pts_loader_events_stored", "Events (messages) the loader stored, by kind.",
            labels=("kind",),
        )  # fmt: skip
        for kind, stored in sorted(progress["loaded"].items()):
            events.add_metric((kind,), stored)
        yield events
        rows = CounterMetricFamily(
            "pts_loader_rows_stored", "Rows the loader wrote to the history, by table.",
            labels=("table",),
        )  # fmt: skip
        for kind, written in sorted(rows_stored.items()):
            rows.add_metric((TABLE_OF_KIND[kind][0].rpartition(".")[2],), written)  # no "pts."
        yield rows
        yield CounterMetricFamily(
            "pts_loader_dead_letters",
            "Messages the loader set aside: undecodable, or refused by the store.",
            value=progress["dead_lettered"],
        )
        yield CounterMetricFamily(
            "pts_loader_store_failures",
            "Batches the store (or the dead-letter topic) did not take; each was retried.",
            value=failures,
        )
        lag = GaugeMetricFamily(
            "pts_loader_lag_messages",
            "Messages after the loader's committed offsets, by topic stem (as of its last batch).",
            labels=("topic",),
        )
        behind: Counter[str] = Counter()
        prefix = f"{self.service.settings.topic_prefix}."
        for partition, messages in progress["behind"].items():  # "topic[partition]": by stem
            behind[partition.rpartition("[")[0].removeprefix(prefix)] += messages
        for topic, messages in sorted(behind.items()):
            lag.add_metric((topic,), messages)
        yield lag


def loader_metrics(service: HistoryService) -> CollectorRegistry:
    """A registry of its own (several loaders may run in one process: tests)."""
    registry = CollectorRegistry()
    registry.register(LoaderCollector(service))
    return registry


def render(registry: CollectorRegistry) -> bytes:
    return generate_latest(registry)
