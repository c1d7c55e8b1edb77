"""An analyst's heavy query does not hold up the history loader's inserts (real chdb)."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pts.core.errors import StoreError
from pts.core.events import Build, Outcome, TestResult, TestResultBatch
from pts.sinks import chdb_store
from pts.sinks.chdb_store import ChdbStore

HEAVY = (
    "SELECT count() AS n FROM pts.builds AS a CROSS JOIN pts.builds AS b "
    "CROSS JOIN pts.builds AS c"
)  # 2.7e10 rows from 3,000 builds: it runs to the time limit
RUNNING = (
    "SELECT count() FROM system.processes "
    "WHERE query LIKE '%CROSS JOIN pts.builds AS c%' AND query NOT LIKE '%system.processes%'"
)


def running_queries(store: ChdbStore) -> int:
    # On the writer's session: the query itself holds the reader's.
    return int(store._run(store._writer, RUNNING).decode().strip() or 0)


def test_inserts_finish_while_a_long_query_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(chdb_store._READER_SETTINGS, "max_execution_time", 12)
    events: list[str] = []
    with ChdbStore(tmp_path / "chdb") as store:
        now = datetime.now(UTC)
        store.insert_builds([Build("shop", str(i), f"c{i}", now) for i in range(3000)])

        def heavy() -> None:
            try:
                store.query(HEAVY)
                events.append("query finished")
            except StoreError as exc:
                events.append("query stopped at its limit" if "Timeout" in str(exc) else str(exc))

        query = threading.Thread(target=heavy)
        query.start()
        # Seen once in system.processes is enough: on a loaded machine a second look can come
        # between the query's stages and miss it.
        deadline = time.monotonic() + 60
        seen = False
        while not seen and query.is_alive() and time.monotonic() < deadline:
            seen = running_queries(store) > 0
            time.sleep(0.05)
        events.append("query running" if seen else "query not seen running")
        for number in range(10):
            result = TestResult(f"s::t{number}", "s", f"t{number}", Outcome.PASSED, 0.1)
            store.insert_test_results([TestResultBatch("shop", "b", f"r{number}", (result,), now)])
        events.append("10 inserts done" + (" while the query runs" if query.is_alive() else ""))
        query.join(timeout=60)
        assert events == [
            "query running",
            "10 inserts done while the query runs",
            "query stopped at its limit",
        ]
        # and the session that hit its limit answers the next query right
        stored = store.query("SELECT count() AS n FROM pts.test_results")
        assert stored == [{"n": 10}]
