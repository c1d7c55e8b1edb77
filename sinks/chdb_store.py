"""The embedded backend: chdb (ClickHouse in-process) with its data under a local directory.

chdb runs one embedded server per process, bound to one data directory: while a store is open,
another directory cannot be opened in this process, and no other process can open this one.
The store holds two sessions on it: one writes, one reads with `readonly = 1` and `final = 1`.
Each session has its own lock, so an analyst's query (up to its time limit) never holds up the
history loader's inserts: chdb runs queries of different sessions at once and releases the GIL
while it works (its `Session` docs: one session per thread, for concurrency).

Inserts go in as one Arrow table per call, read by chdb's `Python()` table function: no text
format to write per row, and the datetimes travel as epoch milliseconds.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa
from chdb import session as chdb_session

from pts.core.errors import StoreError
from pts.sinks import rows
from pts.sinks.store import QUERY_SETTINGS, HistoryStore, first_line, store_error

_READER_SETTINGS: dict[str, Any] = {
    "session_timezone": "UTC",
    "output_format_json_quote_64bit_integers": 0,
    **QUERY_SETTINGS,
    "readonly": 1,  # last: once set, the session can change no setting
}
_TEMPORAL = re.compile(r"^(?:LowCardinality\()?(?:Nullable\()?(DateTime64|DateTime|Date32|Date)\b")
_TIMEZONE = re.compile(r"'([^']+)'")

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

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._writing = threading.Lock()
        self._reading = threading.Lock()
        self._writer: chdb_session.Session | None = None
        self._reader: chdb_session.Session | None = None
        self.path.mkdir(parents=True, exist_ok=True)
        try:
            self._writer = self._open()
            self._reader = self._open()
            self._run(self._writer, "SET session_timezone = 'UTC'")
            for name, value in _READER_SETTINGS.items():
                self._run(self._reader, f"SET {name} = {_literal(value)}")
            self.create_schema()
        except BaseException:
            self.close()
            raise

    def _open(self) -> chdb_session.Session:
        try:
            return chdb_session.Session(str(self.path))
        except Exception as exc:
            raise StoreError(
                f"chdb cannot open {self.path} ({first_line(exc)}); is another process or "
                "another store directory of this process using chdb?"
            ) from exc

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
        raw = self._run(self._reader, statement, "JSONCompactEachRowWithNamesAndTypes", params)
        lines = raw.splitlines()
        if len(lines) < 2:
            return []
        names, types = json.loads(lines[0]), json.loads(lines[1])
        converters = [_converter(t) for t in types]
        result = []
        for line in lines[2:]:
            values = json.loads(line)
            result.append(
                {
                    name: value if value is None or convert is None else convert(value)
                    for name, value, convert in zip(names, values, converters, strict=True)
                }
            )
        return result

    def _run(
        self,
        target: chdb_session.Session | None,
        sql: str,
        fmt: str = "CSV",
        params: dict[str, Any] | None = None,
    ) -> bytes:
        with self._reading if target is self._reader else self._writing:
            if target is None or target not in (self._writer, self._reader):
                raise StoreError(f"the chdb store at {self.path} is closed")
            try:
                return target.query(sql, fmt, params=params or None).bytes()
            except Exception as exc:  # chdb raises ChdbError, RuntimeError or ValueError
                _drain(target, fmt)
                raise store_error("chdb", exc) from exc

    def close(self) -> None:
        with self._writing, self._reading:  # always in this order: no deadlock with _run
            for session in (self._reader, self._writer):
                if session is not None:
                    session.cleanup()
            self._reader = self._writer = None


def _drain(session: chdb_session.Session, fmt: str) -> None:
    """Take what a failed query left behind. chdb (4.4) keeps the header a query had written
    before it failed (a time limit, say) and puts it before the next result of that session,
    which would then read as rows: a throw-away query in the same format takes it."""
    with contextlib.suppress(Exception):  # the session's own error is raised already
        session.query("SELECT 1", fmt)


def _literal(value: Any) -> str:
    return str(value) if isinstance(value, int) else "'" + str(value).replace("'", "\\'") + "'"


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
