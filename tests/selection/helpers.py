"""Hand-made builds and result batches for the selection tests."""

from __future__ import annotations

from pts.core.events import (
    Build,
    ChangedFile,
    Outcome,
    SubsetRequest,
    Target,
    TestResult,
    TestResultBatch,
)

PROJECT = "demo"


def build(build_id: str, *paths: str, project: str = PROJECT) -> Build:
    files = tuple(ChangedFile(p, 3, 1) for p in paths)
    return Build(project, build_id, f"sha-{build_id}", changed_files=files)


def batch(
    build_id: str, results: dict[str, tuple[bool, float]], project: str = PROJECT, report="r"
) -> TestResultBatch:
    """Results from {test id: (failed, duration)}."""
    return TestResultBatch(
        project,
        build_id,
        report,
        tuple(
            TestResult(t, "suite", t, Outcome.FAILED if f else Outcome.PASSED, d)
            for t, (f, d) in results.items()
        ),
    )


def request(
    build_id: str, *candidates: str, target: str = "100%", project: str = PROJECT
) -> SubsetRequest:
    return SubsetRequest(
        f"req-{build_id}", project, build_id, tuple(candidates), Target.parse(target), "replies"
    )
