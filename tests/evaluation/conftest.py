"""Shared helpers for the evaluation tests: fixture paths and a tiny history builder."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from evaluation.history import Cycle, History
from pts.events import Build, Outcome, TestResult

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SHARED_DATASETS = Path(__file__).resolve().parents[3] / "shared" / "datasets"


def toy_history(cycles: list[dict[str, tuple[bool, float]]], project: str = "toy") -> History:
    """A history from {test id: (failed, duration)} per cycle."""
    start = datetime(2024, 1, 1, tzinfo=UTC)
    return History(
        name=project,
        project=project,
        cycles=[
            Cycle(
                Build(project, f"b{i}", f"sha{i}", started_at=start + timedelta(hours=i)),
                [
                    TestResult(t, "suite", t, Outcome.FAILED if f else Outcome.PASSED, d)
                    for t, (f, d) in tests.items()
                ],
            )
            for i, tests in enumerate(cycles)
        ],
    )
