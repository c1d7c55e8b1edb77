"""The CLI's case events become the results `pts record tests --runner` reads from the same
report: the same ids, names, outcomes and durations, one result per test case."""

from __future__ import annotations

from pathlib import Path

import pytest

from pts.client.junit_reports import parse_report
from pts.client.runners import runner
from pts.core.events import Outcome
from pts.gateway.case_events import results_of
from pts.gateway.launchable_paths import BadTestPath
from tests.gateway.launchable_cli import cli_events

RUNNERS = Path(__file__).resolve().parent.parent / "fixtures" / "runners"


def comparable(results: list) -> list[tuple]:
    # Failure and error are both status 0 to the CLI: both fail the build, and pts learns
    # them alike (TestResult.failed).
    return [
        (r.test_id, r.name, Outcome.FAILED if r.failed else r.outcome, round(r.duration_s, 6))
        for r in results
    ]


@pytest.mark.parametrize(
    ("report", "profile", "pts_runner"),
    [
        ("pytest/pytest-xunit2.xml", "pytest", "pytest"),
        ("pytest/pytest-xdist.xml", "pytest", "pytest"),
        ("maven/surefire-reports/TEST-com.acme.CalcTest.xml", "maven", "maven"),
        ("maven/surefire-reports/TEST-com.acme.FlakyTest.xml", "maven", "maven"),
        ("jest/jest-junit-file.xml", "jest", "jest"),
    ],
)
def test_the_results_are_those_pts_reads_from_the_report(
    report: str, profile: str, pts_runner: str
) -> None:
    path = RUNNERS / report
    assert comparable(results_of(cli_events(path, profile), profile)) == comparable(
        parse_report(path, runner=runner(pts_runner))
    )


def test_reruns_stay_within_their_test_case() -> None:
    """Surefire's rerun and flaky attempts arrive as extra failed events of no duration."""
    path = RUNNERS / "maven" / "surefire-reports" / "TEST-com.acme.FlakyTest.xml"
    events = cli_events(path, "maven")
    assert len(events) == 5  # alwaysFails and its 2 reruns; passesOnRerun's flaky attempt and it
    outcomes = [(r.name, r.outcome) for r in results_of(events, "maven")]
    assert outcomes == [("alwaysFails", Outcome.FAILED), ("passesOnRerun", Outcome.PASSED)]


def test_go_results_are_named_by_the_package_the_cli_sends() -> None:
    """go-junit-report v1 and v2 give one history, as the CLI aligns v2 to v1's package name;
    it sends no import path, so with no package known the ids are `calc::TestDiv`, not pts's
    `example.com/...` (with the project's packages known: tests/gateway/test_go_packages.py)."""
    v1 = results_of(cli_events(RUNNERS / "go" / "go-junit-report-v1.xml", "go-test"), "go-test")
    v2 = results_of(cli_events(RUNNERS / "go" / "go-junit-report-v2.xml", "go-test"), "go-test")
    pts = parse_report(RUNNERS / "go" / "go-junit-report-v1.xml", runner=runner("go"))
    assert [r.test_id for r in v1] == [r.test_id for r in v2]
    assert [r.test_id.rpartition("/")[2] for r in pts] == [r.test_id for r in v1]
    assert [(r.name, r.variant, r.outcome) for r in v1] == [
        (r.name, r.variant, r.outcome) for r in pts
    ]


def test_repeats_are_told_apart_and_failures_keep_their_text() -> None:
    path = [{"type": "class", "name": "S"}, {"type": "testcase", "name": "t"}]
    events = [
        {"testPath": path, "status": 0, "duration": 1.5, "stderr": "boom\n  at line 3"},
        {"testPath": path, "status": 1, "duration": 0.5, "stdout": "fine"},
    ]
    first, second = results_of(events, "raw")
    assert (first.variant, second.variant) == ("#1", "#2")
    assert first.message == "boom\n  at line 3" and second.message == ""


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        ({"status": 3, "duration": 1}, "status"),
        ({"status": True, "duration": 1}, "status"),
        ({"status": 1, "duration": -1}, "duration"),
        ({"status": 1, "duration": "fast"}, "duration"),
        ({"status": 1, "duration": float("nan")}, "duration"),
        ({"status": 1, "duration": 1, "type": "session"}, "type"),
    ],
)
def test_an_event_that_is_no_test_case_is_refused(event: dict, reason: str) -> None:
    path = [{"type": "class", "name": "S"}, {"type": "testcase", "name": "t"}]
    with pytest.raises(BadTestPath, match=reason):
        results_of([{"testPath": path, **event}], "raw")
