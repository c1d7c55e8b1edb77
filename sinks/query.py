"""Where `pts query` runs: a ClickHouse server, the running worker, or chdb directly."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from pts.errors import QueryRejected, StoreError
from pts.settings import Settings
from sinks import open_store
from sinks.sql import check_read_only


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def run_query(settings: Settings, sql: str) -> Iterator[str]:
    """Rows as JSON lines. Embedded mode asks the worker, which owns the chdb directory;
    when no worker answers, chdb is opened here."""
    check_read_only(sql)
    if not settings.clickhouse_url:
        rows = _ask_worker(settings, sql)
        if rows is not None:
            yield from (json.dumps(row, default=_json_default) for row in rows)
            return
    store = open_store(settings)
    try:
        store.create_schema()
        rows = store.query(sql)
    finally:
        store.close()
    yield from (json.dumps(row, default=_json_default) for row in rows)


def _ask_worker(settings: Settings, sql: str) -> list[dict[str, Any]] | None:
    url = f"http://127.0.0.1:{settings.worker_http_port}/query?" + urllib.parse.urlencode(
        {"sql": sql}
    )
    try:
        with urllib.request.urlopen(url, timeout=30) as answer:
            return json.load(answer)["rows"]
    except urllib.error.HTTPError as exc:
        reason = json.load(exc).get("error", str(exc))
        raise (QueryRejected if exc.code == 400 else StoreError)(reason) from exc
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None
