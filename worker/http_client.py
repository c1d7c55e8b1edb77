"""Clients of the worker's HTTP endpoints (`http_endpoints.py`): `pts status`, `pts query`,
and the start-up check that asks whether a worker already answers on the configured port."""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from pts.consumers.loader_http import MAX_BODY_BYTES, TOO_LARGE
from pts.core.errors import (
    ConfigError,
    PtsError,
    QueryRejected,
    StoreError,
    WorkerUnreachable,
)
from pts.core.settings import Settings
from pts.sinks.sql import check_read_only

TIMEOUT_S = 10.0
QUERY_TIMEOUT_S = 30.0
HEALTH_PROBE_TIMEOUT_S = 3.0
REASON_CHARS = 300
"""At most this much of an error body is shown, on one line."""


def fetch(settings: Settings, path: str) -> dict[str, Any]:
    """The JSON the worker serves at `path` (an HTTP error becomes {"error": ...})."""
    url = f"{settings.worker_url}{path}"
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as answer:
            body: dict[str, Any] = json.load(answer)
            return body
    except urllib.error.HTTPError as exc:
        return {"error": _reason(exc)[0]}
    except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
        raise WorkerUnreachable(f"no worker answers at {url} ({exc})") from exc


def worker_answering(settings: Settings) -> str | None:
    """The PTS_WORKER_ID of the worker answering on the configured endpoint, or None."""
    try:
        with urllib.request.urlopen(
            f"{settings.worker_url}/health", timeout=HEALTH_PROBE_TIMEOUT_S
        ) as answer:
            health = json.load(answer)
    except (OSError, ValueError, http.client.HTTPException):
        return None
    return health.get("worker") if isinstance(health, dict) else None


def status_lines(health: dict[str, Any], lag: dict[str, Any]) -> list[str]:
    """The report: the worker, its lag per reader, then per project its figures and the
    rankers serving it, with their records and the best challengers'.

    >>> serving = {"metric": "apfdc", "champion": "bayes/s", "record": 0.91, "scored": 30,
    ...            "challengers": {"learned/s": 0.9}}
    >>> for line in status_lines(
    ...     {"worker": "w", "projects": {"shop": {"results_learned": 9, "model": "logistic@9",
    ...      "roc_auc": None, "champions": {"time": serving}}}},
    ...     {"model": {"builds": 0, "test-results": 2}, "history": {"builds": 0}}):
    ...     print(line)
    worker w: 1 project
    model lag: 2 messages (test-results 2)
    history lag: caught up
      shop: 9 results learned, model logistic@9, ROC AUC -
        time targets: bayes/s (APFDc 0.91 over 30 failing builds); challengers learned/s 0.9
    """
    projects = health.get("projects", {})
    plural = "" if len(projects) == 1 else "s"
    lines = [f"worker {health.get('worker', '?')}: {len(projects)} project{plural}"]
    if "error" in lag:
        lines.append(f"lag: unknown ({lag['error']})")
    else:
        lines += [_lag_line(reader, lag.get(reader, {})) for reader in ("model", "history")]
    if "partitions" in health:
        lines.append(_partitions_line(health["partitions"], health.get("last_snapshot") or {}))
    for name, project in sorted(projects.items()):
        auc = project.get("roc_auc")
        lines.append(
            f"  {name}: {project['results_learned']} results learned, model {project['model']}, "
            f"ROC AUC {'-' if auc is None else auc}"
        )
        for family, serving in project.get("champions", {}).items():
            lines.append(f"    {family} targets: {_serving_line(serving)}")
    return lines


def _partitions_line(partitions: dict[str, Any], last: dict[str, Any]) -> str:
    """The partitions this worker of its group owns, and its last snapshot round.

    >>> print(_partitions_line({"0": {"restored_results": 1200}, "3": {"restored_results": 0}},
    ...                        {"at": "10:00Z", "projects": 2, "bytes": 2048}))
    partitions 0, 3 (restored with 1,200 results); last snapshot 10:00Z: 2 projects, 2 KiB
    >>> _partitions_line({}, {})
    'partitions: none assigned; no snapshot taken yet'
    """
    if not partitions:
        owned = "partitions: none assigned"
    else:
        restored = sum(int(p.get("restored_results", 0)) for p in partitions.values())
        numbers = ", ".join(sorted(partitions, key=int))
        owned = f"partitions {numbers} (restored with {restored:,} results)"
    if not last:
        return f"{owned}; no snapshot taken yet"
    return (
        f"{owned}; last snapshot {last['at']}: {last['projects']} projects, "
        f"{round(last['bytes'] / 1024):,} KiB"
    )


def _serving_line(serving: dict[str, Any]) -> str:
    """The champion on one target family, its record and the best three challengers'."""
    metric = {"apfd": "APFD", "apfdc": "APFDc"}.get(serving["metric"], serving["metric"])
    if serving.get("record") is None:
        return f"{serving['champion']} (no failing build scored yet)"
    challengers = list(serving.get("challengers", {}).items())[:3]
    line = (
        f"{serving['champion']} ({metric} {serving['record']} over {serving['scored']} "
        "failing builds)"
    )
    if challengers:
        line += "; challengers " + ", ".join(f"{name} {r}" for name, r in challengers)
    return line


def _lag_line(reader: str, per_topic: dict[str, int]) -> str:
    behind = {topic: n for topic, n in per_topic.items() if n}
    if not behind:
        return f"{reader} lag: caught up"
    detail = ", ".join(f"{topic} {n}" for topic, n in behind.items())
    return f"{reader} lag: {sum(behind.values())} messages ({detail})"


def run_query(
    settings: Settings, sql: str, params: Mapping[str, str] | None = None
) -> Iterator[str]:
    """Rows as JSON lines; `params` fill placeholders such as {project:String}. Embedded mode
    asks the worker, which owns the chdb directory, or else `pts loader` (when the worker runs
    with --no-history); when neither answers, chdb is opened here (which needs the worker
    extra)."""
    check_read_only(sql)
    params = dict(params or {})
    if not settings.clickhouse_url:
        rows = ask_history(settings, sql, params)
        if rows is not None:
            yield from (json.dumps(row, default=_json_default) for row in rows)
            return
    if not settings.clickhouse_url and not settings.chdb_dir.exists():
        raise ConfigError(
            f"no worker answers at {settings.worker_url}, and there is no history at "
            f"{settings.chdb_dir}: start `pts worker`, or set PTS_DATA_DIR to the worker's"
        )
    from pts.sinks import open_store

    store = open_store(settings)
    try:
        store.create_schema()
        rows = store.query(sql, params)
    finally:
        store.close()
    yield from (json.dumps(row, default=_json_default) for row in rows)


def ask_history(
    settings: Settings, sql: str, params: Mapping[str, str] | None = None
) -> list[dict[str, Any]] | None:
    """The rows of `sql` from the worker's /query, else the loader's; None when neither
    serves one (nothing is opened here)."""
    for url in (settings.worker_url, settings.loader_url):
        rows = _ask_worker(settings, sql, dict(params or {}), url)
        if rows is not None:
            return rows
    return None


def _ask_worker(
    settings: Settings, sql: str, params: dict[str, str], base_url: str
) -> list[dict[str, Any]] | None:
    """The rows from the /query at `base_url`, asked by POST (SQL of any length); None when
    nothing answers there, or it serves no /query (a worker with --no-history). Whatever it
    answers otherwise becomes one line: QueryRejected for a refused query (exit 2),
    WorkerUnreachable when it is busy or does not answer in time (exit 3)."""
    body = json.dumps({"sql": sql, "params": params}).encode()
    if len(body) > MAX_BODY_BYTES:
        raise QueryRejected(TOO_LARGE)
    headers = {"Content-Type": "application/json"}
    if settings.worker_token is not None:
        headers["Authorization"] = f"Bearer {settings.worker_token.get_secret_value()}"
    request = urllib.request.Request(f"{base_url}/query", body, headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=QUERY_TIMEOUT_S) as answer:
            text = answer.read()
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return None
        raise _refusal(base_url, exc) from None
    except (TimeoutError, urllib.error.URLError) as exc:
        if isinstance(getattr(exc, "reason", exc), TimeoutError):
            raise WorkerUnreachable(
                f"the history at {base_url} did not answer within {QUERY_TIMEOUT_S:g} s"
            ) from None
        return None
    except (ConnectionError, http.client.HTTPException):
        return None
    try:
        rows = json.loads(text)["rows"]
        if not isinstance(rows, list):
            raise TypeError("rows is not a list")
    except (ValueError, KeyError, TypeError) as exc:
        raise StoreError(
            f"the history at {base_url} answered no rows ({_one_line(repr(text[:80]))}): {exc}"
        ) from None
    return rows


def _refusal(base_url: str, exc: urllib.error.HTTPError) -> PtsError:
    """The one-line error for what the /query at `base_url` answered instead of rows."""
    reason, ours = _reason(exc)
    if exc.code in (401, 403):
        return ConfigError(f"the history at {base_url} refused: {reason}")
    if exc.code == 429:
        return WorkerUnreachable(f"the history at {base_url} is busy: {reason}")
    if exc.code in (502, 503, 504):
        return WorkerUnreachable(f"the history at {base_url} did not answer: {reason}")
    if exc.code >= 500:
        return StoreError(f"the history at {base_url} failed: {reason}")
    if ours:  # pts's own refusal says what is wrong with the query
        return QueryRejected(reason)
    return QueryRejected(f"query rejected by the history at {base_url}: {reason}")


def _reason(exc: urllib.error.HTTPError) -> tuple[str, bool]:
    """What an error answer says, on one line, and whether it is pts's own JSON `{"error":
    ...}` (aiohttp, a proxy or an older server may answer plain text or HTML).

    >>> import io
    >>> def answer(code, body):
    ...     return urllib.error.HTTPError("u", code, "Bad", {}, io.BytesIO(body))
    >>> _reason(answer(400, b'{"error": "query rejected: it is empty"}'))
    ('query rejected: it is empty', True)
    >>> _reason(answer(400, b"400: Bad Request\\n\\nGot more than 8190 bytes\\n"))
    ('400: Bad Request; Got more than 8190 bytes', False)
    >>> _reason(answer(502, b""))
    ('502 Bad', False)
    """
    try:
        text = exc.read(64 * 1024)
    except (OSError, http.client.HTTPException):
        text = b""
    try:
        error = json.loads(text).get("error")
    except (ValueError, AttributeError):
        error = None
    if isinstance(error, str) and error.strip():
        return _one_line(error), True
    lines = [line.strip() for line in text.decode(errors="replace").splitlines() if line.strip()]
    return _one_line("; ".join(lines[:2]) or f"{exc.code} {exc.reason}"), False


def _one_line(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= REASON_CHARS else line[: REASON_CHARS - 3] + "..."


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)
