"""The history store's interface. Backends supply only how to run DDL, insert columns and
select.

Inserts are idempotent for readers of `query()`: the tables are ReplacingMergeTrees keyed by
each event's natural key, and `query()` reads with `final = 1` (see `schema.sql`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self

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
QUERY_SETTINGS: dict[str, Any] = {
    "final": 1,  # FINAL reads dedup the tables
    "max_execution_time": QUERY_TIMEOUT_S,
    "timeout_overflow_mode": "throw",
    "max_memory_usage": 2_000_000_000,
    "max_result_rows": 1_000_000,
    "result_overflow_mode": "throw",
}
"""Settings every `query()` runs with, besides read-only mode: deduplicated reads, and limits
of time, memory and result size (a query cannot change them: the guard refuses SETTINGS)."""
READONLY_ERROR = "Code: 164."
"""How ClickHouse says a statement was refused in read-only mode (READONLY)."""


def first_line(exc: BaseException) -> str:
    """An exception's message on one line, for `StoreError`."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def store_error(backend: str, exc: BaseException) -> StoreError:
    """The `StoreError` (or `QueryRejected`, if read-only mode refused it) for a backend error."""
    if READONLY_ERROR in str(exc):
        return QueryRejected(f"query rejected by ClickHouse's read-only mode: {first_line(exc)}")
    return StoreError(f"{backend}: {first_line(exc)}")


class HistoryStore(ABC):
    """Builds, commits, test results, subset answers, predictions and champion decisions, in
    tables `pts.*`."""

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
        limits of `QUERY_SETTINGS`. Duplicate keys are collapsed (FINAL).
        """
        statement, params = check_read_only(sql), dict(params or {})
        parsed = self._select(f"EXPLAIN AST {statement}", params)
        check_ast("\n".join(str(next(iter(row.values()))) for row in parsed))
        return self._select(statement, params)

    @abstractmethod
    def _execute(self, statement: str) -> None:
        """Run one statement that returns nothing (DDL)."""

    @abstractmethod
    def _insert(self, table: str, columns: rows.Columns) -> None:
        """Insert the rows of `columns` (every column of `table`, in its order; datetimes as
        epoch milliseconds) into `table` in one request."""

    @abstractmethod
    def _select(self, statement: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        """Run a checked read-only statement in read-only mode with `QUERY_SETTINGS`."""

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
