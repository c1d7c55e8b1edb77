"""The report's SQL (`report/queries.py`) on real chdb, against figures computed by hand.

Project "shop", two builds a week apart, each running tests a (1 s), b (2 s), c (3 s), d (4 s):
- s1 (week of 2024-05-06) asked a subset (a, b of a, b, c, d; b added by the must-run net) and
  failed in b and c: the subset caught b and missed c; it skipped c and d, saving 3.5 + 4 s
  (their mean durations over both builds: c ran 3 s and 4 s).
- s2 (week of 2024-05-13) was observed, with the subset [d] of [d, c, b, a] (d starved); it
  failed in a: the subset would have missed a.
Predictions of s1: b (0.9, failed), a (0.2, passed), c (0.1, failed), d (0.05, passed).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
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
from pts.report import queries
from pts.sinks.chdb_store import ChdbStore

T0 = datetime(2024, 5, 7, 9, 0, tzinfo=UTC)  # a Tuesday
T1 = T0 + timedelta(days=7)
P, F = Outcome.PASSED, Outcome.FAILED
SHOP = {"project": "shop"}


def results(outcomes: str, durations: tuple[float, ...]) -> tuple[TestResult, ...]:
    return tuple(
        TestResult(f"t::{name}", "t", name, F if outcome == "F" else P, seconds)
        for name, outcome, seconds in zip("abcd", outcomes, durations, strict=True)
    )


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChdbStore]:
    opened = ChdbStore(Path(tmp_path_factory.mktemp("chdb")))
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
    try:
        yield opened
    finally:
        opened.close()


def test_build_weeks_count_builds_results_and_failures_by_the_builds_week(
    store: ChdbStore,
) -> None:
    rows = store.query(queries.BUILD_WEEKS, SHOP)
    assert [(r["week"], r["builds"], r["failing_builds"]) for r in rows] == [
        (date(2024, 5, 6), 1, 1),
        (date(2024, 5, 13), 1, 1),
    ]
    assert [(r["results"], r["failures"], r["test_time_s"]) for r in rows] == [
        (4, 2, 10.0),
        (4, 1, 11.0),
    ]


def test_subset_builds_count_tests_run_skipped_time_saved_and_safety_nets(
    store: ChdbStore,
) -> None:
    first, second = store.query(queries.SUBSET_BUILDS, SHOP)
    assert (first["build_id"], first["observe"], first["week"]) == ("s1", False, date(2024, 5, 6))
    assert (first["candidates"], first["tests_run"], first["tests_skipped"]) == (4, 2, 2)
    assert first["time_run_s"] == pytest.approx(1 + 2)
    assert first["time_saved_s"] == pytest.approx(3.5 + 4)
    assert (first["must_run"], first["starved"], first["full_run"]) == (1, 0, 0)
    assert (second["build_id"], second["observe"], second["tests_run"]) == ("s2", True, 1)
    assert (second["must_run"], second["starved"]) == (0, 1)


def test_caught_tells_failures_in_the_subset_from_those_it_missed(store: ChdbStore) -> None:
    first, second = store.query(queries.CAUGHT, SHOP)
    assert (first["build_id"], first["failed"], first["caught"], first["missed"]) == (
        "s1", 2, 1, 1,
    )  # fmt: skip
    assert first["missed_tests"] == ["t::c"]
    assert (second["build_id"], second["observe"], second["missed_tests"]) == ("s2", True, ["t::a"])


def test_slowest_tests_come_longest_first(store: ChdbStore) -> None:
    rows = store.query(queries.SLOWEST, SHOP)
    assert [(r["test_id"], r["mean_s"], r["runs"]) for r in rows] == [
        ("t::d", 4.0, 2), ("t::c", 3.5, 2), ("t::b", 2.0, 2), ("t::a", 1.0, 2),
    ]  # fmt: skip


def test_quality_weeks_score_the_predictions_of_each_builds_week(store: ChdbStore) -> None:
    [row] = store.query(queries.QUALITY_WEEKS, SHOP)
    assert (row["week"], row["results"], row["failures"]) == (date(2024, 5, 6), 4, 2)
    # failed b (0.9) and c (0.1) against passed a (0.2) and d (0.05): 3 of 4 pairs in order
    assert row["roc_auc"] == pytest.approx(0.75)
    assert row["mean_predicted"] == pytest.approx((0.9 + 0.2 + 0.1 + 0.05) / 4)


def test_projects_are_every_project_in_the_history(store: ChdbStore) -> None:
    assert store.query(queries.PROJECTS, {"project": ""}) == [{"project": "shop"}]
    assert store.query(queries.PROJECTS, {"project": "other"}) == []
