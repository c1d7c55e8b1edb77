"""Rows of `pts query` (JSON lines from the history) as a person or a program reads them:
JSON lines, CSV with a header, or an aligned table with a header.

>>> lines = ['{"test_id": "a::b", "runs": 12, "rate": 0.25}',
...          '{"test_id": "c", "runs": 3, "rate": null}']
>>> print("\\n".join(formatted(lines, "table")))
test_id  runs  rate
-------  ----  ----
a::b       12  0.25
c           3
>>> print("\\n".join(formatted(lines, "csv")))
test_id,runs,rate
a::b,12,0.25
c,3,
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from typing import Any

FORMATS = ("json", "csv", "table")


def formatted(lines: Iterable[str], fmt: str) -> Iterator[str]:
    """`lines` (one JSON object each) in `fmt`; JSON lines and CSV stream, a table waits for
    every row to size its columns."""
    if fmt == "json":
        yield from lines
    elif fmt == "csv":
        yield from _csv(json.loads(line) for line in lines)
    else:
        yield from _table([json.loads(line) for line in lines])


def _csv(rows: Iterable[dict[str, Any]]) -> Iterator[str]:
    columns: list[str] | None = None
    for row in rows:
        if columns is None:
            columns = list(row)
            yield _csv_line(columns)
        yield _csv_line([_cell(row.get(column)) for column in columns])


def _csv_line(values: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow(values)
    return buffer.getvalue()


def _table(rows: list[dict[str, Any]]) -> Iterator[str]:
    if not rows:
        return
    columns = list(rows[0])
    cells = [[_cell(row.get(column)) for column in columns] for row in rows]
    numeric = [all(_is_number(row.get(column)) for row in rows) for column in columns]
    widths = [max(len(c), *(len(line[i]) for line in cells)) for i, c in enumerate(columns)]

    def aligned(values: list[str]) -> str:
        padded = (
            value.rjust(width) if right else value.ljust(width)
            for value, width, right in zip(values, widths, numeric, strict=True)
        )
        return "  ".join(padded).rstrip()

    yield aligned(columns)
    yield "  ".join("-" * width for width in widths)
    for line in cells:
        yield aligned(line)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def _is_number(value: Any) -> bool:
    return value is None or (isinstance(value, (int, float)) and not isinstance(value, bool))
