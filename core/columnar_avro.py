"""A reader of Avro binary compiled from a schema, for the messages whose bulk is columns.

fastavro reads an array one item at a time through its generic dispatch: about 0.8 us per
string and 0.4 us per double here, 5 us per test result of a `TestResultBatch` (seven columns),
a quarter of what learning the result costs. This reader is compiled once per schema into
closures, one per field: a column of doubles is one `struct.unpack_from`, a column of enums one
pass over its bytes, a column of strings one loop of slices. It reads what fastavro
reads, value for value (`tests/core/test_columnar_avro.py` holds it to fastavro and to the
reference `avro` package), and only the writer's own schema: an earlier version, read into the
current one, goes through fastavro's schema resolution.

It knows the types the contracts use, except maps: `compile_reader` raises `Unsupported` for a
schema with one, and `wire` leaves that schema to fastavro.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

# A reader takes (payload, the payload as latin-1 text, position) and gives (value, position).
Reader = Callable[[bytes, str, int], tuple[Any, int]]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DOUBLE = struct.Struct("<d")
_FLOAT = struct.Struct("<f")


class Unsupported(ValueError):
    """The schema uses a type this reader does not know."""


def decode(reader: Reader, payload: bytes, start: int = 0) -> Any:
    """The value `reader` reads from `payload`, from `start` to the end; raises EOFError when
    the payload ends before the value does, and what reading a malformed value raises
    (ValueError, UnicodeDecodeError, struct.error)."""
    try:
        value, end = reader(payload, payload.decode("latin-1"), start)
    except IndexError:
        raise EOFError("payload ends inside a value") from None
    if end > len(payload):  # a string or bytes value ran past the end
        raise EOFError("payload ends inside a value")
    return value


def compile_reader(schema: Any, named: Mapping[str, Any]) -> Reader:
    """The reader of a schema as fastavro parses it (named types by full name in `named`)."""
    return _Compiler(named).reader(schema)


class _Compiler:
    def __init__(self, named: Mapping[str, Any]) -> None:
        self.named = named
        self.compiled: dict[str, Reader] = {}

    def reader(self, schema: Any) -> Reader:
        if isinstance(schema, list):
            return _union([self.reader(branch) for branch in schema])
        if isinstance(schema, str):
            if schema in _PRIMITIVES:
                return _PRIMITIVES[schema]
            if schema in self.compiled:
                return self.compiled[schema]
            if schema in self.named:
                return self.reader(self.named[schema])
            raise Unsupported(f"unknown type {schema!r}")
        kind = schema["type"]
        if kind == "record":
            return self._record(schema)
        if kind == "enum":
            reader = _enum(tuple(schema["symbols"]))
            self.compiled[schema["name"]] = reader
            return reader
        if kind == "array":
            return self._array(schema["items"])
        if kind == "long" and schema.get("logicalType") == "timestamp-millis":
            return _timestamp_millis
        if isinstance(kind, str) and kind in _PRIMITIVES and "logicalType" not in schema:
            return _PRIMITIVES[kind]
        raise Unsupported(f"no reader for {schema!r}")

    def _record(self, schema: Mapping[str, Any]) -> Reader:
        fields: list[tuple[str, Reader]] = []

        def read(data: bytes, text: str, pos: int) -> tuple[dict[str, Any], int]:
            record = {}
            for name, field in fields:
                record[name], pos = field(data, text, pos)
            return record, pos

        self.compiled[schema["name"]] = read  # before its fields: a field may refer to it
        fields.extend((f["name"], self.reader(f["type"])) for f in schema["fields"])
        return read

    def _array(self, items: Any) -> Reader:
        if items == "string":
            return _strings
        if items == "double":
            return _packed(_DOUBLE)
        if items == "float":
            return _packed(_FLOAT)
        if items == "boolean":
            return _booleans
        named = self.named.get(items) if isinstance(items, str) else items
        if isinstance(named, Mapping) and named.get("type") == "enum":
            return _enums(tuple(named["symbols"]))
        return _items(self.reader(items))


def _long(data: bytes, text: str, pos: int) -> tuple[int, int]:
    """A zig-zag varint (Avro's int and long)."""
    b = data[pos]
    pos += 1
    n = b & 0x7F
    shift = 7
    while b & 0x80:
        b = data[pos]
        pos += 1
        n |= (b & 0x7F) << shift
        shift += 7
    return (n >> 1) ^ -(n & 1), pos


def _string(data: bytes, text: str, pos: int) -> tuple[str, int]:
    size, pos = _long(data, text, pos)
    if size < 0:
        raise ValueError(f"negative string length {size}")
    end = pos + size
    return data[pos:end].decode(), end


def _bytes(data: bytes, text: str, pos: int) -> tuple[bytes, int]:
    size, pos = _long(data, text, pos)
    if size < 0:
        raise ValueError(f"negative bytes length {size}")
    end = pos + size
    return data[pos:end], end


def _double(data: bytes, text: str, pos: int) -> tuple[float, int]:
    return _DOUBLE.unpack_from(data, pos)[0], pos + 8


def _float(data: bytes, text: str, pos: int) -> tuple[float, int]:
    return _FLOAT.unpack_from(data, pos)[0], pos + 4


def _boolean(data: bytes, text: str, pos: int) -> tuple[bool, int]:
    return data[pos] != 0, pos + 1


def _null(data: bytes, text: str, pos: int) -> tuple[None, int]:
    return None, pos


def _timestamp_millis(data: bytes, text: str, pos: int) -> tuple[datetime, int]:
    millis, pos = _long(data, text, pos)
    return _EPOCH + timedelta(microseconds=millis * 1000), pos  # as fastavro computes it


_PRIMITIVES: dict[str, Reader] = {
    "null": _null,
    "boolean": _boolean,
    "int": _long,
    "long": _long,
    "float": _float,
    "double": _double,
    "string": _string,
    "bytes": _bytes,
}


def _union(branches: list[Reader]) -> Reader:
    def read(data: bytes, text: str, pos: int) -> tuple[Any, int]:
        index, pos = _long(data, text, pos)
        if not 0 <= index < len(branches):
            raise ValueError(f"union branch {index} of {len(branches)}")
        return branches[index](data, text, pos)

    return read


def _enum(symbols: tuple[str, ...]) -> Reader:
    def read(data: bytes, text: str, pos: int) -> tuple[str, int]:
        index, pos = _long(data, text, pos)
        if not 0 <= index < len(symbols):
            raise ValueError(f"enum index {index} of {len(symbols)} symbols")
        return symbols[index], pos

    return read


def _block(data: bytes, text: str, pos: int) -> tuple[int, int]:
    """An array block's item count (0: the array ends); a negative count has its size next."""
    count, pos = _long(data, text, pos)
    if count < 0:
        count = -count
        _, pos = _long(data, text, pos)
    return count, pos


# The length a byte stands for when it is the whole varint of a length (under 64); -1 otherwise.
_SHORT = tuple(b >> 1 if b < 0x80 and not b & 1 else -1 for b in range(256))


def _strings(data: bytes, text: str, pos: int) -> tuple[list[str], int]:
    # Sliced from the latin-1 text, one character per byte: right for an ASCII string, and
    # test ids nearly always are. A block with any other character is read again as UTF-8.
    out: list[str] = []
    append = out.append
    count, pos = _block(data, text, pos)
    while count:
        if not data[pos : pos + count].translate(None, b"\x00"):  # all empty, as variants
            out.extend([""] * count)  # and messages nearly always are
            pos += count
            count, pos = _block(data, text, pos)
            continue
        start, first = pos, len(out)
        for _ in range(count):
            size = _SHORT[data[pos]]
            if size >= 0:
                pos += 1
            else:
                size, pos = _long(data, text, pos)
                if size < 0:
                    raise ValueError(f"negative string length {size}")
            end = pos + size
            append(text[pos:end])
            pos = end
        if not "".join(out[first:]).isascii():
            del out[first:]
            pos = start
            for _ in range(count):
                value, pos = _string(data, text, pos)
                append(value)
        count, pos = _block(data, text, pos)
    return out, pos


def _packed(item: struct.Struct) -> Reader:
    """An array of doubles or floats: each block's items lie side by side, unpacked at once."""
    size = item.size
    fmt = item.format[1:]

    def read(data: bytes, text: str, pos: int) -> tuple[list[float], int]:
        out: list[float] = []
        count, pos = _block(data, text, pos)
        while count:
            out.extend(struct.unpack_from(f"<{count}{fmt}", data, pos))
            pos += size * count
            count, pos = _block(data, text, pos)
        return out, pos

    return read


def _booleans(data: bytes, text: str, pos: int) -> tuple[list[bool], int]:
    out: list[bool] = []
    count, pos = _block(data, text, pos)
    while count:
        out.extend([b != 0 for b in data[pos : pos + count]])
        pos += count
        count, pos = _block(data, text, pos)
    return out, pos


def _enums(symbols: tuple[str, ...]) -> Reader:
    item = _enum(symbols)
    # An index under 64 is one byte, twice the index: a block of only such bytes is read at
    # once; anything else (a negative or out-of-range index) is read one by one, which says so.
    valid = bytes(range(0, 2 * len(symbols), 2)) if len(symbols) <= 64 else b""
    symbol_of = {2 * i: symbol for i, symbol in enumerate(symbols)}

    def read(data: bytes, text: str, pos: int) -> tuple[list[str], int]:
        out: list[str] = []
        count, pos = _block(data, text, pos)
        while count:
            chunk = data[pos : pos + count]
            if valid and len(chunk) == count and not chunk.translate(None, valid):
                out.extend(map(symbol_of.__getitem__, chunk))
                pos += count
            else:
                pos = _each(item, count, data, text, pos, out)
            count, pos = _block(data, text, pos)
        return out, pos

    return read


def _items(item: Reader) -> Reader:
    def read(data: bytes, text: str, pos: int) -> tuple[list[Any], int]:
        out: list[Any] = []
        count, pos = _block(data, text, pos)
        while count:
            pos = _each(item, count, data, text, pos, out)
            count, pos = _block(data, text, pos)
        return out, pos

    return read


def _each(item: Reader, count: int, data: bytes, text: str, pos: int, out: list[Any]) -> int:
    """Read `count` items one by one onto `out`; the position after them."""
    for _ in range(count):
        value, pos = item(data, text, pos)
        out.append(value)
    return pos
