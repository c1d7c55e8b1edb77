"""The wire encoding of the event contracts (`schemas/*.avsc`).

Every message names its writer schema with Avro single-object encoding: two marker bytes
``C3 01``, the schema's 8-byte CRC-64-AVRO fingerprint (little-endian), then the Avro binary
body. No registry is needed to decode it; an unknown fingerprint is a `DecodeError` that
carries the raw bytes, so the message can go to the dead-letter topic.

>>> payload = encode("ChangedFile", {"path": "a.py", "added": 1, "deleted": 0})
>>> payload[:2]
b'\\xc3\\x01'
>>> decode(payload)
('ChangedFile', {'path': 'a.py', 'added': 1, 'deleted': 0})
"""

from __future__ import annotations

import io
import json
from contextlib import suppress
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import fastavro
from fastavro.schema import fingerprint, to_parsing_canonical_form

from pts.core import columnar_avro
from pts.core.bounded import described
from pts.core.errors import DecodeError

SCHEMA_DIR = Path(str(resources.files("pts.schemas")))  # the contracts: data, not code
MARKER = b"\xc3\x01"
_HEADER = len(MARKER) + 8
# Order matters: a schema is parsed after the named types it refers to.
SCHEMA_FILES = (
    "changed_file",
    "commit",
    "build",
    "test_result_batch",
    "subset_request",
    "subset_response",
    "prediction_batch",
    "dead_letter",
    "champion_decision",
    "model_snapshot",
)


class _Schemas:
    """The current schemas, and earlier versions whose messages are still readable."""

    def __init__(self) -> None:
        self.named: dict[str, Any] = {}
        self.by_name: dict[str, Any] = {}
        # fingerprint -> (record name, writer schema, reader schema or None when current)
        self.writers: dict[bytes, tuple[str, Any, Any]] = {}
        self.fingerprint_of: dict[str, bytes] = {}
        # fingerprint -> the compiled reader of a current schema (`columnar_avro`)
        self.readers: dict[bytes, columnar_avro.Reader] = {}
        for stem in SCHEMA_FILES:
            raw = json.loads((SCHEMA_DIR / f"{stem}.avsc").read_text())
            parsed = fastavro.parse_schema(raw, named_schemas=self.named)
            fp = _fingerprint(parsed, self.named)
            self.by_name[raw["name"]] = parsed
            self.fingerprint_of[raw["name"]] = fp
            self.writers[fp] = (raw["name"], parsed, None)
            with suppress(columnar_avro.Unsupported):  # a map: fastavro reads it
                self.readers[fp] = columnar_avro.compile_reader(parsed, self.named)
        for path in sorted((SCHEMA_DIR / "previous").glob("*.avsc")):
            self.add_previous(json.loads(path.read_text()))

    def add_previous(self, raw: dict[str, Any]) -> bytes:
        """Accept messages written with an earlier, self-contained version of a schema; they
        are read into the current schema of the same name. Returns its fingerprint."""
        named: dict[str, Any] = {}
        writer = fastavro.parse_schema(raw, named_schemas=named)
        name = raw["name"].rpartition(".")[2]
        fp = _fingerprint(writer, named)
        self.writers.setdefault(fp, (name, writer, self.by_name[name]))
        return fp


def _fingerprint(parsed: Any, named: dict[str, Any]) -> bytes:
    """CRC-64-AVRO of the Parsing Canonical Form of the whole schema, in wire order: fastavro
    gives those bytes as hex."""
    canonical = to_parsing_canonical_form(_inlined_where_first_used(parsed, named, set()))
    return bytes.fromhex(fingerprint(canonical, "CRC-64-AVRO"))


def _inlined_where_first_used(schema: Any, named: dict[str, Any], seen: set[str]) -> Any:
    """The schema with each named type written out where it is first used and named after
    that, as the Parsing Canonical Form has it (fastavro's `expand_schema` writes it out at
    every use, which changes the fingerprint of a schema that uses a type twice)."""
    if isinstance(schema, str):
        if schema in named and schema not in seen:
            return _inlined_where_first_used(named[schema], named, seen)
        return schema
    if isinstance(schema, list):
        return [_inlined_where_first_used(branch, named, seen) for branch in schema]
    if not isinstance(schema, dict):
        return schema
    kind = schema.get("type")
    if kind in ("record", "error", "enum", "fixed"):
        if schema["name"] in seen:
            return schema["name"]
        seen.add(schema["name"])
    inlined = dict(schema)
    if kind in ("record", "error"):
        inlined["fields"] = [
            {**f, "type": _inlined_where_first_used(f["type"], named, seen)}
            for f in schema["fields"]
        ]
    elif kind == "array":
        inlined["items"] = _inlined_where_first_used(schema["items"], named, seen)
    elif kind == "map":
        inlined["values"] = _inlined_where_first_used(schema["values"], named, seen)
    elif isinstance(kind, (dict, list)):
        inlined["type"] = _inlined_where_first_used(kind, named, seen)
    return inlined


@cache
def _schemas() -> _Schemas:
    return _Schemas()


def encode(schema_name: str, record: dict[str, Any]) -> bytes:
    """Encode `record` with the named schema, prefixed by the schema's fingerprint."""
    schemas = _schemas()
    try:
        schema = schemas.by_name[schema_name]
    except KeyError:
        raise ValueError(
            f"unknown schema {schema_name!r}; known: {sorted(schemas.by_name)}"
        ) from None
    body = io.BytesIO()
    body.write(MARKER)
    body.write(schemas.fingerprint_of[schema_name])
    fastavro.schemaless_writer(body, schema, record)
    return body.getvalue()


def dead_letter(
    topic: str, partition: int, offset: int, key: bytes | None, value: bytes | None, reason: str
) -> bytes:
    """An encoded `DeadLetter`: a message set aside, with where it was and why."""
    record = {
        "topic": topic,
        "partition": partition,
        "offset": offset,
        "key": key,
        "value": value,
        "reason": reason,
        "failed_at": datetime.now(UTC),
    }
    return encode("DeadLetter", record)


def decode(payload: bytes | None, expected: str | None = None) -> tuple[str, dict[str, Any]]:
    """Decode a single-object-encoded message into (schema name, record).

    Raises `DecodeError` (carrying `payload`) when the message is empty, lacks the marker,
    names an unknown schema, is not the `expected` schema, or its body does not parse.
    """
    if not payload:
        raise DecodeError("empty message", raw=payload)
    if payload[:2] != MARKER or len(payload) < _HEADER:
        raise DecodeError("not Avro single-object encoding (no C3 01 marker)", raw=payload)
    schemas = _schemas()
    known = schemas.writers.get(payload[2:_HEADER])
    if known is None:
        raise DecodeError(
            f"unknown writer schema fingerprint {payload[2:_HEADER].hex()}", raw=payload
        )
    name, writer, reader = known
    if expected is not None and name != expected:
        raise DecodeError(f"expected a {expected} message, got {name}", raw=payload)
    compiled = schemas.readers.get(payload[2:_HEADER])
    try:
        if compiled is not None:
            record = columnar_avro.decode(compiled, payload, _HEADER)
        else:
            record = fastavro.schemaless_reader(io.BytesIO(payload[_HEADER:]), writer, reader)
    except Exception as exc:  # fastavro raises EOFError, ValueError, UnicodeDecodeError, ...
        raise DecodeError(f"{name} body does not decode: {described(exc)}", raw=payload) from exc
    return name, record
