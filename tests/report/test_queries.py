"""The report's SQL (`report/queries.py`) on real chdb, against the figures of the small
history in `conftest.fill_history`."""

from __future__ import annotations

from datetime import date

import pytest

from pts.report import queries
from pts.sinks.chdb_store import ChdbStore

SHOP = {"project": "shop"}


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


def test_flakiest_tests_count_flips_between_consecutive_runs(store: ChdbStore) -> None:
    rows = store.query(queries.FLAKIEST, SHOP)
    # a passed then failed, b and c failed then passed, d passed twice
    assert [(r["test_id"], r["runs"], r["flips"]) for r in rows] == [
        ("t::a", 2, 1), ("t::b", 2, 1), ("t::c", 2, 1),
    ]  # fmt: skip
    assert {r["flipping_tests"] for r in rows} == {3}


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
