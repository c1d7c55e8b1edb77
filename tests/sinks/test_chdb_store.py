"""The history store against real embedded ClickHouse (chdb) in a temporary directory.

Every contract test runs on both backends: `ChdbStore`, and `ServerStore` driving the same
embedded engine through clickhouse-connect's chdb interface (the code path a server uses).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pts.core.errors import ConfigError, QueryRejected, StoreError
from pts.core.events import (
    Build,
    ChangedFile,
    Commit,
    Outcome,
    Prediction,
    PredictionBatch,
    RankedTest,
    SubsetResponse,
    TestResult,
    TestResultBatch,
)
from pts.core.settings import Settings
from pts.sinks import open_store, rows
from pts.sinks.chdb_store import ChdbStore
from pts.sinks.store import HistoryStore

T0 = datetime(2024, 5, 6, 7, 8, 9, 123000, tzinfo=UTC)


def batch(build_id: str = "b1", recorded_at: datetime = T0, outcome: Outcome = Outcome.FAILED):
    return TestResultBatch(
        project="shop",
        build_id=build_id,
        report="junit-unit.xml",
        results=(
            TestResult("cart::test_add", "cart", "test_add", Outcome.PASSED, 0.25),
            TestResult("cart::test_pay", "cart", "test_pay", outcome, 1.5, "assert 1 == 2"),
            TestResult("cart::test_old", "cart", "test_old", Outcome.SKIPPED, 0.0, "obsolete"),
        ),
        recorded_at=recorded_at,
        slice=2,
        slices=3,
    )


def test_tables_have_the_columns_rows_write(store: HistoryStore) -> None:
    for table, columns in rows.COLUMNS.items():
        described = store.query(f"DESCRIBE TABLE {table}")
        assert tuple(column["name"] for column in described) == columns


def test_builds_round_trip(store: HistoryStore) -> None:
    files = (ChangedFile("src/cart.py", 10, 2), ChangedFile("logo.png"))
    builds = [
        Build("shop", "b1", "c2", T0, "c0", ("c2", "c1"), files),
        Build("shop", "b2", "c3", T0 + timedelta(hours=1)),
    ]
    assert store.insert_builds(builds) == 2
    found = store.query("SELECT * FROM pts.builds ORDER BY build_id")
    assert found == [
        {
            "project": "shop",
            "build_id": "b1",
            "commit_sha": "c2",
            "base_sha": "c0",
            "commits": ["c2", "c1"],
            "changed_files": [
                {"path": "src/cart.py", "added": 10, "deleted": 2},
                {"path": "logo.png", "added": 0, "deleted": 0},
            ],
            "started_at": T0,
        },
        {
            "project": "shop",
            "build_id": "b2",
            "commit_sha": "c3",
            "base_sha": None,
            "commits": [],
            "changed_files": [],
            "started_at": T0 + timedelta(hours=1),
        },
    ]
    assert found[0]["started_at"].utcoffset() == timedelta(0)


def test_commits_round_trip_naive_times_as_utc(store: HistoryStore) -> None:
    naive = datetime(2024, 1, 2, 3, 4, 5)
    commit = Commit("shop", "c2", naive, ("c1",), "ana@example.com", "Fix — café", (
        ChangedFile("src/cart.py", 3, 1),
    ))  # fmt: skip
    assert store.insert_commits([commit]) == 1
    [row] = store.query("SELECT * FROM pts.commits")
    assert row["committed_at"] == naive.replace(tzinfo=UTC)
    assert row["parents"] == ["c1"]
    assert row["message"] == "Fix — café"
    assert row["changed_files"] == [{"path": "src/cart.py", "added": 3, "deleted": 1}]


def test_test_results_are_flattened_one_row_per_result(store: HistoryStore) -> None:
    assert store.insert_test_results([batch("b1"), batch("b2", outcome=Outcome.ERROR)]) == 6
    found = store.query(
        "SELECT build_id, test_id, outcome, duration_s, message, slice, recorded_at "
        "FROM pts.test_results WHERE name = {name:String} ORDER BY build_id",
        {"name": "test_pay"},
    )
    assert found == [
        {"build_id": "b1", "test_id": "cart::test_pay", "outcome": "failed", "duration_s": 1.5,
         "message": "assert 1 == 2", "slice": 2, "recorded_at": T0},
        {"build_id": "b2", "test_id": "cart::test_pay", "outcome": "error", "duration_s": 1.5,
         "message": "assert 1 == 2", "slice": 2, "recorded_at": T0},
    ]  # fmt: skip
    counts = store.query("SELECT outcome, count() AS n FROM pts.test_results GROUP BY outcome")
    assert {r["outcome"]: r["n"] for r in counts} == {"passed": 2, "failed": 1, "error": 1,
                                                       "skipped": 2}  # fmt: skip


@pytest.mark.parametrize("columns", [False, True], ids=["records", "columns"])
def test_subset_responses_keep_ranked_ids(store: HistoryStore, columns: bool) -> None:
    # Answers travel with a record per ranked test or, when the client asks, as columns.
    response = SubsetResponse(
        request_id="r1",
        project="shop",
        build_id="b1",
        ranked=(RankedTest("t::a", 0.9, 1.0, "recent-failure"), RankedTest("t::b", 0.1, 5.0)),
        subset_size=1,
        expected_share_of_time=1 / 6,
        expected_share_of_failures=0.9,
        model="logreg@120",
        answered_at=T0,
        columns=columns,
    )
    assert store.insert_subset_responses([response]) == 1
    [row] = store.query("SELECT * FROM pts.subset_responses")
    assert row["ranked"] == ["t::a", "t::b"]
    assert row["candidates"] == 2
    assert row["subset_size"] == 1
    assert row["expected_share_of_time"] == pytest.approx(1 / 6)
    assert row["answered_at"] == T0


def test_predictions_are_flattened_one_row_per_result(store: HistoryStore) -> None:
    predicted = PredictionBatch.of(
        "shop",
        "b1",
        "junit-unit.xml",
        "logistic@40",
        (Prediction("cart::test_add", 0.25, False), Prediction("cart::test_pay", 0.75, True)),
        predicted_at=T0,
        slice=1,
    )
    assert store.insert_predictions([predicted]) == 2
    found = store.query("SELECT * FROM pts.predictions ORDER BY test_id")
    assert [(r["test_id"], r["probability"], r["failed"]) for r in found] == [
        ("cart::test_add", 0.25, False),
        ("cart::test_pay", 0.75, True),
    ]
    assert {(r["model"], r["slice"], r["predicted_at"]) for r in found} == {("logistic@40", 1, T0)}


def test_empty_inserts_write_nothing(store: HistoryStore) -> None:
    assert store.insert_builds([]) == 0
    assert store.insert_test_results([batch(), TestResultBatch("shop", "b1", "empty.xml", ())]) == 3
    assert store.query("SELECT count() AS n FROM pts.test_results") == [{"n": 3}]


def test_inserting_the_same_batch_twice_keeps_one_row_per_key(store: HistoryStore) -> None:
    store.insert_test_results([batch()])
    store.insert_test_results([batch()])
    store.insert_builds([Build("shop", "b1", "c1", T0)] * 2)
    assert store.query("SELECT count() AS n FROM pts.test_results FINAL") == [{"n": 3}]
    # query() reads with final = 1, so FINAL may be left out:
    assert store.query("SELECT count() AS n FROM pts.test_results") == [{"n": 3}]
    assert store.query("SELECT count() AS n FROM pts.builds") == [{"n": 1}]


def test_the_latest_recording_wins_even_when_an_old_one_is_replayed(store: HistoryStore) -> None:
    store.insert_test_results([batch(recorded_at=T0)])
    store.insert_test_results(
        [batch(recorded_at=T0 + timedelta(minutes=5), outcome=Outcome.PASSED)]
    )
    store.insert_test_results([batch(recorded_at=T0)])  # a replay of the first recording
    found = store.query("SELECT outcome FROM pts.test_results WHERE name = 'test_pay'")
    assert found == [{"outcome": "passed"}]


@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO pts.builds (project) VALUES ('x')",
        "DROP TABLE pts.builds",
        "ALTER TABLE pts.builds DELETE WHERE 1",
        "CREATE TABLE pts.x (a UInt8) ENGINE = Memory",
        "OPTIMIZE TABLE pts.builds FINAL",
        "SET readonly = 0",
        "SELECT 1; DROP TABLE pts.builds",
        "SELECT 1; SELECT 2",
        "SELECT 1 INTO OUTFILE 'leak.csv'",
        "-- nothing",
        "",
    ],
)
def test_query_rejects_anything_but_one_read(store: HistoryStore, sql: str) -> None:
    with pytest.raises(QueryRejected, match="^query rejected") as raised:
        store.query(sql)
    assert "\n" not in str(raised.value)
    assert store.query("SELECT count() AS n FROM pts.builds") == [{"n": 0}]


def test_clickhouse_read_only_mode_backs_the_check(store: HistoryStore) -> None:
    with pytest.raises(QueryRejected, match="read-only mode"):
        store._select("INSERT INTO pts.builds (project, build_id) VALUES ('x', 'y')", {})
    assert store.query("SELECT count() AS n FROM pts.builds") == [{"n": 0}]


def test_a_bad_query_is_a_one_line_refusal(store: HistoryStore) -> None:
    # The query's own mistake (exit code 2), not a store that fails (1).
    with pytest.raises(QueryRejected) as raised:
        store.query("SELECT no_such_column FROM pts.builds")
    assert "no_such_column" in str(raised.value) and "\n" not in str(raised.value)


def test_reopening_the_directory_keeps_the_data(tmp_path: Path) -> None:
    with ChdbStore(tmp_path / "chdb") as first:
        first.insert_test_results([batch()])
    with ChdbStore(tmp_path / "chdb") as again:
        again.insert_test_results([batch()])
        assert again.query("SELECT count() AS n FROM pts.test_results") == [{"n": 3}]


def test_a_closed_store_refuses_work(tmp_path: Path) -> None:
    store = ChdbStore(tmp_path / "chdb")
    store.close()
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.query("SELECT 1")


def test_one_directory_per_process(tmp_path: Path) -> None:
    with ChdbStore(tmp_path / "a"), pytest.raises(StoreError, match="cannot open"):
        ChdbStore(tmp_path / "b")
    with ChdbStore(tmp_path / "b") as other:  # free again once the first is closed
        assert other.query("SELECT 1 AS one") == [{"one": 1}]


def test_open_store_is_chdb_without_a_url(tmp_path: Path) -> None:
    with open_store(Settings(data_dir=tmp_path, clickhouse_url=None)) as store:
        assert isinstance(store, ChdbStore)
        assert store.path == tmp_path / "chdb"


def test_open_store_refuses_a_url_it_cannot_read(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="clickhouse_url"):
        open_store(Settings(data_dir=tmp_path, clickhouse_url="ftp://ch.example/db"))


# The tables as the first release created them, before variants, digests and answer parts.
FIRST_RELEASE_TABLES = (
    """CREATE TABLE pts.test_results (project LowCardinality(String), build_id String,
    report String, slice UInt32, test_id String, suite String, name String,
    outcome Enum8('passed' = 1, 'failed' = 2, 'error' = 3, 'skipped' = 4), duration_s Float64,
    message String, recorded_at DateTime64(3, 'UTC'))
    ENGINE = ReplacingMergeTree(recorded_at) ORDER BY (project, build_id, test_id, report)""",
    """CREATE TABLE pts.subset_responses (request_id String, project LowCardinality(String),
    build_id String, subset_size UInt32, candidates UInt32, expected_share_of_time Float64,
    expected_share_of_failures Float64, model String, answered_at DateTime64(3, 'UTC'),
    ranked Array(String)) ENGINE = ReplacingMergeTree(answered_at) ORDER BY request_id""",
)


def test_a_store_of_the_first_release_is_upgraded_in_place(tmp_path: Path) -> None:
    with ChdbStore(tmp_path / "old") as old:
        old._execute("DROP TABLE pts.test_results")
        old._execute("DROP TABLE pts.subset_responses")
        for statement in FIRST_RELEASE_TABLES:
            old._execute(statement)
        old._execute(
            "INSERT INTO pts.test_results VALUES ('shop', 'b0', 'junit.xml', 0, 'cart::old', "
            "'cart', 'old', 'passed', 1.0, '', now64())"
        )
    with ChdbStore(tmp_path / "old") as upgraded:  # opening applies schema.sql
        repeated = TestResultBatch("shop", "b1", "pw.xml", (
            TestResult("login::t", "login", "t", Outcome.PASSED, 1.0, variant="chromium"),
            TestResult("login::t", "login", "t", Outcome.FAILED, 1.2, variant="firefox"),
        ), recorded_at=T0, report_digest="ab12")  # fmt: skip
        upgraded.insert_test_results([repeated])
        rows_now = upgraded.query(
            "SELECT build_id, variant, report_digest FROM pts.test_results "
            "ORDER BY build_id, variant"
        )
        assert rows_now == [
            {"build_id": "b0", "variant": "", "report_digest": ""},
            {"build_id": "b1", "variant": "chromium", "report_digest": "ab12"},
            {"build_id": "b1", "variant": "firefox", "report_digest": "ab12"},
        ]
