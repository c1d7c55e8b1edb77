"""The analysts' saved queries (`sinks/queries/*.sql`) on real chdb, against figures computed
by hand from a small history:

    build:   b1   b2   b3   b4          (an hour apart)
    t::a     pass FAIL pass FAIL        4 runs, 2 failures, 3 flips
    t::b     pass pass pass pass        never failed
    t::c     FAIL FAIL pass pass        4 runs, 2 failures, 1 flip
    t::d     skip FAIL  -    -          1 run (skips do not count), 1 failure
    other::x FAIL (project "other")

Subset answers: b2 ran [a, c] of [a, c, b, d]; b4 was asked twice, and its latest answer ran
[b] of [b, a] (the earlier one ran [a]).

Predictions. First week: a 0.9 failed, b 0.2 passed, c 0.4 failed, d 0.3 passed; each failure
was given a higher chance than each pass, so AUC = 1.0, and the mean chance is 0.45 beside a
failure rate of 0.5. The week after: a 0.1 failed, b 0.6 passed, so AUC = 0.0. A third week has
no failure, so it has no AUC. By band of chance (calibration): 5-20% holds a 0.1 that failed;
20-50% holds 0.2, 0.4 and 0.3, one failed; 50-100% holds 0.9, 0.6 and 0.5, one failed. Over all
seven, 6 of the 12 (failed, passed) pairs rank the failure higher: AUC 0.5.

Champion decisions: on apfdc the model gave way to recent-failure/s after 5 failing builds, and
took over again after 30.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from pts.core.events import (
    ChampionDecision,
    Outcome,
    Prediction,
    PredictionBatch,
    RankedTest,
    SubsetResponse,
    TestResult,
    TestResultBatch,
)
from pts.sinks.chdb_store import ChdbStore
from pts.sinks.saved_queries import saved_queries
from pts.sinks.store import HistoryStore

T0 = datetime(2024, 5, 6, 7, 0, tzinfo=UTC)  # a Monday
P, F, S = Outcome.PASSED, Outcome.FAILED, Outcome.SKIPPED
OUTCOMES = {
    "t::a": [P, F, P, F],
    "t::b": [P, P, P, P],
    "t::c": [F, F, P, P],
    "t::d": [S, F],
}


def result(test_id: str, outcome: Outcome) -> TestResult:
    suite, name = test_id.split("::")
    return TestResult(test_id, suite, name, outcome, 1.0)


def answer(request_id: str, build: str, ranked: list[str], size: int, share: float, at: datetime):
    return SubsetResponse(
        request_id=request_id,
        project="shop",
        build_id=build,
        ranked=tuple(RankedTest(t, 0.1, 1.0) for t in ranked),
        subset_size=size,
        expected_share_of_time=share,
        expected_share_of_failures=0.5,
        model="logistic@10",
        answered_at=at,
    )


def predictions(build: str, at: datetime, chances: dict[str, tuple[float, bool]]):
    made = tuple(Prediction(t, p, failed) for t, (p, failed) in chances.items())
    return PredictionBatch.of("shop", build, "junit.xml", "logistic@5", made, predicted_at=at)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HistoryStore]:
    opened = ChdbStore(Path(tmp_path_factory.mktemp("chdb")))
    batches = []
    for i in range(4):
        results = [result(t, runs[i]) for t, runs in OUTCOMES.items() if i < len(runs)]
        at = T0 + timedelta(hours=i)
        batches.append(TestResultBatch("shop", f"b{i + 1}", "junit.xml", tuple(results), at))
    batches.append(TestResultBatch("other", "b1", "junit.xml", (result("other::x", F),), T0))
    opened.insert_test_results(batches)
    b4 = T0 + timedelta(hours=3)
    opened.insert_subset_responses(
        [
            answer("r1", "b2", ["t::a", "t::c", "t::b", "t::d"], 2, 0.3, T0 + timedelta(hours=1)),
            answer("r2", "b4", ["t::a", "t::b"], 1, 0.5, b4),
            answer("r3", "b4", ["t::b", "t::a"], 1, 0.4, b4 + timedelta(minutes=1)),
        ]
    )
    opened.insert_predictions(
        [
            predictions("w1", T0, {"t::a": (0.9, True), "t::b": (0.2, False), "t::c": (0.4, True),
                                   "t::d": (0.3, False)}),
            predictions("w2", T0 + timedelta(days=7), {"t::a": (0.1, True), "t::b": (0.6, False)}),
            predictions("w3", T0 + timedelta(days=14), {"t::b": (0.5, False)}),
        ]
    )  # fmt: skip
    opened.insert_champion_decisions(
        [
            ChampionDecision("shop", "apfdc", "learned/s", "recent-failure/s",
                             {"learned/s": 0.6, "recent-failure/s": 0.8}, 5, 100, T0),
            ChampionDecision("shop", "apfdc", "recent-failure/s", "learned/s",
                             {"learned/s": 0.9, "recent-failure/s": 0.7}, 30, 900,
                             T0 + timedelta(days=1)),
        ]
    )  # fmt: skip
    try:
        yield opened
    finally:
        opened.close()


def run(store: HistoryStore, name: str, project: str = "shop") -> list[dict]:
    return store.query(saved_queries()[name].sql, {"project": project})


def test_every_saved_query_says_what_it_answers() -> None:
    for saved in saved_queries().values():
        assert saved.description and not saved.description.startswith("-")


def test_failure_rates(store: HistoryStore) -> None:
    rows = run(store, "failure-rates")
    assert [(r["test_id"], r["runs"], r["failures"], r["failure_rate"]) for r in rows] == [
        ("t::d", 1, 1, 1.0),
        ("t::a", 4, 2, 0.5),
        ("t::c", 4, 2, 0.5),
    ]
    assert rows[1]["last_failed_at"] == T0 + timedelta(hours=3)


def test_failure_rates_of_every_project_without_a_project(store: HistoryStore) -> None:
    rows = run(store, "failure-rates", project="")
    assert {(r["project"], r["test_id"]) for r in rows} == {
        ("shop", "t::a"),
        ("shop", "t::c"),
        ("shop", "t::d"),
        ("other", "other::x"),
    }


def test_flaky_tests_count_flips_in_recording_order(store: HistoryStore) -> None:
    rows = run(store, "flaky-tests")
    assert [(r["test_id"], r["flips"], r["flip_rate"]) for r in rows] == [
        ("t::a", 3, 1.0),
        ("t::c", 1, 0.3333),
    ]


def test_time_saved(store: HistoryStore) -> None:
    [row] = run(store, "time-saved")
    assert row["answers"] == 3
    assert row["share_of_tests_run"] == pytest.approx(0.5)
    assert row["share_of_time_run"] == pytest.approx(0.4)
    assert row["share_of_time_saved"] == pytest.approx(0.6)


def test_subset_quality_uses_each_builds_latest_answer(store: HistoryStore) -> None:
    [row] = run(store, "subset-quality")
    # b2: a, c and d failed, the subset held a and c; b4: a failed, the latest subset was [b].
    assert row["failing_builds"] == 2
    assert row["builds_caught"] == pytest.approx(0.5)
    assert row["failures_in_subset"] == pytest.approx(2 / 4)


def test_model_quality_per_week(store: HistoryStore) -> None:
    rows = run(store, "model-quality-by-week")
    assert [(r["results"], r["failures"], r["roc_auc"]) for r in rows] == [
        (4, 2, 1.0),
        (2, 1, 0.0),
        (1, 0, None),  # no failure: nothing to rank
    ]
    assert rows[0]["mean_predicted"] == pytest.approx(0.45)
    assert rows[0]["failure_rate"] == pytest.approx(0.5)
    assert [r["week"] for r in rows] == [date(2024, 5, 6), date(2024, 5, 13), date(2024, 5, 20)]


def test_model_quality_is_a_calibration_table(store: HistoryStore) -> None:
    rows = run(store, "model-quality")
    assert [(r["band"], r["results"], r["failures"]) for r in rows] == [
        ("5-20%", 1, 1),
        ("20-50%", 3, 1),
        ("50-100%", 3, 1),
    ]
    assert [r["mean_predicted"] for r in rows] == pytest.approx([0.1, 0.3, 2 / 3], abs=1e-6)
    assert [r["failure_rate"] for r in rows] == pytest.approx([1.0, 1 / 3, 1 / 3], abs=1e-6)
    assert [r["roc_auc"] for r in rows] == pytest.approx([0.5] * 3, abs=1e-4)


def test_champions_lists_each_decision_with_both_records(store: HistoryStore) -> None:
    rows = run(store, "champions")
    assert [(r["previous"], r["champion"], r["champion_record"], r["previous_record"])
            for r in rows] == [
        ("learned/s", "recent-failure/s", 0.8, 0.6),
        ("recent-failure/s", "learned/s", 0.9, 0.7),
    ]  # fmt: skip
    assert [r["scored"] for r in rows] == [5, 30] and rows[0]["metric"] == "apfdc"
    assert run(store, "champions", "other") == []
