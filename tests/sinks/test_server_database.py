"""The server store creates the database its URL names: a fresh ClickHouse server (the
compose stack's, or anyone's) refuses a connection that names a database it does not have.
Driven on the real engine through clickhouse-connect's chdb interface, the server's code path."""

from __future__ import annotations

from pathlib import Path

import clickhouse_connect
import pytest
from clickhouse_connect.driver.exceptions import DatabaseError

from pts.sinks.server_store import ServerStore, use_database


def test_a_client_naming_a_missing_database_is_refused(tmp_path: Path) -> None:
    # What ServerStore.connect did before: it passed the URL's database to the client.
    with pytest.raises(DatabaseError, match="Database analytics does not exist"):
        clickhouse_connect.get_client(interface="chdb", path=str(tmp_path), database="analytics")


def test_the_urls_database_is_created_and_becomes_the_default(tmp_path: Path) -> None:
    client = clickhouse_connect.get_client(interface="chdb", path=str(tmp_path), tz_mode="aware")
    use_database(client, "analytics")
    store = ServerStore(client)
    try:
        assert client.command("SELECT currentDatabase()") == "analytics"
        assert store.query("SELECT count() AS n FROM pts.test_results", {}) == [{"n": 0}]
    finally:
        store.close()
    again = clickhouse_connect.get_client(interface="chdb", path=str(tmp_path))
    use_database(again, "analytics")  # an existing database is left as it is
    assert again.command("SELECT currentDatabase()") == "analytics"
    again.close()
