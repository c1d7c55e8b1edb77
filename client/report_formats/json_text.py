"""Reading the JSON and JSON-lines reports of the runners' own formats, with errors that name
the file and line."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pts.core.errors import ReportError

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def read_json(path: Path, form: str) -> Any:
    """The JSON document in `path` (a `form`, for the error that says it is none)."""
    text = _text(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReportError(str(path), exc.lineno, f"not a {form}: {exc.msg}") from exc


def json_lines(path: Path, form: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """The line number and object of each JSON object line of `path`; lines that are no JSON
    object (a runner's own output between the events) are skipped, a broken object line is
    an error."""
    for number, line in enumerate(_text(path).splitlines(), 1):
        if not line.lstrip().startswith("{"):
            continue
        try:
            event = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ReportError(str(path), number, f"not a {form} line: {exc.msg}") from exc
        if isinstance(event, dict):
            yield number, event


def plain(text: str) -> str:
    """`text` without terminal colour codes.

    >>> plain("\\x1b[2mexpect(\\x1b[22mreceived)")
    'expect(received)'
    """
    return _ANSI.sub("", text).strip()


def sniff_lines(head: str, *markers: str) -> bool:
    """Whether one of the first JSON object lines of `head` holds every marker."""
    lines = [line for line in head.splitlines() if line.lstrip().startswith("{")][:5]
    return any(all(marker in line for marker in markers) for line in lines)


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ReportError(str(path), None, f"cannot read the report: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise ReportError(str(path), None, f"not UTF-8 text (byte {exc.start})") from exc
