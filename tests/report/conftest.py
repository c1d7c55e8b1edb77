"""A small history of project "shop" in real chdb, with figures computed by hand (see
`fill_history`), for the report's SQL and page tests."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pts.core.events import (
    Build,
    Outcome,
    PredictionBatch,
    RankedTest,
    SubsetResponse,
    TestResult,
    TestResultBatch,
)
from pts.sinks.chdb_store import ChdbStore

T0 = datetime(2024, 5, 7, 9, 0, tzinfo=UTC)  # a Tuesday
T1 = T0 + timedelta(days=7)
P, F = Outcome.PASSED, Outcome.FAILED


def results(outcomes: str, durations: tuple[float, ...]) -> tuple[TestResult, ...]:
    return tuple(
        TestResult(f"t::{name}", "t", name, F if outcome == "F" else P, seconds)
        for name, outcome, seconds in zip("abcd", outcomes, durations, strict=True)
    )


def fill_history(opened: ChdbStore) -> None:
    """Project "shop", two builds a week apart, each running tests a (1 s), b (2 s), c (3 s),
    d (4 s):
    - s1 (week of 2024-05-06) asked a subset (a, b of a, b, c, d; b added by the must-run net)
      and failed in b and c: the subset caught b and missed c; it skipped c and d, saving
      3.5 + 4 s (their mean durations over both builds: c ran 3 s and 4 s).
    - s2 (week of 2024-05-13) was observed, with the subset [d] of [d, c, b, a] (d starved); it
      failed in a: the subset would have missed a.
    Predictions of s1: b (0.9, failed), a (0.2, passed), c (0.1, failed), d (0.05, passed).
    """
    opened.insert_builds([Build("shop", "s1", "c1", T0), Build("shop", "s2", "c2", T1)])
    # recorded long after the builds ran (a replay): the weeks are the builds'
    later = datetime(2025, 1, 1, tzinfo=UTC)
    opened.insert_test_results(
        [
            TestResultBatch("shop", "s1", "junit.xml", results("PFFP", (1, 2, 3, 4)), later),
            TestResultBatch("shop", "s2", "junit.xml", results("FPPP", (1, 2, 4, 4)), later),
        ]
    )

    def ranked(order: str, reasons: dict[str, str]) -> tuple[RankedTest, ...]:
        return tuple(RankedTest(f"t::{t}", 0.1, 1.0, reasons.get(t, "")) for t in order)

    opened.insert_subset_responses(
        [
            SubsetResponse("r1", "shop", "s1", ranked("abcd", {"b": "must-run"}), 2, 0.3, 0.5,
                           "m", later),
            SubsetResponse("r2", "shop", "s2", ranked("dcba", {"d": "starved"}), 1, 0.4, 0.5,
                           "m", later, observe=True),
        ]
    )  # fmt: skip
    opened.insert_predictions(
        [
            PredictionBatch(
                "shop", "s1", "junit.xml", "m", ("t::b", "t::a", "t::c", "t::d"),
                (0.9, 0.2, 0.1, 0.05), (True, False, True, False), ("", "", "", ""), later,
            )
        ]
    )  # fmt: skip


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChdbStore]:
    opened = ChdbStore(Path(tmp_path_factory.mktemp("data")) / "chdb")
    fill_history(opened)
    try:
        yield opened
    finally:
        opened.close()
