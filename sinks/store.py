"""The history store's interface. Backends supply only how to run DDL, insert columns and
select.

Inserts are idempotent for readers of `query()`: the tables are ReplacingMergeTrees keyed by
each event's natural key, and `query()` reads with `final = 1` (see `schema.sql`).
"""

from __future__ import annotations

import json
import re
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, date, datetime
from types import TracebackType
from typing import Any, Self, TypeVar
from zoneinfo import ZoneInfo

from pts.core.errors import QueryRejected, StoreError
from pts.core.events import (
    Build,
    ChampionDecision,
    Commit,
    PredictionBatch,
    SubsetResponse,
    TestResultBatch,
    to_record,
)
from pts.sinks import rows
from pts.sinks.query_guard import check_ast
from pts.sinks.sql import check_read_only, schema_statements

QUERY_TIMEOUT_S = 10
MAX_RESULT_ROWS = 1_000_000
MAX_RESULT_BYTES = 16 * 2**20
"""The most a query may return, as ClickHouse counts its result and as its text (JSON) is long.
Not more: a 64 MB text of narrow rows took 1.4 GB in Python as rows and their JSON answer."""
MAX_CONCURRENT_QUERIES = 4
"""Queries that run at once in a process (`QuerySlots`); one more is refused, not queued."""
RESULT_FORMAT = "JSONCompactEachRowWithNamesAndTypes"


def query_settings(max_result_bytes: int = MAX_RESULT_BYTES) -> dict[str, Any]:
    """The settings every `query()` runs with, besides read-only mode: deduplicated reads,
    limits of time, memory and result size (a query cannot change them: the guard refuses
    SETTINGS), and the result's text as `ResultRows` reads it."""
    return {
        "final": 1,  # FINAL reads dedup the tables
        "max_execution_time": QUERY_TIMEOUT_S,
        "timeout_overflow_mode": "throw",
        "max_memory_usage": 2_000_000_000,
        "max_result_rows": MAX_RESULT_ROWS,
        "max_result_bytes": max_result_bytes,
        "result_overflow_mode": "throw",
        "session_timezone": "UTC",
        "output_format_json_quote_64bit_integers": 0,
        "output_format_json_validate_utf8": 1,
    }


QUERY_SETTINGS = query_settings()
READONLY_ERROR = "Code: 164."
"""How ClickHouse says a statement was refused in read-only mode (READONLY)."""
TOO_LARGE_ERROR = "Code: 396."
"""How ClickHouse says a result passed `max_result_rows` or `max_result_bytes`."""
SYNTAX_ERRORS = ("Code: 62.", "Code: 47.", "Code: 46.", "Code: 60.")
"""How ClickHouse says a query does not parse (62), names an unknown column (47), function
(46) or table (60): the query's own mistake, refused as such (exit code 2), not a store failure."""
_TEMPORAL = re.compile(r"^(?:LowCardinality\()?(?:Nullable\()?(DateTime64|DateTime|Date32|Date)\b")
_TIMEZONE = re.compile(r"'([^']+)'")
T = TypeVar("T")


def first_line(exc: BaseException) -> str:
    """An exception's message on one line, for `StoreError`."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def result_too_large(max_bytes: int, rows: bool = False) -> QueryRejected:
    """The refusal of a result beyond the limits.

    >>> print(result_too_large(16 * 2**20))
    query rejected: the result is larger than 16 MB, the most a query may return: add LIMIT \
or aggregate
    """
    size = (
        f"has more than {MAX_RESULT_ROWS:,} rows" if rows else f"is larger than {_size(max_bytes)}"
    )
    return QueryRejected(
        f"query rejected: the result {size}, the most a query may return: add LIMIT or aggregate"
    )


def _size(count: int) -> str:
    """Bytes in the unit a person reads: `16 MB`, `64 KB`, `30 bytes`."""
    for unit, scale in (("MB", 2**20), ("KB", 2**10)):
        if count >= scale:
            return f"{count / scale:.3g} {unit}"
    return f"{count} bytes"


def store_error(
    backend: str, exc: BaseException, max_result_bytes: int = MAX_RESULT_BYTES
) -> StoreError:
    """The `StoreError` for a backend error: a `QueryRejected` if read-only mode refused the
    statement or its result passed the limits."""
    text = str(exc)
    if READONLY_ERROR in text:
        return QueryRejected(f"query rejected by ClickHouse's read-only mode: {first_line(exc)}")
    if TOO_LARGE_ERROR in text:
        return result_too_large(max_result_bytes, rows="max rows" in text)
    return StoreError(f"{backend}: {first_line(exc)}")


class ResultRows:
    """The rows of a `RESULT_FORMAT` answer (names, types, then one JSON array per row), read
    piece by piece as the text arrives: text beyond `max_bytes` raises `QueryRejected` before
    it is held, whatever ClickHouse counted (it counts a constant column once, not per row).

    >>> result = ResultRows(max_bytes=100)
    >>> result.feed(b'["n", "at"]\\n["UInt8", "Date"]\\n[1, "2024-')
    >>> result.feed(b'01-02"]\\n')
    >>> result.finish()
    [{'n': 1, 'at': datetime.date(2024, 1, 2)}]
    >>> ResultRows(max_bytes=16).feed(b'["n"]\\n["UInt8"]\\n[1]\\n')
    Traceback (most recent call last):
    ...
    pts.core.errors.QueryRejected: query rejected: the result is larger than 16 bytes, ...
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes, self.size = max_bytes, 0
        self.rows: list[dict[str, Any]] = []
        self._names: list[str] = []
        self._converters: list[Callable[[Any], Any] | None] | None = None
        self._partial = b""
        self._error: list[bytes] = []

    def admit(self, size: int) -> None:
        """Count `size` more bytes of text; refuse once the text passes the limit."""
        self.size += size
        if self.size > self.max_bytes:
            raise result_too_large(self.max_bytes)

    def feed(self, text: bytes, counted: bool = False) -> None:
        """Take the next piece of the text (`counted`: `admit` counted it already)."""
        if not counted:
            self.admit(len(text))
        lines = (self._partial + text).split(b"\n")
        self._partial = lines.pop()
        for line in lines:
            self._line(line)

    def finish(self) -> list[dict[str, Any]]:
        """The rows; raises ValueError with ClickHouse's error if the text ended in one (a
        server that fails mid-answer writes its error into the text)."""
        self._line(self._partial)
        self._partial = b""
        if self._error:
            text = b"\n".join(self._error).decode(errors="replace")
            raise ValueError(text[text.find("Code:") :] if "Code:" in text else text)
        return self.rows

    def _line(self, line: bytes) -> None:
        if self._error or not line.strip():
            if self._error:
                self._error.append(line)
            return
        try:
            values = json.loads(line)
        except ValueError:
            self._error.append(line)
            return
        if self._converters is None:
            if not self._names:
                self._names = values
            else:
                self._converters = [_converter(t) for t in values]
            return
        self.rows.append(
            {
                name: value if value is None or convert is None else convert(value)
                for name, value, convert in zip(self._names, values, self._converters, strict=True)
            }
        )


class QuerySlots:
    """At most `size` queries at once in this process, each on a thread of a pool of their
    own (never the event loop's default executor, which `/lag` uses): `submit` takes a free
    slot or refuses at once, so nothing queues. A slot is free again when its query ends, not
    when whoever asked stops waiting."""

    def __init__(self, size: int = MAX_CONCURRENT_QUERIES) -> None:
        self.size = size
        self._free = threading.BoundedSemaphore(size)
        self._pool = ThreadPoolExecutor(size, thread_name_prefix="pts-query")

    @property
    def busy(self) -> str:
        """Why a query was refused, for whoever asked."""
        return f"{self.size} queries are running; retry later"

    def submit(self, query: Callable[..., T], *args: Any) -> Future[T] | None:
        """`query(*args)` on a free slot's thread; None when every slot is taken."""
        if not self._free.acquire(blocking=False):
            return None
        try:
            running = self._pool.submit(self._run, query, *args)
        except BaseException:
            self._free.release()
            raise
        running.add_done_callback(self._release_if_cancelled)  # cancelled before it ran
        return running

    def _release_if_cancelled(self, running: Future[Any]) -> None:
        if running.cancelled():
            self._free.release()

    def _run(self, query: Callable[..., T], *args: Any) -> T:
        try:
            return query(*args)
        finally:
            self._free.release()

    def close(self) -> None:
        """Take no more queries; those running end on their own (within their time limit)."""
        self._pool.shutdown(wait=False, cancel_futures=True)


def _converter(clickhouse_type: str) -> Callable[[Any], Any] | None:
    """How to turn a top-level JSON value of this type into Python; None: as parsed."""
    match = _TEMPORAL.match(clickhouse_type)
    if match is None:
        return None
    if match[1] in ("Date", "Date32"):
        return date.fromisoformat
    named = _TIMEZONE.search(clickhouse_type)
    zone = UTC if named is None or named[1] in ("UTC", "Etc/UTC") else ZoneInfo(named[1])
    return lambda text: datetime.fromisoformat(text).replace(tzinfo=zone)


class HistoryStore(ABC):
    """Builds, commits, test results, subset answers, predictions and champion decisions, in
    tables `pts.*`."""

    max_result_bytes: int = MAX_RESULT_BYTES

    def create_schema(self) -> None:
        """Apply `schema.sql`; every statement is IF NOT EXISTS, so this is safe to repeat."""
        for statement in schema_statements():
            self._execute(statement)

    def insert_builds(self, builds: Sequence[Build]) -> int:
        """Insert builds; returns the number of rows written."""
        return self.insert_records("Build", [to_record(b) for b in builds])

    def insert_commits(self, commits: Sequence[Commit]) -> int:
        return self.insert_records("Commit", [to_record(c) for c in commits])

    def insert_test_results(self, batches: Sequence[TestResultBatch]) -> int:
        """Insert every result of every batch, one row per test result."""
        return self.insert_records("TestResultBatch", [to_record(b) for b in batches])

    def insert_subset_responses(self, responses: Sequence[SubsetResponse]) -> int:
        return self.insert_records("SubsetResponse", [to_record(r) for r in responses])

    def insert_predictions(self, batches: Sequence[PredictionBatch]) -> int:
        """Insert every prediction of every batch, one row per predicted result."""
        return self.insert_records("PredictionBatch", [b.to_record() for b in batches])

    def insert_champion_decisions(self, decisions: Sequence[ChampionDecision]) -> int:
        return self.insert_records("ChampionDecision", [d.to_record() for d in decisions])

    def insert_records(self, kind: str, records: Sequence[Mapping[str, Any]]) -> int:
        """Insert events of one kind (an Avro schema name: "TestResultBatch") as the wire
        decodes them, in one request; returns the number of rows written. A record that does
        not fit its table's columns raises `StoreError`, as a value the store refuses does."""
        table, to_columns = rows.TABLE_OF_KIND[kind]
        try:
            columns = to_columns(records)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise StoreError(f"a {kind} record does not fit {table}: {exc!r}") from exc
        written = rows.row_count(columns)
        if written:
            self._insert(table, columns)
        return written

    def probe_write(self) -> None:
        """Write one row to `pts.store_probe`; raises StoreError when the store takes none."""
        self._insert(rows.STORE_PROBE, rows.probe_columns(datetime.now(UTC)))

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """Run one read-only statement; rows as dicts (datetimes as aware datetimes).

        `params` fill ClickHouse placeholders such as ``{project:String}``. Anything but a
        single SELECT, WITH, SHOW, DESCRIBE or EXPLAIN raises `QueryRejected`, and so does one
        that ClickHouse's own parse shows reading anything but the tables of database `pts`
        (`query_guard`); the backend also runs it in ClickHouse's read-only mode, within the
        limits of `query_settings` (a result past them: `QueryRejected`, and never held whole),
        with `pts` as the current database. Duplicate keys are collapsed (FINAL). A query
        ClickHouse cannot parse or resolve (a syntax error, an unknown column, function or
        table) is `QueryRejected` too: the query's mistake, not the store's.
        """
        statement, params = check_read_only(sql), dict(params or {})
        try:
            parsed = self._select(f"EXPLAIN AST {statement}", params)
            check_ast("\n".join(str(next(iter(row.values()))) for row in parsed))
            return self._select(statement, params)
        except QueryRejected:
            raise
        except StoreError as exc:
            if any(code in str(exc) for code in SYNTAX_ERRORS):  # the query's own mistake
                raise QueryRejected(f"query rejected: ClickHouse cannot run it: {exc}") from exc
            raise

    @abstractmethod
    def _execute(self, statement: str) -> None:
        """Run one statement that returns nothing (DDL)."""

    @abstractmethod
    def _insert(self, table: str, columns: rows.Columns) -> None:
        """Insert the rows of `columns` (every column of `table`, in its order; datetimes as
        epoch milliseconds) into `table` in one request."""

    @abstractmethod
    def _select(self, statement: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        """Run a checked read-only statement in read-only mode with `query_settings`, in
        database `pts`; its text read by `ResultRows`, at most `max_result_bytes` of it."""

    @abstractmethod
    def close(self) -> None:
        """Release the connection; the store is unusable afterwards. Safe to call twice."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
