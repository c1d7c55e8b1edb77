"""The compiled reader reads what fastavro reads, and refuses what fastavro refuses."""

from __future__ import annotations

import io
import random
import struct
from datetime import UTC, datetime, timedelta
from typing import Any

import avro.io
import fastavro
import pytest

from pts.core import columnar_avro, wire
from pts.core.errors import DecodeError
from pts.core.events import Outcome, TestResult, TestResultBatch, to_record

SCHEMAS = wire._schemas()
CURRENT = {name: SCHEMAS.by_name[name] for name in SCHEMAS.by_name}
# Maps are left to fastavro; every other contract is read by the compiled reader.
WITH_MAPS = {"ChampionDecision", "ModelSnapshot"}

STRINGS = ["", "t::a", "é", "tests/ü/test_ß.py::test[日本]", "x" * 63, "y" * 64, "z" * 9000, "😀"]


def random_value(schema: Any, rng: random.Random, depth: int = 0) -> Any:
    """A value of the (fastavro-parsed) schema, reaching for the edges of each type."""
    if isinstance(schema, list):
        return random_value(rng.choice(schema), rng, depth)
    if isinstance(schema, str):
        if schema in SCHEMAS.named:
            return random_value(SCHEMAS.named[schema], rng, depth)
        schema = {"type": schema}
    kind = schema["type"]
    if schema.get("logicalType") == "timestamp-millis":
        millis = rng.choice([0, 1, -1, 1_700_000_000_123, rng.randrange(-(2**40), 2**42)])
        return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=millis)
    if kind == "record":
        return {f["name"]: random_value(f["type"], rng, depth + 1) for f in schema["fields"]}
    if kind == "array":
        size = rng.choice([0, 1, 2, 70, 300]) if depth < 2 else rng.choice([0, 1, 3])
        return [random_value(schema["items"], rng, depth + 1) for _ in range(size)]
    if kind == "enum":
        return rng.choice(schema["symbols"])
    return {
        "null": lambda: None,
        "boolean": lambda: rng.random() < 0.5,
        "int": lambda: rng.choice([0, -1, 63, 64, -65, 2**31 - 1, -(2**31)]),
        "long": lambda: rng.choice([0, -1, 2**63 - 1, -(2**63), rng.randrange(-(2**40), 2**40)]),
        "double": lambda: rng.choice([0.0, -0.0, 1.5, -2.25e-300, float("inf"), rng.random()]),
        "float": lambda: rng.choice([0.0, 1.5, -0.25]),
        "string": lambda: rng.choice(STRINGS),
        "bytes": lambda: rng.choice([b"", b"\x00\xff", bytes(range(256))]),
    }[kind]()


def fastavro_reads(schema: Any, body: bytes) -> Any:
    return fastavro.schemaless_reader(io.BytesIO(body), schema, None)


def body_of(schema: Any, value: Any) -> bytes:
    out = io.BytesIO()
    fastavro.schemaless_writer(out, schema, value)
    return out.getvalue()


def test_every_contract_but_those_with_maps_is_compiled() -> None:
    compiled = {name for name, fp in SCHEMAS.fingerprint_of.items() if fp in SCHEMAS.readers}
    assert compiled == set(CURRENT) - WITH_MAPS


@pytest.mark.parametrize("name", sorted(set(CURRENT) - WITH_MAPS))
def test_reads_every_contract_value_for_value_as_fastavro(name: str) -> None:
    schema = CURRENT[name]
    reader = SCHEMAS.readers[SCHEMAS.fingerprint_of[name]]
    rng = random.Random(name)
    for _ in range(40):
        body = body_of(schema, random_value(schema, rng))
        expected = fastavro_reads(schema, body)
        read = columnar_avro.decode(reader, body)
        assert read == expected
        # Equal is not enough where Python's equality is loose: True == 1, 0.0 == -0.0.
        assert repr(read) == repr(expected)


def test_the_reference_implementation_reads_the_same_batch() -> None:
    batch = TestResultBatch(
        "shop", "42", "r.xml",
        (TestResult("t::é", "t", "é", Outcome.FAILED, 1.25, "boom " * 30, "#1"),
         TestResult("t::b", "t", "b", Outcome.SKIPPED)),
    )  # fmt: skip
    payload = wire.encode("TestResultBatch", to_record(batch))
    reference = avro.io.DatumReader(_reference("TestResultBatch"))
    expected = reference.read(avro.io.BinaryDecoder(io.BytesIO(payload[10:])))
    assert wire.decode(payload)[1] == expected
    assert TestResultBatch.from_record(wire.decode(payload)[1]).results == batch.results


def _reference(name: str) -> Any:
    from tests.schemas.test_single_object_encoding import reference_schemas

    return reference_schemas()[name]


def _long(n: int) -> bytes:
    z, out = (n << 1) ^ (n >> 63), bytearray()
    while z & ~0x7F:
        out.append((z & 0x7F) | 0x80)
        z >>= 7
    out.append(z)
    return bytes(out)


def _string(s: str) -> bytes:
    return _long(len(s.encode())) + s.encode()


BLOCKS = fastavro.parse_schema(
    {
        "type": "record",
        "name": "Blocks",
        "fields": [
            {"name": "strings", "type": {"type": "array", "items": "string"}},
            {"name": "doubles", "type": {"type": "array", "items": "double"}},
            {"name": "flags", "type": {"type": "array", "items": "boolean"}},
            {"name": "colours", "type": {"type": "array", "items": {
                "type": "enum", "name": "Colour", "symbols": ["red", "green", "blue"]}}},
            {"name": "pairs", "type": {"type": "array", "items": {
                "type": "record", "name": "Pair", "fields": [
                    {"name": "key", "type": "string"}, {"name": "n", "type": ["null", "long"]}]}}},
        ],
    },
    named_schemas={},
)  # fmt: skip
BLOCKS_READER = columnar_avro.compile_reader(BLOCKS, {})


def test_arrays_written_in_several_blocks_read_whole() -> None:
    # Writers may cut an array into blocks, and a negative count says the block's size in
    # bytes follows (so a reader can skip it); fastavro writes one block, others do not.
    ascii_block = _string("a") + _string("")
    body = (
        _long(2) + ascii_block + _long(-1) + _long(len(_string("é"))) + _string("é")
        + _long(3) + b"\x00\x00\x00" + _long(0)  # three empty strings
        + _long(1) + struct.pack("<d", 1.5) + _long(-2) + _long(16) + struct.pack("<2d", 2, 3)
        + _long(0)
        + _long(2) + b"\x01\x00" + _long(1) + b"\x01" + _long(0)
        + _long(2) + _long(2) + _long(0) + _long(-1) + _long(1) + _long(1) + _long(0)
        + _long(1) + _string("k") + _long(1) + _long(-5) + _long(1) + _string("j") + _long(0)
        + _long(0)
    )  # fmt: skip
    expected = fastavro_reads(BLOCKS, body)
    assert expected["strings"] == ["a", "", "é", "", "", ""]
    assert columnar_avro.decode(BLOCKS_READER, body) == expected
    assert repr(columnar_avro.decode(BLOCKS_READER, body)) == repr(expected)


SMALL_BATCH = wire.encode(
    "TestResultBatch",
    to_record(
        TestResultBatch(
            "shop", "42", "r.xml",
            (TestResult("t::a", "t", "a", Outcome.FAILED, 1.5, "boom"),
             TestResult("t::ü", "t", "ü", Outcome.PASSED, 0.25)),
        )
    ),
)  # fmt: skip


@pytest.mark.parametrize("cut", range(10, len(SMALL_BATCH)))
def test_a_body_cut_anywhere_is_a_decode_error_not_a_shorter_batch(cut: int) -> None:
    with pytest.raises(DecodeError, match="TestResultBatch body does not decode"):
        wire.decode(SMALL_BATCH[:cut])


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (_long(1) + _long(-3) + b"abc" + _long(0), "negative string length"),
        (_long(1) + _string("ok") + b"\xff" + b"\x00" * 3, "payload ends"),
        (_long(1) + _long(2) + b"\xff\xfe" + _long(0), "codec can't decode"),
    ],
)
def test_malformed_strings_are_refused(body: bytes, error: str) -> None:
    schema = fastavro.parse_schema({"type": "array", "items": "string"}, named_schemas={})
    reader = columnar_avro.compile_reader(schema, {})
    with pytest.raises((ValueError, EOFError), match=error):
        columnar_avro.decode(reader, body)
    with pytest.raises(Exception):  # noqa: B017 - fastavro refuses it too, in its own words
        fastavro_reads(schema, body)


def test_an_enum_index_out_of_range_is_refused() -> None:
    body = _long(0) + _long(0) + _long(0) + _long(1) + _long(3) + _long(0) + _long(0)
    with pytest.raises(ValueError, match="enum index 3 of 3 symbols"):
        columnar_avro.decode(BLOCKS_READER, body)


def test_a_union_branch_out_of_range_is_refused() -> None:
    body = _long(0) * 4 + _long(1) + _string("k") + _long(2) + _long(0)
    with pytest.raises(ValueError, match="union branch 2 of 2"):
        columnar_avro.decode(BLOCKS_READER, body)


def test_a_map_is_left_to_fastavro() -> None:
    with pytest.raises(columnar_avro.Unsupported):
        columnar_avro.compile_reader({"type": "map", "values": "long"}, {})


def test_a_last_string_cut_short_is_refused() -> None:
    reader = columnar_avro.compile_reader("string", {})
    assert columnar_avro.decode(reader, _string("abc")) == "abc"
    with pytest.raises(EOFError, match="payload ends inside a value"):
        columnar_avro.decode(reader, _string("abc")[:-1])
