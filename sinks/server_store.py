"""The server backend: a ClickHouse server over HTTP(S), through clickhouse-connect.

Thin on purpose: the DDL (`schema.sql`, one statement per request), the columns (`rows.py`)
and the read-only check are shared with the embedded backend.

>>> parse_clickhouse_url("https://ci:s%40cret@ch.example:8443/analytics")
ServerAddress(host='ch.example', port=8443, username='ci', password='s@cret', \
database='analytics', secure=True)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import clickhouse_connect
from clickhouse_connect.driver.binding import quote_identifier
from clickhouse_connect.driver.client import Client

from pts.core.errors import ConfigError, StoreError
from pts.sinks import rows
from pts.sinks.query_guard import DATABASE
from pts.sinks.store import (
    MAX_RESULT_BYTES,
    QUERY_SETTINGS,
    RESULT_FORMAT,
    HistoryStore,
    ResultRows,
    first_line,
    query_settings,
    store_error,
)

# readonly = 2, not 1: clickhouse-connect sends settings of its own with each query, which
# readonly = 1 would refuse. 2 still refuses every write and DDL. `database`: the current
# database of the request (an HTTP parameter), so that unqualified names are tables of `pts`.
SELECT_SETTINGS: dict[str, Any] = {"readonly": 2, **QUERY_SETTINGS, "database": DATABASE}
PIECE_BYTES = 1 << 20
"""How much of a result's text is read at a time."""
_DEFAULT_PORTS = {"http": 8123, "https": 8443}


@dataclass(frozen=True, slots=True)
class ServerAddress:
    host: str
    port: int
    username: str
    password: str
    database: str
    secure: bool


def parse_clickhouse_url(url: str) -> ServerAddress:
    """http(s)://user:password@host:port/database; user, password, port and database optional.

    The tables live in database `pts` whatever the URL says; its database is the default one
    of the connection.
    """
    parts = urlsplit(url)
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise ConfigError(
            f"clickhouse_url {url!r} is not http(s)://user:password@host:port/database"
        )
    try:
        port = parts.port or _DEFAULT_PORTS[parts.scheme]
    except ValueError:
        raise ConfigError(f"clickhouse_url {url!r} has an invalid port") from None
    return ServerAddress(
        host=parts.hostname,
        port=port,
        username=unquote(parts.username) if parts.username else "default",
        password=unquote(parts.password) if parts.password else "",
        database=parts.path.strip("/") or "default",
        secure=parts.scheme == "https",
    )


def use_database(client: Client, database: str) -> None:
    """Make `database` the connection's default, creating it if it is missing: a client that
    connects naming a missing database is refused ("Database pts does not exist")."""
    if not int(client.command(f"EXISTS DATABASE {quote_identifier(database)}")):
        client.command(f"CREATE DATABASE IF NOT EXISTS {quote_identifier(database)}")
    client.database = database


class ServerStore(HistoryStore):
    """History store on a ClickHouse server; `connect(url)` builds one from a URL."""

    def __init__(self, client: Client, max_result_bytes: int = MAX_RESULT_BYTES) -> None:
        """`max_result_bytes`: the largest result a query returns."""
        self._client: Client | None = client
        self.max_result_bytes = max_result_bytes
        self._settings = {**SELECT_SETTINGS, **query_settings(max_result_bytes)}
        self.create_schema()

    @classmethod
    def connect(cls, url: str) -> ServerStore:
        address = parse_clickhouse_url(url)
        try:
            client = clickhouse_connect.get_client(
                host=address.host,
                port=address.port,
                username=address.username,
                password=address.password,
                secure=address.secure,
                tz_mode="aware",
                # No session: the loader's inserts and the analysts' queries share this client
                # from two threads, and one session takes one query at a time ("session is
                # locked"). Every setting goes with its own request, so none is needed.
                autogenerate_session_id=False,
            )
            use_database(client, address.database)
        except Exception as exc:
            raise StoreError(
                f"ClickHouse at {address.host}:{address.port}: {first_line(exc)}"
            ) from exc
        return cls(client)

    def _execute(self, statement: str) -> None:
        self._call(lambda client: client.command(statement))

    def _insert(self, table: str, columns: rows.Columns) -> None:
        names = list(rows.COLUMNS[table])
        data = [columns[name] for name in names]  # datetimes: ints, which it sends as ticks
        self._call(
            lambda client: client.insert(table, data, column_names=names, column_oriented=True)
        )

    def _select(self, statement: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        """The result's text streamed and read piece by piece, so that no more of it than
        `max_result_bytes` is ever held: clickhouse-connect's own `query()` takes it whole.
        An EXPLAIN still goes through `query()`: the FORMAT clause that names the text's format
        would be the explained statement's, and its answer is the size of the statement."""
        if statement.split(None, 1)[0].upper() == "EXPLAIN":
            answer = self._call(
                lambda client: client.query(statement, parameters=params, settings=self._settings)
            )
            return list(answer.named_results())

        def read(client: Client) -> list[dict[str, Any]]:
            result = ResultRows(self.max_result_bytes)
            text = client.raw_stream(
                statement, parameters=params, settings=self._settings, fmt=RESULT_FORMAT
            )
            try:
                while piece := text.read(PIECE_BYTES):
                    result.feed(piece)
            finally:
                text.close()
            return result.finish()

        rows: list[dict[str, Any]] = self._call(read)
        return rows

    def _call(self, action: Any) -> Any:
        if self._client is None:
            raise StoreError("the ClickHouse store is closed")
        try:
            return action(self._client)
        except StoreError:
            raise
        except Exception as exc:  # clickhouse-connect raises DatabaseError, OperationalError...
            raise store_error("ClickHouse", exc, self.max_result_bytes) from exc

    def close(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            client.close()
