"""What a query may hold: a result beyond the byte limit is refused, by ClickHouse where it counts
the result and by the store where it does not (a constant column), on both backends (real chdb);
queries at once are bounded, and run side by side."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import clickhouse_connect
import pytest

from pts.core.errors import QueryRejected
from pts.sinks.chdb_store import ChdbStore
from pts.sinks.server_store import ServerStore
from pts.sinks.store import MAX_RESULT_BYTES, HistoryStore, QuerySlots
from tests.conftest import wait_until

LIMIT = 2**20  # 1 MB
CONSTANT = "SELECT repeat('x', 100000) AS x FROM (SELECT arrayJoin(range({rows})))"
"""ClickHouse counts a constant column once, not once per row: its own limit lets this pass (and
`materialize(repeat(...))` over arrayJoin too)."""
COUNTED = "SELECT toString(n) || repeat('x', 1000) AS x FROM (SELECT arrayJoin(range({rows})) AS n)"


@pytest.fixture(params=["chdb", "clickhouse-connect"])
def small(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[HistoryStore]:
    """A store whose queries return at most LIMIT bytes."""
    if request.param == "chdb":
        opened: HistoryStore = ChdbStore(tmp_path / "chdb", readers=1, max_result_bytes=LIMIT)
    else:
        client = clickhouse_connect.get_client(
            interface="chdb", path=str(tmp_path / "chdb"), tz_mode="aware"
        )
        opened = ServerStore(client, max_result_bytes=LIMIT)
    try:
        yield opened
    finally:
        opened.close()


def test_a_result_clickhouse_counts_past_the_limit_is_refused_by_clickhouse(
    small: HistoryStore,
) -> None:
    with pytest.raises(QueryRejected) as raised:
        small.query(COUNTED.format(rows=5000))  # 5 MB
    assert str(raised.value) == (
        "query rejected: the result is larger than 1 MB, the most a query may return: "
        "add LIMIT or aggregate"
    )
    assert "Code: 396" in str(raised.value.__cause__)  # ClickHouse's TOO_MANY_ROWS_OR_BYTES


def test_a_constant_result_past_the_limit_is_refused_by_the_store(small: HistoryStore) -> None:
    with pytest.raises(QueryRejected, match="larger than 1 MB.*add LIMIT or aggregate") as raised:
        small.query(CONSTANT.format(rows=2000))  # 200 MB of text, counted by ClickHouse as 0.1
    assert raised.value.__cause__ is None  # not ClickHouse's refusal: the store's


def test_a_result_within_the_limit_comes_whole_and_the_store_answers_after(
    small: HistoryStore,
) -> None:
    with pytest.raises(QueryRejected):
        small.query(CONSTANT.format(rows=2000))
    with pytest.raises(QueryRejected):
        small.query(COUNTED.format(rows=5000))
    rows = small.query(CONSTANT.format(rows=9))  # 900 KB
    assert len(rows) == 9 and rows[0] == {"x": "x" * 100_000}
    assert small.query("SELECT 1 AS one") == [{"one": 1}]


def test_the_default_limit_refuses_the_attack_of_the_issue(tmp_path: Path) -> None:
    # 2,000 rows of 100 KB took the worker from 0.96 to 2.5 GB; 200 rows are enough to pass.
    assert MAX_RESULT_BYTES == 16 * 2**20
    with ChdbStore(tmp_path / "chdb", readers=1) as store:
        with pytest.raises(QueryRejected, match="larger than 16 MB"):
            store.query(CONSTANT.format(rows=200))
        assert len(store.query(CONSTANT.format(rows=100))) == 100  # 10 MB


def test_slots_refuse_at_once_beyond_their_size_and_free_when_a_query_ends() -> None:
    slots = QuerySlots(2)
    release = threading.Event()
    try:
        running = [slots.submit(release.wait, 60) for _ in range(2)]
        assert all(running)
        assert slots.submit(lambda: "more") is None
        assert slots.busy == "2 queries are running; retry later"
        release.set()
        assert [f.result(timeout=60) for f in running if f] == [True, True]
        assert wait_until(lambda: (f := slots.submit(lambda: "again")) is not None and f.result())
    finally:
        release.set()
        slots.close()


def test_a_failing_query_frees_its_slot() -> None:
    slots = QuerySlots(1)
    try:
        failing = slots.submit(lambda: 1 / 0)
        assert failing is not None
        with pytest.raises(ZeroDivisionError):
            failing.result(timeout=60)
        assert wait_until(lambda: (f := slots.submit(lambda: 1)) is not None and f.result() == 1)
    finally:
        slots.close()


def test_a_query_cancelled_before_it_ran_frees_its_slot() -> None:
    slots = QuerySlots(1)
    hold = threading.Event()
    try:
        slots._pool.submit(hold.wait, 60)  # the pool's one thread, busy without a slot
        waiting = slots.submit(lambda: "never")
        assert waiting is not None and waiting.cancel()
        hold.set()
        again = slots.submit(lambda: "again")
        assert again is not None and again.result(timeout=60) == "again"
    finally:
        hold.set()
        slots.close()


def test_queries_run_side_by_side_on_the_embedded_store(tmp_path: Path) -> None:
    slow = "SELECT sleep(3) + sleep(2.5) AS slept"
    running = (
        "SELECT count() FROM system.processes "
        "WHERE query LIKE '%sleep(3) + sleep(2.5)%' AND query NOT LIKE '%system.processes%'"
    )
    with ChdbStore(tmp_path / "chdb", readers=3) as store:
        answers: list[object] = []
        threads = [
            threading.Thread(target=lambda: answers.append(store.query(slow))) for _ in range(3)
        ]
        for thread in threads:
            thread.start()
        try:
            # Seen 2 at once is enough: one reader would run them one after another.
            seen = wait_until(
                lambda: int(store._run(store._writer, running).decode().strip() or 0) >= 2,
                timeout_s=60,
                every_s=0.05,
            )
        finally:
            for thread in threads:
                thread.join(timeout=60)
        assert seen and answers == [[{"slept": 0}]] * 3
