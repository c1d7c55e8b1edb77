"""A decoded batch holds its results as columns (`ResultColumns`); they read, compare and
re-encode as the `TestResult`s they stand for."""

from __future__ import annotations

import pytest

from pts.core import wire
from pts.core.events import Outcome, ResultColumns, TestResult, TestResultBatch

RESULTS = (
    TestResult("s::a", "s", "a", Outcome.PASSED, 0.5),
    TestResult("s::b", "s", "b", Outcome.FAILED, 1.25, "boom"),
    TestResult("s::c", "s", "c", Outcome.SKIPPED, 0.0, "not here"),
    TestResult("s::a", "s", "a", Outcome.ERROR, 2.0, "crash", variant="#2"),
)


def decoded(results: tuple[TestResult, ...]) -> TestResultBatch:
    batch = TestResultBatch("p", "b1", "junit.xml", results, report_digest="ab12")
    _, record = wire.decode(wire.encode("TestResultBatch", batch.to_record()))
    return TestResultBatch.from_record(record)


def test_a_decoded_batch_holds_columns_that_equal_its_results() -> None:
    batch = decoded(RESULTS)
    assert isinstance(batch.results, ResultColumns)
    assert batch.results == RESULTS
    assert RESULTS == batch.results  # noqa: SIM300 (the tuple on the left: reflected ==)
    assert list(batch.results) == list(RESULTS)
    assert batch == TestResultBatch(
        "p", "b1", "junit.xml", RESULTS, recorded_at=batch.recorded_at, report_digest="ab12"
    )
    assert all(type(o) is Outcome for o in batch.results.outcomes)  # the selector tests `is`
    assert hash(batch.results) == hash(RESULTS)


def test_columns_index_slice_and_encode_as_the_results() -> None:
    columns = ResultColumns.of(RESULTS)
    assert ResultColumns.of(columns) is columns
    assert columns[1] == RESULTS[1] and columns[-1] == RESULTS[-1]
    assert isinstance(columns[1:3], ResultColumns) and columns[1:3] == RESULTS[1:3]
    assert [r.to_record() for r in columns] == [r.to_record() for r in RESULTS]
    assert decoded(RESULTS).to_record()["test_ids"] == columns.test_ids
    assert columns != RESULTS[:3] and columns != "s::a"


def test_ran_leaves_out_the_skipped_and_failed_counts_errors() -> None:
    columns = ResultColumns.of(RESULTS)
    ran = columns.ran()
    assert ran.test_ids == ("s::a", "s::b", "s::a")
    assert ran.variants == ("", "", "#2")
    assert ran.failed() == [False, True, True]
    assert [r.failed for r in ran] == ran.failed()
    assert columns.ran().ran() == ran
    assert ResultColumns.of(RESULTS[:2]).ran() == RESULTS[:2]


def test_records_written_by_hand_may_leave_out_the_defaults() -> None:
    columns = ResultColumns.from_records(
        [{"test_id": "t", "suite": "s", "name": "t", "outcome": "failed"}]
    )
    assert columns == (TestResult("t", "s", "t", Outcome.FAILED),)
    empty = decoded(())
    assert empty.results == () and len(empty.results) == 0 and empty.results.ran() == ()


def test_columns_of_different_lengths_are_refused() -> None:
    with pytest.raises(ValueError, match="different lengths"):
        ResultColumns(("a", "b"), ("s",), ("a",), (Outcome.PASSED,), (0.0,), ("",), ("",))
