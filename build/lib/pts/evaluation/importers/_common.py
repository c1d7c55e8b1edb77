"""Helpers shared by the importers: reading CSV rows with line numbers, numbers, times."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pts.core.errors import DatasetError

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def project_name(history_name: str) -> str:
    """The project a history is replayed into by default: its name, with `-` for `_`."""
    return history_name.replace("_", "-")


def open_rows(
    path: Path, required: tuple[str, ...], delimiter: str = ","
) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row) for each data row of a CSV file whose header has `required` columns."""
    try:
        file = path.open(newline="", encoding="utf-8-sig")
    except OSError as e:
        raise DatasetError(f"{path}: cannot read: {e.strerror or e}") from e
    with file:
        reader = csv.DictReader(file, delimiter=delimiter)
        try:
            header = reader.fieldnames or []
            missing = [c for c in required if c not in header]
            if missing:
                raise DatasetError(f"{path}:1: missing column(s) {', '.join(missing)}")
            for row in reader:
                if None in row or any(row[c] is None for c in required):
                    raise DatasetError(f"{path}:{reader.line_num}: expected {len(header)} fields")
                yield reader.line_num, row
        except (csv.Error, UnicodeDecodeError) as e:
            raise DatasetError(f"{path}:{reader.line_num}: not valid CSV: {e}") from e


def number(path: Path, line: int, column: str, text: str, kind: type = float) -> float:
    """`text` as a number of `kind`, or a DatasetError naming the file, line and column."""
    text = text.strip()
    try:
        value = kind(0) if text == "-" else kind(text)  # "-": git numstat of a binary file
    except ValueError:
        raise DatasetError(f"{path}:{line}: {column} is not a number: {text!r}") from None
    if value != value or value < 0:  # NaN or negative
        raise DatasetError(f"{path}:{line}: {column} must be a non-negative number: {text!r}")
    return value


def timestamp(path: Path, line: int, column: str, text: str) -> datetime:
    """An ISO 8601 time (UTC when it has no offset), or a DatasetError naming file and line."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise DatasetError(f"{path}:{line}: {column} is not an ISO time: {text!r}") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def placeholder_time(index: int) -> datetime:
    """A stand-in start time for cycle `index` of a history without times: order is kept."""
    return EPOCH + timedelta(minutes=index)
