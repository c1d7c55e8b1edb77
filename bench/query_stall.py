"""Whether an analyst's query holds up history inserts: one heavy `/query`-style query (a
cross join of the builds table with itself, which runs to the query time limit) on a
`ChdbStore`, and, meanwhile, the history loader's inserts (one test-result batch each) on the
same store. Prints how many inserts finished while the query ran and the slowest insert,
beside the baseline of one lock for both sessions (how the store was before).

    .venv/bin/python -m bench.query_stall [--builds 3000] [--runs 3]
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from datetime import UTC, datetime

from bench.common import machine_line, median, progress, table, write_result
from pts.core.errors import StoreError
from pts.core.events import Build, Outcome, TestResult, TestResultBatch
from pts.sinks.chdb_store import ChdbStore

HEAVY = (
    "SELECT count() AS n FROM pts.builds AS a CROSS JOIN pts.builds AS b CROSS JOIN pts.builds AS c"
)


def one_run(builds: int, one_lock: bool) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder, ChdbStore(folder) as store:
        if one_lock:  # the baseline: queries and inserts serialised, as before
            store._reading = store._writing = threading.RLock()  # re-entrant: close takes both
        now = datetime.now(UTC)
        store.insert_builds([Build("bench", str(i), f"c{i}", now) for i in range(builds)])
        outcome: list[str] = []

        def heavy() -> None:
            try:
                store.query(HEAVY)
                outcome.append("finished")
            except StoreError as exc:
                outcome.append(str(exc)[:60])

        query = threading.Thread(target=heavy)
        started = time.monotonic()
        query.start()
        inserted, slowest = 0, 0.0
        while query.is_alive():
            before = time.monotonic()
            result = TestResult(f"s::t{inserted}", "s", f"t{inserted}", Outcome.PASSED, 0.1)
            store.insert_test_results(
                [TestResultBatch("bench", f"r{inserted}", "junit.xml", (result,), now)]
            )
            slowest = max(slowest, time.monotonic() - before)
            if query.is_alive():
                inserted += 1
        query.join()
        progress(f"query: {outcome[0]}")
        return {
            "query_s": time.monotonic() - started,
            "inserts_during_query": inserted,
            "slowest_insert_s": slowest,
        }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--builds", type=int, default=3000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    runs = {
        name: [one_run(args.builds, one_lock) for _ in range(args.runs)]
        for name, one_lock in (("one lock (before)", True), ("a lock per session", False))
    }
    print(machine_line())
    print(
        table(
            ["store", "query ran (s)", "inserts finished meanwhile", "slowest insert (s)"],
            [
                [
                    name,
                    round(median([r["query_s"] for r in measured]), 1),
                    int(median([r["inserts_during_query"] for r in measured])),
                    round(median([r["slowest_insert_s"] for r in measured]), 2),
                ]
                for name, measured in runs.items()
            ],
        )
    )
    write_result("query_stall", {"builds": args.builds, "runs": runs})


if __name__ == "__main__":
    main()
