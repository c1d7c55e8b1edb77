"""Shared helpers for the evaluation tests: fixture paths and a tiny history builder."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pts.core.events import Build, Outcome, TestResult
from pts.evaluation.history import Cycle, History

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def find_shared_datasets() -> Path | None:
    """The shared Apache Commons datasets: $PTS_SHARED_DATASETS, ../shared/datasets next to the
    repository, or /work/shared/datasets; None when this machine has none of them."""
    places = [
        os.environ.get("PTS_SHARED_DATASETS"),
        Path(__file__).resolve().parents[3] / "shared" / "datasets",
        "/work/shared/datasets",
    ]
    for place in places:
        if place and (Path(place) / "commons_codec.csv").exists():
            return Path(place)
    return None


SHARED_DATASETS = find_shared_datasets()


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
