"""Queries reach only the history's tables, within limits, on both backends (real chdb)."""

from __future__ import annotations

import http.server
import threading
from pathlib import Path

import pytest

from pts.core.errors import QueryRejected, StoreError
from pts.sinks.chdb_store import ChdbStore
from pts.sinks.query_guard import OUTSIDE, REVEALING, check_ast
from pts.sinks.store import MAX_RESULT_BYTES, QUERY_TIMEOUT_S, HistoryStore


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    planted = tmp_path / "secret.tsv"
    planted.write_text("password\nhunter2\n")
    return planted


def refused(store: HistoryStore, sql: str) -> str:
    """The one-line reason `store` refuses `sql` with."""
    with pytest.raises(QueryRejected) as raised:
        store.query(sql)
    reason = str(raised.value)
    assert reason.startswith("query rejected") and "\n" not in reason
    return reason


@pytest.mark.parametrize(
    "sql",
    [
        "DESCRIBE TABLE file('{secret}', 'TSVWithNames')",
        "DESC file('{secret}', 'TSV')",
        "SELECT * FROM file('{secret}', 'TSV')",
        "SELECT file('{secret}')",
        "SELECT 1 IN file('{secret}', 'LineAsString')",
        "SELECT count() FROM numbers(1e12)",
        "SELECT count() FROM system.numbers",
        "SELECT * FROM pts.builds WHERE build_id IN (SELECT * FROM file('{secret}', 'TSV'))",
        "WITH (SELECT count() FROM remote('127.0.0.1', system.one)) AS n SELECT n",
        "SELECT 1 SETTINGS readonly = 0",
        "SELECT 1 SETTINGS max_execution_time = 0",
    ],
)
def test_reads_outside_the_history_are_refused(store: HistoryStore, secret: Path, sql: str) -> None:
    assert "hunter2" not in refused(store, sql.format(secret=secret))


@pytest.mark.parametrize(
    ("sql", "reason"),
    [
        ("SELECT 0 IN system.one", "it reads system.one (IN system.one)"),
        ("SELECT 5 IN system.numbers", "it reads system.numbers (IN system.numbers)"),
        ("SELECT 1 IN default.t", "it reads default.t"),
        ("SELECT 1 GLOBAL NOT IN system.one", "it reads system.one"),
        ("SELECT 1 IN `system`.`one`", "it reads system.one"),
        ("SELECT count() FROM pts.builds WHERE build_id NOT IN system.users", "system.users"),
        ("SELECT * FROM `pts.x`.y", "it reads pts.x.y"),
        ("SELECT * FROM pts.builds AS b JOIN system.one AS o ON 1", "it reads system.one"),
    ],
)
def test_tables_outside_the_history_are_refused_wherever_named(
    store: HistoryStore, sql: str, reason: str
) -> None:
    assert reason in refused(store, sql)


@pytest.mark.parametrize(
    "sql",
    [
        "SHOW GRANTS",
        "SHOW PROCESSLIST",
        "SHOW DATABASES",
        "SHOW DATABASES LIKE 'p%'",
        "SHOW USERS",
        "SHOW ROLES",
        "SHOW CURRENT ROLES",
        "SHOW PROFILES",
        "SHOW QUOTA",
        "SHOW ACCESS",
        "SHOW PRIVILEGES",
        "SHOW CREATE USER default",
        "SHOW COLUMNS FROM system.users",
        "SHOW COLUMNS FROM pts.builds",  # its parse does not name the table: DESCRIBE does
        "SHOW INDEX FROM pts.builds",
        "SHOW TABLES",  # parsed as SHOW DATABASES is: FROM pts says which
        "SHOW TABLES FROM system",
        "SHOW TABLES FROM default",
        "SHOW DICTIONARIES",
        "SHOW CLUSTERS",
        "SHOW MERGES",
        "SHOW FILESYSTEM CACHES",
        "SHOW FUNCTIONS",
        "SHOW ENGINES",
        "SHOW CREATE TABLE system.users",
        "SHOW CREATE TABLE builds",
        "SHOW CREATE DATABASE pts",
        "SHOW CREATE VIEW system.tables",
    ],
)
def test_show_statements_that_reveal_the_server_are_refused(store: HistoryStore, sql: str) -> None:
    assert "this SHOW statement may show more than the history" in refused(store, sql)


@pytest.mark.parametrize(
    "sql",
    [
        "SHOW SETTINGS LIKE 'max%'",
        "SHOW CHANGED SETTINGS LIKE '%'",
    ],
)
def test_show_settings_is_refused_by_its_word(store: HistoryStore, sql: str) -> None:
    assert "SETTINGS" in refused(store, sql)


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT getServerSetting('path')",
        "SELECT getSetting('readonly')",
        "SELECT getSettingOrDefault('readonly', 0)",
        "SELECT hostName()",
        "SELECT hostname()",
        "SELECT HOSTNAME()",
        "SELECT FQDN()",
        "SELECT fqdn()",
        "SELECT fullHostName()",
        "SELECT currentUser()",
        "SELECT user()",
        "SELECT current_user()",
        "SELECT currentProfiles()",
        "SELECT currentRoles()",
        "SELECT enabledRoles()",
        "SELECT defaultRoles()",
        "SELECT serverUUID()",
        "SELECT uptime()",
        "SELECT getMacro('replica')",
        "SELECT filesystemAvailable()",
        "SELECT filesystemCapacity()",
        "SELECT filesystemUnreserved()",
        "SELECT tcpPort()",
        "SELECT getOSKernelVersion()",
        "SELECT buildId()",
        "SELECT displayName()",
        "SELECT queryID()",
        "SELECT initialQueryID()",
        "SELECT getClientHTTPHeader('Authorization')",
        "SELECT version()",
        "SELECT Version()",
        "SELECT count() FROM pts.builds WHERE build_id = hostName()",
        "SELECT arrayMap(x -> hostName(), [1])",
        "DESCRIBE (SELECT hostName())",
        "EXPLAIN SELECT hostName()",
        "EXPLAIN SYNTAX SELECT getServerSetting('path')",
    ],
)
def test_functions_that_tell_about_the_server_are_refused(store: HistoryStore, sql: str) -> None:
    assert "tells about the server, not the history" in refused(store, sql)


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT dictGet('users', 'name', 1)",
        "SELECT dictGetString('users', 'name', 1)",
        "SELECT dictHas('users', 1)",
        "SELECT joinGet('system.one', 'dummy', 0)",
        "SELECT hasColumnInTable('system', 'users', 'name')",
        "SELECT regionToName(1)",
        "SELECT FILE('/etc/hostname')",
    ],
)
def test_functions_that_read_outside_the_store_are_refused(store: HistoryStore, sql: str) -> None:
    assert "reads outside the history store" in refused(store, sql)


def test_every_alias_of_a_refused_function_is_refused(store: HistoryStore) -> None:
    # The guard's names are compared case-insensitively; aliases are names of their own.
    refused_names = {name.lower() for name in REVEALING | OUTSIDE}
    functions = store._select("SELECT name, alias_to FROM system.functions", {})
    aliases = [f["name"] for f in functions if f["alias_to"].lower() in refused_names]
    assert {"hostname", "fullHostName", "user", "current_user", "query_id"} <= set(aliases)
    for name in aliases:
        with pytest.raises(QueryRejected):
            check_ast(f"SelectWithUnionQuery (children 1)\n Function {name} (children 1)")


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
        "DESCRIBE pts.builds",
        "SHOW TABLES FROM pts",
        "SHOW TABLES IN pts LIKE '%results'",
        "SHOW CREATE TABLE pts.builds",
        "WITH recent AS (SELECT build_id FROM pts.builds) SELECT count() AS n FROM recent",
        "SELECT count() AS n FROM pts.builds WHERE build_id IN (SELECT build_id FROM pts.builds)",
        "SELECT 'x' IN ('x', 'y') AS found, 1 NOT IN [2, 3] AS absent",
        "EXPLAIN SELECT count() FROM pts.builds",
        "SELECT sleep(0.1) AS slept",
        "SELECT 1 AS one",
    ],
)
def test_reads_of_the_history_still_run(store: HistoryStore, sql: str) -> None:
    store.query(sql)


def test_unqualified_names_are_tables_of_the_history(tmp_path: Path) -> None:
    with ChdbStore(tmp_path / "chdb", readers=1) as store:
        assert store.query("SELECT currentDatabase() AS db") == [{"db": "pts"}]
        assert store.query("SELECT count() AS n FROM builds") == [{"n": 0}]
        assert store.query("SELECT 'b' IN (SELECT build_id FROM builds) AS found") == [{"found": 0}]
        with pytest.raises(StoreError, match="does not exist|UNKNOWN_TABLE"):
            store.query("SELECT count() FROM one")  # not system.one


def test_every_query_runs_within_limits(store: HistoryStore) -> None:
    # Through the backend, past the guard, which refuses getSetting().
    [limits] = store._select(
        "SELECT getSetting('max_execution_time') AS seconds, "
        "getSetting('max_result_rows') AS rows, getSetting('max_result_bytes') AS bytes, "
        "getSetting('result_overflow_mode') AS overflow, "
        "getSetting('max_memory_usage') AS memory",
        {},
    )
    assert (limits["seconds"], limits["rows"]) == (QUERY_TIMEOUT_S, 1_000_000)
    assert (limits["bytes"], limits["overflow"]) == (MAX_RESULT_BYTES, "throw")
    assert 0 < limits["memory"] <= 2_000_000_000
    reason = refused(store, "SELECT n FROM (SELECT arrayJoin(range(2000000)) AS n)")
    assert "the result has more than 1,000,000 rows" in reason and "add LIMIT" in reason


@pytest.mark.parametrize(
    ("sql", "said"),
    [
        ("SELECT * FRM builds", "Syntax error"),
        ("SELECT no_such_column FROM builds", "no_such_column"),
        ("SELECT no_such_function(1)", "no_such_function"),
        ("SELECT * FROM no_such_table", "no_such_table"),
    ],
)
def test_a_query_clickhouse_cannot_run_is_refused_as_the_query_s_mistake(
    store: HistoryStore, sql: str, said: str
) -> None:
    reason = refused(store, sql)  # QueryRejected (exit code 2), not a failing store (1)
    assert reason.startswith("query rejected: ClickHouse cannot run it: ") and said in reason
