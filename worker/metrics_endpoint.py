"""The worker's `GET /metrics`: `WorkerMetrics` (`pts.streams.metrics`), the lag measured as it
is read, and the history loader's metrics when the worker loads history."""

from __future__ import annotations

import asyncio

import faust
from confluent_kafka import KafkaException

from pts.consumers.history_service import HistoryService
from pts.consumers.loader_metrics import LoaderCollector
from pts.core.errors import PtsError
from pts.core.logs import get_logger
from pts.core.settings import Settings
from pts.streams.app import WorkerState
from pts.streams.metrics import CONTENT_TYPE
from pts.worker.lag import measure_lag

log = get_logger(__name__)
LAG_TIMEOUT_S = 5.0  # a scrape must not hang on a broker that is away: the lag is left as it was


def serve_metrics(
    app: faust.App, settings: Settings, state: WorkerState, history: HistoryService | None
) -> None:
    metrics = state.metrics
    if history is not None:
        metrics.add(LoaderCollector(history))

    lag_failing = False  # logged when it starts failing and when it answers again, not per scrape

    @app.page("/metrics")
    async def scrape(web: faust.web.View, request: faust.web.Request) -> faust.web.Response:
        nonlocal lag_failing
        processed = dict(state.processed)
        loop = asyncio.get_running_loop()
        try:
            behind = await loop.run_in_executor(
                None, measure_lag, settings, processed, LAG_TIMEOUT_S
            )
        except (KafkaException, PtsError) as exc:
            if not lag_failing:
                log.warning("metrics_lag_unavailable", error=str(exc))
            lag_failing = True
        else:
            metrics.lag(behind)
            if lag_failing:
                log.info("metrics_lag_available")
            lag_failing = False
        return web.bytes(metrics.render().encode(), headers={"Content-Type": CONTENT_TYPE})
