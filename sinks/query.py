"""Where `pts query` runs: a ClickHouse server, the running worker, or chdb directly."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from pts.core.errors import QueryRejected, StoreError
from pts.core.settings import Settings
from pts.sinks import open_store
from pts.sinks.sql import check_read_only

PARAM_PREFIX = "param_"  # /query?sql=...&param_project=shop, as ClickHouse's HTTP interface


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def run_query(
    settings: Settings, sql: str, params: Mapping[str, str] | None = None
) -> Iterator[str]:
    """Rows as JSON lines; `params` fill placeholders such as {project:String}. Embedded mode
    asks the worker, which owns the chdb directory; when no worker answers, chdb is opened
    here."""
    check_read_only(sql)
    params = dict(params or {})
    if not settings.clickhouse_url:
        rows = _ask_worker(settings, sql, params)
        if rows is not None:
            yield from (json.dumps(row, default=_json_default) for row in rows)
            return
    store = open_store(settings)
    try:
        store.create_schema()
        rows = store.query(sql, params)
    finally:
        store.close()
    yield from (json.dumps(row, default=_json_default) for row in rows)


def _ask_worker(
    settings: Settings, sql: str, params: dict[str, str]
) -> list[dict[str, Any]] | None:
    fields = {"sql": sql, **{f"{PARAM_PREFIX}{name}": value for name, value in params.items()}}
    url = f"{settings.worker_url}/query?" + urllib.parse.urlencode(fields)
    try:
        with urllib.request.urlopen(url, timeout=30) as answer:
            return json.load(answer)["rows"]
    except urllib.error.HTTPError as exc:
        reason = json.load(exc).get("error", str(exc))
        raise (QueryRejected if exc.code == 400 else StoreError)(reason) from exc
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None
