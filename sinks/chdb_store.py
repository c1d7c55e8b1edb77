"""The embedded backend: chdb (ClickHouse in-process) with its data under a local directory.

chdb runs one embedded server per process, bound to one data directory: while a store is open,
another directory cannot be opened in this process, and no other process can open this one.
The store holds one session that writes and `readers` sessions that read, with `readonly = 1`,
`final = 1` and the limits of `query_settings`, in database `pts`. A query takes an idle reader
(one session per thread, as chdb's `Session` docs ask for concurrency), so an analyst's query (up
to its time limit) never holds up the history loader's inserts, nor another query: chdb runs
queries of different sessions at once and releases the GIL while it works.

Inserts go in as one Arrow table per call, read by chdb's `Python()` table function: no text
format to write per row, and the datetimes travel as epoch milliseconds.
"""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path
from typing import Any

import pyarrow as pa
from chdb import session as chdb_session

from pts.core.errors import StoreError
from pts.sinks import rows
from pts.sinks.chdb_lock import holder_of
from pts.sinks.query_guard import DATABASE
from pts.sinks.store import (
    MAX_CONCURRENT_QUERIES,
    MAX_RESULT_BYTES,
    QUERY_SETTINGS,
    RESULT_FORMAT,
    HistoryStore,
    ResultRows,
    first_line,
    store_error,
)

_READER_SETTINGS: dict[str, Any] = {
    **QUERY_SETTINGS,
    "readonly": 1,  # last: once set, the session can change no setting
}

_FILES = pa.list_(
    pa.struct([("path", pa.string()), ("added", pa.uint32()), ("deleted", pa.uint32())])
)
_NOT_STRINGS: dict[str, dict[str, pa.DataType]] = {
    rows.BUILDS: {"commits": pa.list_(pa.string()), "changed_files": _FILES},
    rows.COMMITS: {"parents": pa.list_(pa.string()), "changed_files": _FILES},
    rows.TEST_RESULTS: {"slice": pa.uint32(), "duration_s": pa.float64()},
    rows.SUBSET_RESPONSES: {
        **dict.fromkeys(
            ("part", "parts", "subset_size", "candidates", "results_behind"), pa.uint32()
        ),
        **dict.fromkeys(("expected_share_of_time", "expected_share_of_failures"), pa.float64()),
        "ranked": pa.list_(pa.string()),
        "reasons": pa.list_(pa.string()),
        "observe": pa.bool_(),
    },
    rows.PREDICTIONS: {"slice": pa.uint32(), "probability": pa.float64(), "failed": pa.bool_()},
    rows.STORE_PROBE: {"probe": pa.uint8()},
    rows.CHAMPION_DECISIONS: {
        "records": pa.map_(pa.string(), pa.float64()),
        "scored": pa.uint32(),
        "results_learned": pa.uint64(),
    },
}
_MILLIS = pa.timestamp("ms", tz="UTC")
ARROW_SCHEMAS: dict[str, pa.Schema] = {
    table: pa.schema(
        [
            (c, _MILLIS if c in rows.DATETIME_COLUMNS else _NOT_STRINGS[table].get(c, pa.string()))
            for c in columns
        ]
    )
    for table, columns in rows.COLUMNS.items()
}
"""Each table's columns as Arrow types; the rest of the mapping to ClickHouse types (Enum8,
LowCardinality, Nullable, Tuple, DateTime64) is ClickHouse's own on insert."""


class ChdbStore(HistoryStore):
    """History store embedded in this process, persisted under `path`."""

    def __init__(
        self,
        path: Path | str,
        readers: int = MAX_CONCURRENT_QUERIES,
        max_result_bytes: int = MAX_RESULT_BYTES,
    ) -> None:
        """`readers`: queries that run at once (more wait for an idle reader);
        `max_result_bytes`: the largest result a query returns."""
        self.path, self.max_result_bytes = Path(path), max_result_bytes
        self._writing = threading.Lock()
        self._idle_readers = threading.Condition()
        self._writer: chdb_session.Session | None = None
        self._readers: list[chdb_session.Session] = []
        self._idle: list[chdb_session.Session] = []
        self.path.mkdir(parents=True, exist_ok=True)
        try:
            self._writer = self._open()
            self._run(self._writer, "SET session_timezone = 'UTC'")
            self.create_schema()
            for _ in range(readers):
                reader = self._open()
                self._readers.append(reader)
                self._idle.append(reader)
                self._reader_setup(reader)
        except BaseException:
            self.close()
            raise

    def _open(self) -> chdb_session.Session:
        try:
            return chdb_session.Session(str(self.path))
        except Exception as exc:
            holder = holder_of(self.path)
            if holder and holder != os.getpid():
                raise StoreError(
                    f"chdb cannot open {self.path}: process {holder} holds it, and chdb lets one "
                    "process open a data directory (a `pts worker` that loads the history, or "
                    "`pts loader`): stop it, or use another PTS_DATA_DIR"
                ) from exc
            raise StoreError(
                f"chdb cannot open {self.path} ({first_line(exc)}); is another process or "
                "another store directory of this process using chdb?"
            ) from exc

    def _reader_setup(self, reader: chdb_session.Session) -> None:
        settings = {**_READER_SETTINGS, "max_result_bytes": self.max_result_bytes}
        try:
            reader.query(f"USE {DATABASE}")
            for name, value in settings.items():  # readonly last
                reader.query(f"SET {name} = {_literal(value)}")
        except Exception as exc:
            raise store_error("chdb", exc) from exc

    def _execute(self, statement: str) -> None:
        self._run(self._writer, statement)

    def _insert(self, table: str, columns: rows.Columns) -> None:
        try:
            pts_insert_columns = pa.table(columns, schema=ARROW_SCHEMAS[table])
        except (pa.ArrowException, OverflowError, TypeError, ValueError) as exc:
            raise StoreError(f"chdb: a value does not fit {table}: {first_line(exc)}") from exc
        names = ", ".join(rows.COLUMNS[table])
        # chdb's Python() finds the table by this local variable's name, up the calling frames.
        self._run(
            self._writer,
            f"INSERT INTO {table} ({names}) SELECT {names} FROM Python(pts_insert_columns)",
        )
        del pts_insert_columns

    def _select(self, statement: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        result = ResultRows(self.max_result_bytes)
        reader = self._take_reader()
        try:
            answer = reader.query(statement, RESULT_FORMAT, params=params or None)
            result.admit(answer.size())  # before the text is copied out of chdb
            result.feed(answer.bytes(), counted=True)
            return result.finish()
        except StoreError:
            raise
        except Exception as exc:  # chdb raises ChdbError, RuntimeError or ValueError
            _drain(reader, RESULT_FORMAT)
            raise store_error("chdb", exc, self.max_result_bytes) from exc
        finally:
            with self._idle_readers:
                self._idle.append(reader)
                self._idle_readers.notify_all()  # a query, or close(), waits for it

    def _take_reader(self) -> chdb_session.Session:
        """An idle reader, once one is; StoreError once the store is closed."""
        with self._idle_readers:
            self._idle_readers.wait_for(lambda: self._idle or not self._readers)
            if not self._readers:
                raise StoreError(f"the chdb store at {self.path} is closed")
            return self._idle.pop()

    def _run(
        self,
        target: chdb_session.Session | None,
        sql: str,
        fmt: str = "CSV",
        params: dict[str, Any] | None = None,
    ) -> bytes:
        """Run `sql` on the writer (or, in tests, on another session of the store)."""
        with self._writing:
            if target is None or (target is not self._writer and target not in self._readers):
                raise StoreError(f"the chdb store at {self.path} is closed")
            try:
                return target.query(sql, fmt, params=params or None).bytes()
            except Exception as exc:  # chdb raises ChdbError, RuntimeError or ValueError
                _drain(target, fmt)
                raise store_error("chdb", exc) from exc

    def close(self) -> None:
        """Wait for the running queries (each within its time limit), then end every session."""
        with self._idle_readers:
            self._idle_readers.wait_for(lambda: len(self._idle) == len(self._readers))
            readers, self._readers, self._idle = self._readers, [], []
            self._idle_readers.notify_all()  # whoever waits for a reader: the store is closed
        with self._writing:
            for session in [*readers, self._writer]:
                if session is not None:
                    session.cleanup()
            self._writer = None


def _drain(session: chdb_session.Session, fmt: str) -> None:
    """Take what a failed query left behind. chdb (4.4) keeps the header a query had written
    before it failed (a time limit, say) and puts it before the next result of that session,
    which would then read as rows: a throw-away query in the same format takes it."""
    with contextlib.suppress(Exception):  # the session's own error is raised already
        session.query("SELECT 1", fmt)


def _literal(value: Any) -> str:
    return str(value) if isinstance(value, int) else "'" + str(value).replace("'", "\\'") + "'"
