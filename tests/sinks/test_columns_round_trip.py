"""Columnar inserts store exactly what the events hold, on both backends: every column type of
`schema.sql` (strings with any unicode, Nullable, arrays, arrays of named tuples, maps, Enum8,
Bool, unsigned ints at their limits, floats, DateTime64 before and after 1970), and the
records the wire decodes insert the same rows as the events they came from."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from pts.core import wire
from pts.core.errors import StoreError
from pts.core.events import (
    Build,
    ChampionDecision,
    ChangedFile,
    Commit,
    Outcome,
    Prediction,
    PredictionBatch,
    RankedTest,
    SubsetResponse,
    TestResult,
    TestResultBatch,
    to_record,
)
from pts.sinks import rows
from pts.sinks.chdb_store import ARROW_SCHEMAS
from pts.sinks.store import HistoryStore

DURATIONS = (0.0, 1e-9, 1e300, 12.5)  # one per outcome
ODD = "naïve ☃ 𝄞 测试 \"quoted\" 'single' back\\slash\ttab\nnewline"
T_MICROS = datetime(2024, 5, 6, 7, 8, 9, 123987, tzinfo=UTC)  # stored to the millisecond
T_STORED = datetime(2024, 5, 6, 7, 8, 9, 123000, tzinfo=UTC)
BEFORE_1970 = datetime(1969, 7, 20, 20, 17, 40, 5000, tzinfo=UTC)
FAR = datetime(2262, 4, 11, 23, 47, 16, 854000, tzinfo=UTC)


def test_each_table_has_an_arrow_type_for_each_column() -> None:
    assert {table: tuple(schema.names) for table, schema in ARROW_SCHEMAS.items()} == rows.COLUMNS


def test_builds_and_commits_keep_nulls_arrays_tuples_unicode_and_times(
    store: HistoryStore,
) -> None:
    files = (ChangedFile(f"src/{ODD}.py", 4_294_967_295, 0), ChangedFile("b.py", 1, 2))
    store.insert_builds([
        Build("shop", "b1", "c1", T_MICROS, None, (), ()),
        Build("shop", "b2", ODD, BEFORE_1970, "base", ("c1", ODD), files),
        Build("shop", "b3", "c3", FAR.replace(tzinfo=None), "", ("",), files[:1]),
    ])  # fmt: skip
    store.insert_commits([Commit("shop", "c1", BEFORE_1970, (ODD,), ODD, ODD, files)])

    assert store.query("SELECT * FROM pts.builds ORDER BY build_id") == [
        {"project": "shop", "build_id": "b1", "commit_sha": "c1", "base_sha": None,
         "commits": [], "changed_files": [], "started_at": T_STORED},
        {"project": "shop", "build_id": "b2", "commit_sha": ODD, "base_sha": "base",
         "commits": ["c1", ODD],
         "changed_files": [{"path": f"src/{ODD}.py", "added": 4_294_967_295, "deleted": 0},
                           {"path": "b.py", "added": 1, "deleted": 2}],
         "started_at": BEFORE_1970},
        {"project": "shop", "build_id": "b3", "commit_sha": "c3", "base_sha": "",
         "commits": [""],
         "changed_files": [{"path": f"src/{ODD}.py", "added": 4_294_967_295, "deleted": 0}],
         "started_at": FAR},
    ]  # fmt: skip
    [commit] = store.query("SELECT * FROM pts.commits")
    assert commit == {
        "project": "shop", "sha": "c1", "parents": [ODD], "author": ODD,
        "committed_at": BEFORE_1970, "message": ODD,
        "changed_files": [{"path": f"src/{ODD}.py", "added": 4_294_967_295, "deleted": 0},
                          {"path": "b.py", "added": 1, "deleted": 2}],
    }  # fmt: skip


def test_results_predictions_answers_and_decisions_keep_every_type(store: HistoryStore) -> None:
    outcomes = list(Outcome)
    batch = TestResultBatch(
        project=ODD, build_id="b1", report=f"{ODD}.xml",
        results=tuple(
            TestResult(f"t{i}", ODD, f"n{i}", outcome, duration, ODD if i else "", f"v{i}")
            for i, (outcome, duration) in enumerate(zip(outcomes, DURATIONS, strict=True))
        ),
        recorded_at=T_MICROS, slice=4_294_967_295, report_digest="ab12", flavor="os=☃",
    )  # fmt: skip
    store.insert_test_results([batch])
    store.insert_predictions([
        PredictionBatch.of("shop", "b1", "r.xml", f"model {ODD}",
                           (Prediction("t0", 0.0, False), Prediction(ODD, 1.0, True, "v")),
                           predicted_at=BEFORE_1970, slice=3, report_digest="ab12"),
    ])  # fmt: skip
    store.insert_subset_responses([
        SubsetResponse("r1", "shop", "b1",
                       (RankedTest(ODD, 0.5, 1.0, "must-run"), RankedTest("t", 0, 0)),
                       1, 0.25, 1e-300, "m", T_MICROS, 2, 3, -1, "os=☃", True, 4_000_000_000),
        SubsetResponse("r2", "shop", "b1", (), 0, 0.0, 0.0, "m", FAR, candidates=7),
    ])  # fmt: skip
    store.insert_champion_decisions([
        ChampionDecision("shop", "apfdc", "a", "b", {ODD: 0.75, "x": -1.5}, 30,
                         2**64 - 1, BEFORE_1970),
        ChampionDecision("shop", "apfd", "a", "b", {}, 0, 0, T_MICROS),
    ])  # fmt: skip

    found = store.query("SELECT * FROM pts.test_results ORDER BY test_id")
    assert found == [
        {"project": ODD, "build_id": "b1", "report": f"{ODD}.xml", "report_digest": "ab12",
         "slice": 4_294_967_295, "test_id": f"t{i}", "suite": ODD, "name": f"n{i}",
         "variant": f"v{i}", "outcome": str(outcome), "duration_s": duration,
         "message": ODD if i else "", "recorded_at": T_STORED, "flavor": "os=☃"}
        for i, (outcome, duration) in enumerate(zip(outcomes, DURATIONS, strict=True))
    ]  # fmt: skip
    assert store.query("SELECT * FROM pts.predictions ORDER BY variant") == [
        {"project": "shop", "build_id": "b1", "report": "r.xml", "report_digest": "ab12",
         "slice": 3, "test_id": "t0", "variant": "", "probability": 0.0, "failed": False,
         "model": f"model {ODD}", "predicted_at": BEFORE_1970},
        {"project": "shop", "build_id": "b1", "report": "r.xml", "report_digest": "ab12",
         "slice": 3, "test_id": ODD, "variant": "v", "probability": 1.0, "failed": True,
         "model": f"model {ODD}", "predicted_at": BEFORE_1970},
    ]  # fmt: skip
    assert store.query("SELECT * FROM pts.subset_responses ORDER BY request_id") == [
        {"request_id": "r1", "part": 2, "parts": 3, "project": "shop", "build_id": "b1",
         "subset_size": 1, "candidates": 2, "expected_share_of_time": 0.25,
         "expected_share_of_failures": 1e-300, "model": "m", "answered_at": T_STORED,
         "ranked": [ODD, "t"], "flavor": "os=☃", "observe": True, "results_behind": 4_000_000_000,
         "reasons": ["must-run", ""]},
        {"request_id": "r2", "part": 0, "parts": 1, "project": "shop", "build_id": "b1",
         "subset_size": 0, "candidates": 7, "expected_share_of_time": 0.0,
         "expected_share_of_failures": 0.0, "model": "m", "answered_at": FAR, "ranked": [],
         "flavor": "", "observe": False, "results_behind": 0, "reasons": []},
    ]  # fmt: skip
    assert store.query("SELECT * FROM pts.champion_decisions ORDER BY metric") == [
        {"project": "shop", "metric": "apfd", "previous": "a", "champion": "b", "records": {},
         "scored": 0, "results_learned": 0, "decided_at": T_STORED},
        {"project": "shop", "metric": "apfdc", "previous": "a", "champion": "b",
         "records": {ODD: 0.75, "x": -1.5}, "scored": 30, "results_learned": 2**64 - 1,
         "decided_at": BEFORE_1970},
    ]  # fmt: skip


def test_decoded_records_store_the_same_rows_as_their_events(store: HistoryStore) -> None:
    """The loader inserts the wire's records without building events first."""
    batch = TestResultBatch(
        "shop", "b1", "r.xml",
        (TestResult("a", "s", "a", Outcome.FAILED, 1.5, ODD), TestResult("b", "s", "b", "passed")),
        T_MICROS, report_digest="d",
    )  # fmt: skip
    _, record = wire.decode(wire.encode("TestResultBatch", to_record(batch)))
    assert store.insert_records("TestResultBatch", [record]) == 2
    assert store.insert_test_results([replace(batch, build_id="b2")]) == 2

    found = store.query("SELECT * FROM pts.test_results ORDER BY build_id, test_id")
    from_records, from_events = found[:2], found[2:]
    assert [r.pop("build_id") for r in from_records + from_events] == ["b1"] * 2 + ["b2"] * 2
    assert from_records == from_events
    assert [r["recorded_at"] for r in from_records] == [T_STORED, T_STORED]


def test_a_value_no_column_holds_is_a_store_error(store: HistoryStore) -> None:
    negative = Build("shop", "b1", "c1", T_MICROS, changed_files=(ChangedFile("a", -1, 0),))
    with pytest.raises(StoreError):
        store.insert_builds([negative])
    with pytest.raises(StoreError, match="does not fit pts.builds"):
        store.insert_records("Build", [{"project": "shop"}])
    assert store.query("SELECT count() AS n FROM pts.builds")[0]["n"] == 0


def test_epoch_millis_are_exact() -> None:
    moments = [T_MICROS + timedelta(milliseconds=i) for i in range(-3, 4)]
    assert [rows.millis(m) % 1000 for m in moments] == [120, 121, 122, 123, 124, 125, 126]
    assert rows.millis(T_MICROS.replace(tzinfo=None)) == rows.millis(T_MICROS)
