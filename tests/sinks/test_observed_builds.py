"""The saved query `observed-builds` on real chdb, against figures computed by hand.

Build o1 of project "watch" ran every test (observation mode) with the answer ranked
[a, b, c, d] and a subset of 2, so it would have run [a, b]. Its results: a passed (1 s),
b failed (2 s), c failed (3 s), d passed (4 s). The subset would have missed c and saved
c + d = 7 s of 10 s. Build o2 was answered without observation: it is not listed.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pts.core.events import Outcome, RankedTest, SubsetResponse, TestResult, TestResultBatch
from pts.sinks.chdb_store import ChdbStore
from pts.sinks.saved_queries import saved_queries

T0 = datetime(2024, 5, 6, 7, 0, tzinfo=UTC)
P, F = Outcome.PASSED, Outcome.FAILED


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChdbStore]:
    opened = ChdbStore(Path(tmp_path_factory.mktemp("chdb")))
    runs = [("a", P, 1.0), ("b", F, 2.0), ("c", F, 3.0), ("d", P, 4.0)]
    results = tuple(TestResult(f"t::{t}", "t", t, outcome, s) for t, outcome, s in runs)
    opened.insert_test_results(
        [
            TestResultBatch("watch", "o1", "junit.xml", results, T0),
            TestResultBatch("watch", "o2", "junit.xml", results, T0),
        ]
    )
    ranked = tuple(RankedTest(f"t::{t}", 0.1, 1.0) for t in "abcd")
    opened.insert_subset_responses(
        [
            SubsetResponse("r1", "watch", "o1", ranked, 2, 0.3, 0.5, "m", T0, observe=True),
            SubsetResponse("r2", "watch", "o2", ranked, 2, 0.3, 0.5, "m", T0),
        ]
    )
    try:
        yield opened
    finally:
        opened.close()


def test_observed_builds_show_what_the_subset_would_have_missed(store: ChdbStore) -> None:
    [row] = store.query(saved_queries()["observed-builds"].sql, {"project": "watch"})
    assert row["build_id"] == "o1"
    assert (row["subset_size"], row["candidates"], row["failed"]) == (2, 4, 2)
    assert row["missed"] == ["t::c"] and row["missed_failures"] == 1
    assert row["time_saved_s"] == pytest.approx(7.0)
    assert row["share_of_time_saved"] == pytest.approx(0.7)
