"""The wire encoding, checked against the Avro reference implementation (the `avro` package)."""

from __future__ import annotations

import dataclasses
import io
import json
import struct
from datetime import UTC, datetime
from typing import Any

import avro.io
import avro.schema
import fastavro
import pytest

from pts.core import wire
from pts.core.errors import DecodeError
from pts.core.events import (
    RANKED_COLUMNS,
    RESULT_COLUMNS,
    Build,
    ChangedFile,
    Outcome,
    Prediction,
    PredictionBatch,
    RankedTest,
    SubsetRequest,
    SubsetResponse,
    Target,
    TestResult,
    TestResultBatch,
    ranked_test_ids,
    to_record,
)
from pts.sinks import rows
from pts.sinks.rows import prediction_columns


def reference_schemas() -> dict[str, avro.schema.Schema]:
    """Every .avsc parsed by the reference implementation, with shared named types."""
    names = avro.schema.Names()
    parsed = {}
    for stem in wire.SCHEMA_FILES:
        raw = json.loads((wire.SCHEMA_DIR / f"{stem}.avsc").read_text())
        parsed[raw["name"]] = avro.schema.make_avsc_object(raw, names)
    return parsed


BUILD = Build("shop", "42", "abc", changed_files=(ChangedFile("src/a.py", 3, 1),))
BATCH = TestResultBatch(
    "shop",
    "42",
    "report.xml",
    (
        TestResult("t::a", "t", "a", Outcome.FAILED, 1.5, "boom"),
        TestResult("t::b", "t", "b", Outcome.SKIPPED),
    ),
)
REQUEST = SubsetRequest("r1", "shop", "42", ("t::a", "t::b"), Target.parse("5m"), "replies")
RESPONSE = SubsetResponse(
    "r1", "shop", "42", (RankedTest("t::a", 0.3, 1.5, "new"),), 1, 1.0, 1.0, "logistic@10"
)
PREDICTIONS = PredictionBatch.of(
    "shop",
    "42",
    "report.xml",
    "logistic@10",
    (Prediction("t::a", 0.25, True),),
    predicted_at=datetime(2024, 5, 6, 7, 8, 9, 123000, tzinfo=UTC),  # Avro keeps milliseconds
    slice=2,
)
EVENTS = {
    "PredictionBatch": PREDICTIONS.to_record(),
    "Build": to_record(BUILD),
    "TestResultBatch": to_record(BATCH),
    "SubsetRequest": REQUEST.to_record(),
    "SubsetResponse": to_record(RESPONSE),
}


@pytest.mark.parametrize("name", sorted(EVENTS))
def test_reference_implementation_reads_what_we_write(name: str) -> None:
    reference = reference_schemas()[name]
    payload = wire.encode(name, EVENTS[name])
    assert payload[:2] == b"\xc3\x01"
    # The header is the CRC-64-AVRO of the Parsing Canonical Form, little-endian as on the wire.
    # avro 1.12 keeps logical-typed primitives as {"type":"long"} in its canonical form, against
    # the spec's [PRIMITIVES] rule (Java writes "long"), so that one difference is undone here.
    canonical = reference.canonical_form.replace('{"type":"long"}', '"long"')
    assert payload[2:10] == avro.schema._crc_64_fingerprint(canonical.encode())
    body = avro.io.BinaryDecoder(io.BytesIO(payload[10:]))
    decoded = avro.io.DatumReader(reference).read(body)
    assert decoded["project"] == "shop"
    assert decoded == wire.decode(payload)[1]


def test_fingerprint_of_the_spec_example() -> None:
    # The Avro specification's test vector: the schema "null" has fingerprint 7195948357588979594.
    assert avro.schema.parse('"null"').fingerprint("CRC-64-AVRO") == struct.pack(
        "<q", 7195948357588979594
    )


def test_round_trip_gives_back_the_event() -> None:
    _, record = wire.decode(wire.encode("TestResultBatch", to_record(BATCH)))
    assert TestResultBatch.from_record(record).results == BATCH.results


@pytest.mark.parametrize("event", [BATCH, RESPONSE], ids=["TestResultBatch", "SubsetResponse"])
def test_hand_built_records_are_the_generic_ones(event: Any) -> None:
    # Written by hand for speed: they must hold what dataclasses.asdict gives, field for field.
    generic = dataclasses.asdict(event, dict_factory=lambda items: {
        k: list(v) if isinstance(v, tuple) else v for k, v in items
    })  # fmt: skip
    if isinstance(event, SubsetResponse):  # `columns` says how ranked travels; not a field
        del generic["columns"]
        generic.update({column: [] for column in RANKED_COLUMNS})
    if isinstance(event, TestResultBatch):  # the results travel as columns (v4)
        results = generic.pop("results")
        generic["results"] = []
        for column, field in zip(RESULT_COLUMNS, ("test_id", "suite", "name", "outcome",
                                                  "duration_s", "message", "variant"),
                                 strict=True):  # fmt: skip
            generic[column] = [result[field] for result in results]
    assert {k: list(v) if isinstance(v, tuple) else v for k, v in event.to_record().items()} == (
        generic
    )


ANSWERED = dataclasses.replace(RESPONSE, answered_at=datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC))
COLUMNAR = dataclasses.replace(
    ANSWERED, ranked=(*RESPONSE.ranked, RankedTest("t::b", 0.01, 0.25, "model")), columns=True
)


def test_an_answer_asked_for_as_columns_travels_as_columns_and_reads_back() -> None:
    record = COLUMNAR.to_record()
    assert record["ranked"] == [] and record["test_ids"] == ["t::a", "t::b"]
    payload = wire.encode("SubsetResponse", record)
    body = avro.io.BinaryDecoder(io.BytesIO(payload[10:]))
    assert avro.io.DatumReader(reference_schemas()["SubsetResponse"]).read(body) == record
    assert SubsetResponse.from_record(wire.decode(payload)[1]) == COLUMNAR


def _written_with(previous: str, record: dict[str, Any]) -> tuple[dict, bytes]:
    schema = json.loads((wire.SCHEMA_DIR / "previous" / previous).read_text())
    body = io.BytesIO()
    fastavro.schemaless_writer(body, fastavro.parse_schema(schema, named_schemas={}), record)
    return schema, wire.MARKER + wire._schemas().add_previous(schema) + body.getvalue()


def test_clients_and_workers_from_before_the_columns_still_understand_each_other() -> None:
    # A client from before the columns does not ask for them: it is answered with records.
    _, old_request = _written_with("subset_request.v4.avsc", REQUEST.to_record())
    request = SubsetRequest.from_record(wire.decode(old_request, "SubsetRequest")[1])
    assert request.candidates == REQUEST.candidates and not request.reply_columns
    answer = dataclasses.replace(COLUMNAR, columns=request.reply_columns)
    old_reader, _ = _written_with("subset_response.v4.avsc", RESPONSE.to_record())
    read_by_old_client = fastavro.schemaless_reader(
        io.BytesIO(wire.encode("SubsetResponse", answer.to_record())[10:]),
        fastavro.parse_schema(json.loads((wire.SCHEMA_DIR / "subset_response.avsc").read_text())),
        fastavro.parse_schema(old_reader, named_schemas={}),
    )
    assert [t["test_id"] for t in read_by_old_client["ranked"]] == ["t::a", "t::b"]
    # A worker from before the columns answers with records: today's client reads them.
    _, old_answer = _written_with("subset_response.v4.avsc", ANSWERED.to_record())
    decoded = wire.decode(old_answer, "SubsetResponse")[1]
    assert SubsetResponse.from_record(decoded) == ANSWERED
    assert ranked_test_ids(decoded) == ["t::a"]


def test_results_written_as_records_by_an_earlier_client_read_as_columns() -> None:
    # Clients before v4 sent one record per result; their messages still in the topic are
    # learned from and stored as today's, whose results travel as columns.
    record = {**BATCH.to_record(), "results": [r.to_record() for r in BATCH.results]}
    _, old_batch = _written_with("test_result_batch.v3.avsc", record)
    decoded = wire.decode(old_batch, "TestResultBatch")[1]
    assert decoded["test_ids"] == [] and len(decoded["results"]) == 2
    assert TestResultBatch.from_record(decoded).results == BATCH.results
    _, today = wire.decode(wire.encode("TestResultBatch", BATCH.to_record()))
    assert today["results"] == [] and today["test_ids"] == ["t::a", "t::b"]
    assert rows.test_result_columns([decoded]) == rows.test_result_columns([today])


def test_result_columns_of_different_lengths_do_not_store() -> None:
    _, record = wire.decode(wire.encode("TestResultBatch", BATCH.to_record()))
    record["durations_s"] = record["durations_s"][:1]
    with pytest.raises(ValueError, match="1 durations_s for 2 test_ids"):
        rows.test_result_columns([record])
    with pytest.raises(ValueError, match="different lengths"):
        TestResultBatch.from_record(record)


def test_predictions_round_trip_as_columns() -> None:
    _, record = wire.decode(wire.encode("PredictionBatch", PREDICTIONS.to_record()))
    assert PredictionBatch.from_record(record) == PREDICTIONS


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"", "empty message"),
        (b'{"json": true}', "no C3 01 marker"),
        (b"\xc3\x01" + b"\x00" * 8 + b"\x02", "unknown writer schema fingerprint"),
    ],
)
def test_what_does_not_decode_says_why_and_keeps_the_bytes(payload: bytes, reason: str) -> None:
    with pytest.raises(DecodeError, match=reason) as caught:
        wire.decode(payload)
    assert caught.value.raw == payload


def test_truncated_body_is_a_decode_error() -> None:
    payload = wire.encode("Build", to_record(BUILD))[:-5]
    with pytest.raises(DecodeError, match="Build body does not decode"):
        wire.decode(payload)


def test_wrong_kind_is_a_decode_error() -> None:
    with pytest.raises(DecodeError, match="expected a Build message, got SubsetRequest"):
        wire.decode(wire.encode("SubsetRequest", REQUEST.to_record()), expected="Build")


def test_message_of_an_earlier_schema_version_reads_into_the_current_one() -> None:
    # Build v0 had no base_sha and no commits; today's Build adds them with defaults.
    current = json.loads((wire.SCHEMA_DIR / "build.avsc").read_text())
    changed_file = json.loads((wire.SCHEMA_DIR / "changed_file.avsc").read_text())
    earlier = {
        **current,
        "fields": [
            {**f, "type": {"type": "array", "items": changed_file}}
            if f["name"] == "changed_files"
            else f
            for f in current["fields"]
            if f["name"] not in ("base_sha", "commits")
        ],
    }
    fingerprint = wire._schemas().add_previous(earlier)
    assert fingerprint != wire._schemas().fingerprint_of["Build"]
    body = io.BytesIO()
    record = {
        "project": "shop",
        "build_id": "9",
        "commit_sha": "abc",
        "changed_files": [{"path": "a.py", "added": 1, "deleted": 0}],
        "started_at": BUILD.started_at,
    }
    fastavro.schemaless_writer(body, fastavro.parse_schema(earlier, named_schemas={}), record)
    name, decoded = wire.decode(wire.MARKER + fingerprint + body.getvalue(), "Build")
    build = Build.from_record(decoded)
    assert (name, build.build_id, build.base_sha, build.commits) == ("Build", "9", None, ())
    assert build.changed_files == (ChangedFile("a.py", 1, 0),)


def test_predictions_written_as_rows_by_an_earlier_worker_read_as_columns() -> None:
    # Workers before the columns wrote one `predictions` record per result (v2): messages
    # of theirs still in the topic must be learned from and stored the same.
    earlier = json.loads((wire.SCHEMA_DIR / "previous" / "prediction_batch.v2.avsc").read_text())
    body = io.BytesIO()
    record = {
        **{k: v for k, v in PREDICTIONS.to_record().items() if k in ("project", "build_id",
           "report", "report_digest", "slice", "model", "predicted_at")},
        "predictions": [
            {"test_id": p.test_id, "variant": p.variant, "probability": p.probability,
             "failed": p.failed} for p in PREDICTIONS.predictions
        ],
    }  # fmt: skip
    fastavro.schemaless_writer(body, fastavro.parse_schema(earlier, named_schemas={}), record)
    fingerprint = wire._schemas().add_previous(earlier)
    name, decoded = wire.decode(wire.MARKER + fingerprint + body.getvalue(), "PredictionBatch")
    assert name == "PredictionBatch"
    assert PredictionBatch.from_record(decoded) == PREDICTIONS
    assert prediction_columns([decoded]) == prediction_columns([PREDICTIONS.to_record()])
