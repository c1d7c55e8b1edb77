"""Queries reach only the history's tables, within limits, on both backends (real chdb)."""

from __future__ import annotations

import http.server
import threading
from pathlib import Path

import pytest

from pts.core.errors import QueryRejected, StoreError
from pts.sinks.store import QUERY_TIMEOUT_S, HistoryStore


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    planted = tmp_path / "secret.tsv"
    planted.write_text("password\nhunter2\n")
    return planted


@pytest.mark.parametrize(
    "sql",
    [
        "DESCRIBE TABLE file('{secret}', 'TSVWithNames')",
        "DESC file('{secret}', 'TSV')",
        "SELECT * FROM file('{secret}', 'TSV')",
        "SELECT file('{secret}')",
        "SELECT count() FROM numbers(1e12)",
        "SELECT count() FROM system.numbers",
        "SELECT * FROM pts.builds WHERE build_id IN (SELECT * FROM file('{secret}', 'TSV'))",
        "WITH (SELECT count() FROM remote('127.0.0.1', system.one)) AS n SELECT n",
        "SELECT 1 SETTINGS readonly = 0",
        "SELECT 1 SETTINGS max_execution_time = 0",
    ],
)
def test_reads_outside_the_history_are_refused(store: HistoryStore, secret: Path, sql: str) -> None:
    with pytest.raises(QueryRejected) as refused:
        store.query(sql.format(secret=secret))
    assert "hunter2" not in str(refused.value)
    assert str(refused.value).startswith("query rejected")


def test_a_url_is_never_fetched(store: HistoryStore) -> None:
    requests: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
            requests.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/x.tsv"
    try:
        for sql in (f"DESCRIBE TABLE url('{url}', 'TSV')", f"SELECT * FROM url('{url}', 'TSV')"):
            with pytest.raises(QueryRejected):
                store.query(sql)
    finally:
        server.shutdown()
    assert requests == []


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT count() AS n FROM pts.builds",
        "DESCRIBE TABLE pts.test_results",
        "SHOW TABLES FROM pts",
        "WITH recent AS (SELECT build_id FROM pts.builds) SELECT count() AS n FROM recent",
        "SELECT 1 AS one",
    ],
)
def test_reads_of_the_history_still_run(store: HistoryStore, sql: str) -> None:
    store.query(sql)


def test_every_query_runs_within_limits(store: HistoryStore) -> None:
    [limits] = store.query(
        "SELECT getSetting('max_execution_time') AS seconds, "
        "getSetting('max_result_rows') AS rows, getSetting('max_memory_usage') AS memory"
    )
    assert (limits["seconds"], limits["rows"]) == (QUERY_TIMEOUT_S, 1_000_000)
    assert 0 < limits["memory"] <= 2_000_000_000
    with pytest.raises(StoreError, match="Limit for result exceeded|TOO_MANY_ROWS"):
        store.query("SELECT n FROM (SELECT arrayJoin(range(2000000)) AS n)")
