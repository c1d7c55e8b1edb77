"""`pts loader`'s HTTP endpoints: `/health` and `/query`, on a small threaded server of the
standard library (the loader runs no event loop). `/query` answers as the worker's does
(`worker/http_endpoints.py`): `?sql=...&param_project=shop`, rows as JSON, 400 for a refused
query, 401 without the token when PTS_WORKER_TOKEN is set."""

from __future__ import annotations

import hmac
import json
import threading
from collections.abc import Callable
from datetime import date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from pts.core.errors import PtsError
from pts.core.logs import get_logger

log = get_logger(__name__)

PARAM_PREFIX = "param_"  # as the worker's /query, and ClickHouse's HTTP interface

Health = Callable[[], dict[str, Any]]
Query = Callable[[str, dict[str, str]], list[dict[str, Any]]]


class LoaderHttp:
    """Serves `health()` and `query()` on host:port, on a thread of its own."""

    def __init__(
        self, host: str, port: int, health: Health, query: Query, token: str | None = None
    ) -> None:
        handler = type(
            "Handler",
            (_Handler,),
            {"health": staticmethod(health), "query": staticmethod(query), "token": token},
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


class _Handler(BaseHTTPRequestHandler):
    health: Health
    query: Query
    token: str | None

    def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
        url = urlsplit(self.path)
        if url.path == "/health":
            self._answer(200, self.health())
        elif url.path == "/query":
            self._query(dict(parse_qsl(url.query)))
        else:
            self._answer(404, {"error": f"no endpoint {url.path}; try /health or /query"})

    def _query(self, fields: dict[str, str]) -> None:
        if self.token is not None and not _bearer_matches(
            self.headers.get("Authorization"), self.token
        ):
            self._answer(401, {"error": "the history needs PTS_WORKER_TOKEN (Bearer)"})
            return
        params = {
            name.removeprefix(PARAM_PREFIX): value
            for name, value in fields.items()
            if name.startswith(PARAM_PREFIX)
        }
        try:
            rows = self.query(fields.get("sql", ""), params)
        except PtsError as exc:
            self._answer(400, {"error": str(exc)})
            return
        self._answer(200, {"rows": rows})

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        payload = json.dumps(body, default=_json_default).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
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
