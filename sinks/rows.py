"""Events as table rows: one dict per row, keyed by the column names of `schema.sql`.

Values are plain Python (str, int, float, lists, dicts for named tuples, aware UTC datetimes);
each backend encodes them for its wire (chdb: JSONEachRow; a server: clickhouse-connect).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pts.core.events import (
    Build,
    ChampionDecision,
    ChangedFile,
    Commit,
    PredictionBatch,
    SubsetResponse,
    TestResultBatch,
)

Row = dict[str, Any]

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
        "flavor", "observe",
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


def utc(moment: datetime) -> datetime:
    """An aware UTC datetime; a naive one is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _files(files: tuple[ChangedFile, ...]) -> list[Row]:
    return [{"path": f.path, "added": f.added, "deleted": f.deleted} for f in files]


def build_row(build: Build) -> Row:
    return {
        "project": build.project,
        "build_id": build.build_id,
        "commit_sha": build.commit_sha,
        "base_sha": build.base_sha,
        "commits": list(build.commits),
        "changed_files": _files(build.changed_files),
        "started_at": utc(build.started_at),
    }


def commit_row(commit: Commit) -> Row:
    return {
        "project": commit.project,
        "sha": commit.sha,
        "parents": list(commit.parents),
        "author": commit.author,
        "committed_at": utc(commit.committed_at),
        "message": commit.message,
        "changed_files": _files(commit.changed_files),
    }


def test_result_rows(batch: TestResultBatch) -> list[Row]:
    """One row per result of the batch; the batch's ids and time repeat on each."""
    recorded_at = utc(batch.recorded_at)
    return [
        {
            "project": batch.project,
            "build_id": batch.build_id,
            "report": batch.report,
            "report_digest": batch.report_digest,
            "slice": batch.slice,
            "test_id": result.test_id,
            "suite": result.suite,
            "name": result.name,
            "variant": result.variant,
            "outcome": str(result.outcome),
            "duration_s": float(result.duration_s),
            "message": result.message,
            "recorded_at": recorded_at,
            "flavor": batch.flavor,
        }
        for result in batch.results
    ]


def subset_response_row(response: SubsetResponse) -> Row:
    return {
        "request_id": response.request_id,
        "part": response.part,
        "parts": response.parts,
        "project": response.project,
        "build_id": response.build_id,
        "subset_size": response.subset_size,
        "candidates": response.candidates if response.candidates >= 0 else len(response.ranked),
        "expected_share_of_time": response.expected_share_of_time,
        "expected_share_of_failures": response.expected_share_of_failures,
        "model": response.model,
        "answered_at": utc(response.answered_at),
        "ranked": [test.test_id for test in response.ranked],
        "flavor": response.flavor,
        "observe": response.observe,
    }


def prediction_rows(batch: PredictionBatch) -> list[Row]:
    """One row per predicted result; the batch's ids, model and time repeat on each."""
    predicted_at = utc(batch.predicted_at)
    return [
        {
            "project": batch.project,
            "build_id": batch.build_id,
            "report": batch.report,
            "report_digest": batch.report_digest,
            "slice": batch.slice,
            "test_id": prediction.test_id,
            "variant": prediction.variant,
            "probability": float(prediction.probability),
            "failed": bool(prediction.failed),
            "model": batch.model,
            "predicted_at": predicted_at,
        }
        for prediction in batch.predictions
    ]


def champion_decision_row(decision: ChampionDecision) -> Row:
    return {
        "project": decision.project,
        "metric": decision.metric,
        "previous": decision.previous,
        "champion": decision.champion,
        "records": {name: float(value) for name, value in decision.records.items()},
        "scored": decision.scored,
        "results_learned": decision.results_learned,
        "decided_at": utc(decision.decided_at),
    }
