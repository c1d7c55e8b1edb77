"""`pts loader`'s HTTP endpoints: `/health`, `/metrics` (`loader_metrics.py`) and `/query`, on
a small threaded server of the standard library (the loader runs no event loop). `/query`
answers as the worker's does (`worker/http_endpoints.py`, which reads and answers a query with
the helpers here): POST a JSON body `{"sql": "...", "params": {"project": "shop"}}` (or GET
`?sql=...&param_project=shop`), rows as JSON; 400 for a refused query, 401 without the token
when PTS_WORKER_TOKEN is set, 413 for a body over 1 MB, 429 while MAX_CONCURRENT_QUERIES
queries run."""

from __future__ import annotations

import hmac
import json
import threading
from collections.abc import Callable, Mapping
from datetime import date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from pts.core.errors import PtsError, QueryRejected
from pts.core.logs import get_logger
from pts.sinks.store import QuerySlots

log = get_logger(__name__)

PARAM_PREFIX = "param_"  # as the worker's /query, and ClickHouse's HTTP interface
MAX_BODY_BYTES = 2**20
"""The largest POST body /query reads: aiohttp's own bound, which the worker's server keeps."""
TOO_LARGE = "query rejected: the request is larger than 1 MB, the most /query reads"
UNAUTHORIZED = "the history needs PTS_WORKER_TOKEN (Bearer)"
PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"

Health = Callable[[], dict[str, Any]]
Query = Callable[[str, dict[str, str]], list[dict[str, Any]]]
Metrics = Callable[[], bytes]  # Prometheus's text format


def query_of_fields(fields: Mapping[str, str]) -> tuple[str, dict[str, str]]:
    """The SQL and parameters of a GET: `?sql=...&param_project=shop`."""
    params = {
        name.removeprefix(PARAM_PREFIX): value
        for name, value in fields.items()
        if name.startswith(PARAM_PREFIX)
    }
    return fields.get("sql", ""), params


def query_of_body(body: bytes) -> tuple[str, dict[str, str]]:
    """The SQL and parameters of a POST body; `QueryRejected` for any other body.

    >>> query_of_body(b'{"sql": "SELECT 1", "params": {"project": "shop"}}')
    ('SELECT 1', {'project': 'shop'})
    >>> query_of_body(b'SELECT 1')
    Traceback (most recent call last):
    ...
    pts.core.errors.QueryRejected: query rejected: the body is not JSON {"sql": ..., ...
    """
    try:
        fields = json.loads(body)
        sql, params = fields["sql"], fields.get("params") or {}
        if not isinstance(sql, str) or not isinstance(params, dict):
            raise TypeError("sql is not a string, or params not an object")
        if not all(isinstance(v, str | int | float) for v in params.values()):
            raise TypeError("a parameter is not a string or a number")
    except (ValueError, TypeError, KeyError) as exc:
        raise QueryRejected(
            'query rejected: the body is not JSON {"sql": ..., "params": {"name": "value"}} '
            f"({exc.__class__.__name__}: {exc})".splitlines()[0]
        ) from exc
    return sql, {str(name): str(value) for name, value in params.items()}


def rows_body(query: Query, sql: str, params: dict[str, str]) -> bytes:
    """Run `query` and answer its rows as the JSON body of `/query`; on a slot's thread, so that
    encoding a large answer holds up no event loop."""
    return json.dumps({"rows": query(sql, params)}, default=_json_default).encode()


class LoaderHttp:
    """Serves `health()` and `query()` on host:port, on a thread of its own."""

    def __init__(
        self,
        host: str,
        port: int,
        health: Health,
        query: Query,
        token: str | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.slots = QuerySlots()
        handler = type(
            "Handler",
            (_Handler,),
            {
                "health": staticmethod(health),
                "query": staticmethod(query),
                "metrics": staticmethod(metrics) if metrics else None,
                "token": token,
                "slots": self.slots,
            },
        )
        self.server = ThreadingHTTPServer((host, port), handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, name="pts-loader-http", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def start(self) -> LoaderHttp:
        self.thread.start()
        return self

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.slots.close()


class _Handler(BaseHTTPRequestHandler):
    health: Health
    query: Query
    metrics: Metrics | None
    token: str | None
    slots: QuerySlots

    def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
        url = urlsplit(self.path)
        if url.path == "/health":
            self._answer(200, self.health())
        elif url.path == "/metrics" and self.metrics is not None:
            self._send(200, self.metrics(), content_type=PROMETHEUS_TEXT)
        elif url.path == "/query":
            if self._authorized():
                self._query(*query_of_fields(dict(parse_qsl(url.query))))
        else:
            self._answer(404, {"error": f"no endpoint {url.path}; try /health, /metrics or /query"})

    def do_POST(self) -> None:  # noqa: N802 (the standard library's name)
        self.close_connection = True  # a body left unread must not be taken for a request
        url = urlsplit(self.path)
        if url.path != "/query":
            self._answer(404, {"error": f"no endpoint {url.path} takes POST; try /query"})
            return
        if not self._authorized():
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self._answer(400, {"error": "query rejected: the Content-Length is not a number"})
            return
        if length > MAX_BODY_BYTES:
            self._answer(413, {"error": TOO_LARGE})
            return
        try:
            sql, params = query_of_body(self.rfile.read(length))
        except QueryRejected as exc:
            self._answer(400, {"error": str(exc)})
            return
        self._query(sql, params)

    def _authorized(self) -> bool:
        if self.token is None or _bearer_matches(self.headers.get("Authorization"), self.token):
            return True
        self._answer(401, {"error": UNAUTHORIZED})
        return False

    def _query(self, sql: str, params: dict[str, str]) -> None:
        running = self.slots.submit(rows_body, self.query, sql, params)
        if running is None:
            self._answer(429, {"error": self.slots.busy}, {"Retry-After": "1"})
            return
        try:
            payload = running.result()
        except PtsError as exc:
            self._answer(400, {"error": str(exc)})
            return
        self._send(200, payload)

    def _answer(
        self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        self._send(status, json.dumps(body, default=_json_default).encode(), headers)

    def _send(
        self,
        status: int,
        payload: bytes,
        headers: dict[str, str] | None = None,
        content_type: str = "application/json",
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the stdlib's name)
        """Quiet: the standard library would print every request to stderr."""


def _bearer_matches(header: str | None, token: str) -> bool:
    scheme, _, given = (header or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.encode(), token.encode())


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)
