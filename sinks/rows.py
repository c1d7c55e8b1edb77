"""Events as table columns: one list per column of `schema.sql`, built straight from the Avro
records the wire decodes (or `to_record` gives), so nothing is converted twice.

Values are plain Python (str, int, float, bool, None, lists, dicts for named tuples and maps);
every datetime becomes epoch milliseconds (an int: `DateTime64(3)` ticks), computed once per
event or per batch, never formatted as text. Each backend hands the columns to its wire in one
piece (chdb: an Arrow table; a server: clickhouse-connect's column-oriented insert).

>>> columns = test_result_columns([{
...     "project": "shop", "build_id": "b1", "report": "junit.xml", "report_digest": "",
...     "slice": 0, "flavor": "", "recorded_at": datetime(2024, 5, 6, 7, 8, 9, 123456, UTC),
...     "results": [{"test_id": "cart::add", "suite": "cart", "name": "add",
...                  "variant": "", "outcome": "passed", "duration_s": 0.5, "message": ""}],
... }])
>>> columns["test_id"], columns["recorded_at"]
(['cart::add'], [1714979289123])
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from pts.core.events import holds_result_columns, ranked_reasons, ranked_test_ids
from pts.core.events import prediction_columns as prediction_columns_of

Record = Mapping[str, Any]
Columns = dict[str, list[Any]]
"""Column name → its values, one per row, in the order of `COLUMNS[table]`."""

BUILDS = "pts.builds"
COMMITS = "pts.commits"
TEST_RESULTS = "pts.test_results"
SUBSET_RESPONSES = "pts.subset_responses"
PREDICTIONS = "pts.predictions"
STORE_PROBE = "pts.store_probe"
CHAMPION_DECISIONS = "pts.champion_decisions"

COLUMNS: dict[str, tuple[str, ...]] = {
    BUILDS: (
        "project", "build_id", "commit_sha", "base_sha", "commits", "changed_files", "started_at",
    ),
    COMMITS: (
        "project", "sha", "parents", "author", "committed_at", "message", "changed_files",
    ),
    TEST_RESULTS: (
        "project", "build_id", "report", "report_digest", "slice", "test_id", "suite", "name",
        "variant", "outcome", "duration_s", "message", "recorded_at", "flavor",
    ),
    SUBSET_RESPONSES: (
        "request_id", "part", "parts", "project", "build_id", "subset_size", "candidates",
        "expected_share_of_time", "expected_share_of_failures", "model", "answered_at", "ranked",
        "flavor", "observe", "results_behind", "reasons",
    ),
    PREDICTIONS: (
        "project", "build_id", "report", "report_digest", "slice", "test_id", "variant",
        "probability", "failed", "model", "predicted_at",
    ),
    STORE_PROBE: ("probe", "probed_at"),
    CHAMPION_DECISIONS: (
        "project", "metric", "previous", "champion", "records", "scored", "results_learned",
        "decided_at",
    ),
}  # fmt: skip
DATETIME_COLUMNS = frozenset(
    {"started_at", "committed_at", "recorded_at", "answered_at", "predicted_at", "probed_at",
     "decided_at"}
)  # fmt: skip
"""The `DateTime64(3, 'UTC')` columns: their values are epoch milliseconds."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND = timedelta(milliseconds=1)
_RESULT_FIELDS = ("test_id", "suite", "name", "variant", "outcome", "duration_s", "message")
_RESULT_COLUMNS = {  # table column: TestResultBatch column (v4 writers)
    "test_id": "test_ids", "suite": "suites", "name": "names", "variant": "variants",
    "outcome": "outcomes", "duration_s": "durations_s", "message": "messages",
}  # fmt: skip
_BATCH_FIELDS = ("project", "build_id", "report", "report_digest", "slice", "flavor")
_PREDICTION_FIELDS = {  # table column: PredictionBatch column
    "test_id": "test_ids",
    "variant": "variants",
    "probability": "probabilities",
    "failed": "failed",
}
_PREDICTION_BATCH_FIELDS = ("project", "build_id", "report", "report_digest", "slice", "model")


def millis(moment: datetime) -> int:
    """Epoch milliseconds, exactly (integer arithmetic, sub-millisecond part dropped); a naive
    datetime is taken to be UTC already.

    >>> millis(datetime(1970, 1, 1, 0, 0, 1, 999999)), millis(datetime(1969, 12, 31, 23, 59, 59))
    (1999, -1000)
    """
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - _EPOCH) // _MILLISECOND


def empty(table: str) -> Columns:
    return {column: [] for column in COLUMNS[table]}


def _files(files: Sequence[Record]) -> list[dict[str, Any]]:
    return [{"path": f["path"], "added": f["added"], "deleted": f["deleted"]} for f in files]


def build_columns(records: Sequence[Record]) -> Columns:
    columns = empty(BUILDS)
    for r in records:
        columns["project"].append(r["project"])
        columns["build_id"].append(r["build_id"])
        columns["commit_sha"].append(r["commit_sha"])
        columns["base_sha"].append(r["base_sha"])
        columns["commits"].append(list(r["commits"]))
        columns["changed_files"].append(_files(r["changed_files"]))
        columns["started_at"].append(millis(r["started_at"]))
    return columns


def commit_columns(records: Sequence[Record]) -> Columns:
    columns = empty(COMMITS)
    for r in records:
        columns["project"].append(r["project"])
        columns["sha"].append(r["sha"])
        columns["parents"].append(list(r["parents"]))
        columns["author"].append(r["author"])
        columns["committed_at"].append(millis(r["committed_at"]))
        columns["message"].append(r["message"])
        columns["changed_files"].append(_files(r["changed_files"]))
    return columns


def test_result_columns(records: Sequence[Record]) -> Columns:
    """One row per result of each batch; the batch's ids and time repeat on each."""
    columns = empty(TEST_RESULTS)
    for batch in records:
        if holds_result_columns(batch):
            repeat = len(batch["test_ids"])
            for name, column in _RESULT_COLUMNS.items():
                values = batch[column]
                if len(values) != repeat:
                    raise ValueError(f"{len(values)} {column} for {repeat} test_ids")
                columns[name] += values
        else:  # records, from a writer before v4
            results = batch.get("results", ())
            repeat = len(results)
            for name in _RESULT_FIELDS:
                columns[name] += [result[name] for result in results]
        for name in _BATCH_FIELDS:
            columns[name] += [batch[name]] * repeat
        columns["recorded_at"] += [millis(batch["recorded_at"])] * repeat
    return columns


def subset_response_columns(records: Sequence[Record]) -> Columns:
    columns = empty(SUBSET_RESPONSES)
    for r in records:
        for name in ("request_id", "part", "parts", "project", "build_id", "subset_size",
                     "expected_share_of_time", "expected_share_of_failures", "model", "flavor",
                     "observe", "results_behind"):  # fmt: skip
            columns[name].append(r[name])
        ranked = ranked_test_ids(r)
        columns["candidates"].append(r["candidates"] if r["candidates"] >= 0 else len(ranked))
        columns["answered_at"].append(millis(r["answered_at"]))
        columns["ranked"].append(ranked)
        columns["reasons"].append(ranked_reasons(r))
    return columns


def prediction_columns(records: Sequence[Record]) -> Columns:
    """One row per predicted result; the batch's ids, model and time repeat on each."""
    columns = empty(PREDICTIONS)
    for batch in records:
        predicted = prediction_columns_of(batch)
        repeat = len(predicted["test_ids"])
        for name in _PREDICTION_BATCH_FIELDS:
            columns[name] += [batch[name]] * repeat
        columns["predicted_at"] += [millis(batch["predicted_at"])] * repeat
        for column, field in _PREDICTION_FIELDS.items():
            columns[column] += predicted[field]
    return columns


def champion_decision_columns(records: Sequence[Record]) -> Columns:
    columns = empty(CHAMPION_DECISIONS)
    for r in records:
        for name in ("project", "metric", "previous", "champion", "scored", "results_learned"):
            columns[name].append(r[name])
        columns["records"].append(dict(r["records"]))
        columns["decided_at"].append(millis(r["decided_at"]))
    return columns


def probe_columns(moment: datetime) -> Columns:
    return {"probe": [1], "probed_at": [millis(moment)]}


TABLE_OF_KIND: dict[str, tuple[str, Callable[[Sequence[Record]], Columns]]] = {
    "Build": (BUILDS, build_columns),
    "Commit": (COMMITS, commit_columns),
    "TestResultBatch": (TEST_RESULTS, test_result_columns),
    "SubsetResponse": (SUBSET_RESPONSES, subset_response_columns),
    "PredictionBatch": (PREDICTIONS, prediction_columns),
    "ChampionDecision": (CHAMPION_DECISIONS, champion_decision_columns),
}
"""For each stored kind (its Avro schema name): its table, and how its records become columns."""


def row_count(columns: Columns) -> int:
    return len(next(iter(columns.values()), []))
