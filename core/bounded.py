"""Outside data, bounded where it is made: a reason, a key, a log field or an error message that
carries what a message or a user sent is cut to a size every reader can take (a dead letter
under the broker's limit, a log line a person can read). The one helper for it.

>>> bounded("abc")
'abc'
>>> bounded("x" * 50, limit=20)
'xxxxxxxx… (50 chars)'
>>> described(UnicodeDecodeError("utf-8", b"\\xff" * 1_000_000, 0, 1, "invalid start byte"))
"UnicodeDecodeError: 'utf-8' codec can't decode byte 0xff in position 0: invalid start byte"
>>> len(described(ValueError("v" * 1_000_000))) <= MAX_CHARS
True
"""

from __future__ import annotations

from typing import Any

MAX_CHARS = 1_000  # a reason, a log field: what a person reads in one line
_PRIMITIVES = (int, float, bool, type(None))


def bounded(text: str, limit: int = MAX_CHARS) -> str:
    """`text`, or its start and its length when it is longer than `limit` characters."""
    if len(text) <= limit:
        return text
    tail = f"… ({len(text)} chars)"
    return text[: max(limit - len(tail), 0)] + tail


def bounded_bytes(data: bytes, limit: int) -> bytes:
    """`data` cut to `limit` bytes."""
    return data if len(data) <= limit else data[:limit]


def described(exc: BaseException, limit: int = MAX_CHARS) -> str:
    """An exception as one bounded line: its type and message, never its repr (a
    UnicodeDecodeError's repr holds the whole input, four characters a byte)."""
    return bounded(f"{type(exc).__name__}: {exc}", limit)


def bounded_value(value: Any, limit: int = MAX_CHARS) -> Any:
    """A log field's value, bounded: text and bytes cut, containers whose text is too long
    replaced by their bounded text; numbers as they are."""
    if isinstance(value, _PRIMITIVES):
        return value
    if isinstance(value, str):
        return bounded(value, limit)
    if isinstance(value, (bytes, bytearray)):
        return bounded(repr(bytes(value[: limit // 4 + 1])), limit)
    text = str(value)
    if isinstance(value, (dict, list, tuple)) and len(text) <= limit * 4:
        return value  # offsets, counts: kept as JSON while they are readable
    return bounded(text, limit)
