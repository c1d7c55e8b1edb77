"""The history store's interface. Backends supply only how to run DDL, insert rows and select.

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
)
from pts.sinks import rows
from pts.sinks.query_guard import check_ast
from pts.sinks.rows import Row
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
        return self._insert_rows(rows.BUILDS, [rows.build_row(b) for b in builds])

    def insert_commits(self, commits: Sequence[Commit]) -> int:
        return self._insert_rows(rows.COMMITS, [rows.commit_row(c) for c in commits])

    def insert_test_results(self, batches: Sequence[TestResultBatch]) -> int:
        """Insert every result of every batch, one row per test result."""
        flat = [row for batch in batches for row in rows.test_result_rows(batch)]
        return self._insert_rows(rows.TEST_RESULTS, flat)

    def insert_subset_responses(self, responses: Sequence[SubsetResponse]) -> int:
        table = rows.SUBSET_RESPONSES
        return self._insert_rows(table, [rows.subset_response_row(r) for r in responses])

    def insert_predictions(self, batches: Sequence[PredictionBatch]) -> int:
        """Insert every prediction of every batch, one row per predicted result."""
        flat = [row for batch in batches for row in rows.prediction_rows(batch)]
        return self._insert_rows(rows.PREDICTIONS, flat)

    def insert_champion_decisions(self, decisions: Sequence[ChampionDecision]) -> int:
        table = rows.CHAMPION_DECISIONS
        return self._insert_rows(table, [rows.champion_decision_row(d) for d in decisions])

    def probe_write(self) -> None:
        """Write one row to `pts.store_probe`; raises StoreError when the store takes none."""
        row = {"probe": 1, "probed_at": datetime.now(UTC)}
        self._insert(rows.STORE_PROBE, rows.COLUMNS[rows.STORE_PROBE], [row])

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

    def _insert_rows(self, table: str, table_rows: list[Row]) -> int:
        if table_rows:
            self._insert(table, rows.COLUMNS[table], table_rows)
        return len(table_rows)

    @abstractmethod
    def _execute(self, statement: str) -> None:
        """Run one statement that returns nothing (DDL)."""

    @abstractmethod
    def _insert(self, table: str, columns: tuple[str, ...], table_rows: list[Row]) -> None:
        """Insert rows (dicts holding at least `columns`) into `table` in one request."""

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
