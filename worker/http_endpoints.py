"""The worker's HTTP endpoints, on faust's web server: `/health`, `/lag`, `/metrics` (in
`metrics_endpoint.py`) and `/query`.
Their clients are in `http_client.py`."""

from __future__ import annotations

import asyncio
import hmac
from typing import Any, cast

import faust
from aiohttp import web_request
from aiohttp.web_exceptions import HTTPRequestEntityTooLarge
from confluent_kafka import KafkaException

from pts.consumers.history_service import HistoryService
from pts.consumers.loader_http import (
    TOO_LARGE,
    UNAUTHORIZED,
    query_of_body,
    query_of_fields,
    rows_body,
)
from pts.core.errors import PtsError, QueryRejected
from pts.core.settings import Settings
from pts.sinks.store import QuerySlots
from pts.streams.app import WorkerState
from pts.worker.broker_watch import BrokerWatch
from pts.worker.lag import measure_lag
from pts.worker.metrics_endpoint import serve_metrics


def register(
    app: faust.App,
    settings: Settings,
    state: WorkerState,
    history: HistoryService | None = None,
    broker: BrokerWatch | None = None,
) -> None:
    """Serve the endpoints; `/query` only when the worker loads history."""

    def projects() -> dict[str, Any]:
        # On the model thread: the selector's state changes there.
        return {
            name: {
                "results_learned": p.results_learned,
                "model": p.model_name,
                "roc_auc": _rounded(p.roc_auc),
                "champions": p.champions.summary(),
            }
            for name, p in state.selector.projects.items()
        }

    @app.page("/health")
    async def health(web: faust.web.View, request: faust.web.Request) -> faust.web.Response:
        body: dict[str, Any] = {"status": "ok", "worker": settings.worker_id}
        degraded: list[dict[str, Any]] = []  # what is wrong, and since when
        if history is not None:
            body["history"] = loader = history.health()
            if loader["state"] not in ("starting", "running"):
                what = f"history loader {loader['state']}: {loader['error']}"
                degraded.append({"what": what, "since": loader["failing_since"]})
        if broker is not None:
            body["broker"] = watched = broker.as_dict()
            if not broker.healthy:
                what = f"broker {watched['state']}: {watched['error']}"
                degraded.append({"what": what, "since": watched["since"]})
        for agent, crash in state.crashed_agents.items():
            what = (
                f"agent {agent} crashed {crash['crashes']} time(s), last: {crash['error']}; "
                "snapshots are paused until the worker restarts"
            )
            degraded.append({"what": what, "since": crash["since"]})
        letters = state.dead_letters.health()
        if letters is not None:
            what = f"{letters['unwritten']} dead letter(s) not written: {letters['error']}"
            degraded.append({"what": what, "since": letters["since"]})
        if degraded:
            body["status"], body["degraded"] = "degraded", degraded
        # The partitions this worker owns, and how many results their snapshots held.
        body["partitions"] = {
            str(p): {"restored_results": n} for p, n in state.restored_results.items()
        }
        body["last_snapshot"] = state.last_snapshot
        body["projects"] = await state.run_model(projects)
        return web.json(body)

    @app.page("/lag")
    async def lag(web: faust.web.View, request: faust.web.Request) -> faust.web.Response:
        processed = dict(state.processed)
        loop = asyncio.get_running_loop()
        try:
            behind = await loop.run_in_executor(None, measure_lag, settings, processed)
        except KafkaException as exc:
            return web.json({"error": f"Kafka did not answer: {exc}"}, status=503)
        return web.json(behind)

    serve_metrics(app, settings, state, history)
    if history is None:
        return
    query = history.query
    slots = QuerySlots()  # their own threads: /health, /lag and the broker watch never wait

    token = settings.worker_token.get_secret_value() if settings.worker_token else None

    async def run_query(
        web: faust.web.View, request: faust.web.Request, post: bool
    ) -> faust.web.Response:
        if token is not None and not _bearer_matches(request.headers.get("Authorization"), token):
            return web.json({"error": UNAUTHORIZED}, status=401)
        if post:
            try:  # aiohttp's read() refuses a body over its client_max_size, 1 MB
                body = await cast(web_request.Request, request).read()
                sql, params = query_of_body(body)
            except HTTPRequestEntityTooLarge:
                return web.json({"error": TOO_LARGE}, status=413)
            except QueryRejected as exc:
                return web.json({"error": str(exc)}, status=400)
        else:
            sql, params = query_of_fields(request.query)
        running = slots.submit(rows_body, query, sql, params)
        if running is None:
            return web.json({"error": slots.busy}, status=429, headers={"Retry-After": "1"})
        try:
            payload = await asyncio.wrap_future(running)
        except PtsError as exc:
            return web.json({"error": str(exc)}, status=400)
        return web.bytes(payload, content_type="application/json")

    @app.page("/query")
    class QueryPage(faust.web.View):
        """`/query`: GET `?sql=...&param_project=shop`, or POST `{"sql": ..., "params": ...}`
        (no length limit of a URL)."""

        async def get(self, request: faust.web.Request) -> faust.web.Response:
            return await run_query(self, request, post=False)

        async def post(self, request: faust.web.Request) -> faust.web.Response:
            return await run_query(self, request, post=True)


def _bearer_matches(header: str | None, token: str) -> bool:
    scheme, _, given = (header or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.encode(), token.encode())


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
