"""A Go package the Launchable CLI names by its last path element gets the full import path
the project's own ids use, from the packages the worker published: the CLI's results and
candidates then have exactly the ids `pts record tests --runner go` and `pts subset --runner
go` give. An element known for no package, or for several, stays short."""

from __future__ import annotations

from pathlib import Path

import pytest

from pts.client.junit_reports import parse_report
from pts.client.runners import runner
from pts.core.events import Outcome
from pts.gateway import launchable_paths as paths
from pts.gateway.case_events import results_of
from pts.gateway.go_packages import full_packages, short_packages
from pts.gateway.topic_views import GoPackages
from pts.streams.go_packages import GoPackageBook
from tests.gateway.launchable_cli import cli_events, go_list_paths

GO = Path(__file__).resolve().parent.parent / "fixtures" / "runners" / "go"
GO_TEST = runner("go")


def known_from(test_ids: list[str], project: str = "shop") -> GoPackages:
    """What the gateway's view holds once the worker has seen `test_ids` in `project`."""
    known = GoPackages()
    for record in GoPackageBook().learn(project, test_ids):
        known.keep(record)
    return known


def resolved(paths: list, known: GoPackages, project: str = "shop") -> dict[str, str]:
    return full_packages(short_packages(paths), lambda element: known.of(project, element))


@pytest.mark.parametrize(
    "report",
    [
        GO / "go-junit-report-v1.xml",
        GO / "go-junit-report-v2.xml",
        GO / "broken" / "go-junit-report-v1.xml",  # packages that did not build, or exited
        GO / "broken" / "go-junit-report-v2.xml",
    ],
    ids=lambda path: f"{path.parent.name}/{path.name}",
)
def test_the_clis_results_get_the_ids_pts_records(report: Path) -> None:
    ours = parse_report(report, runner=GO_TEST)
    events = cli_events(report, "go-test")
    assert any("/" not in e["testPath"][0]["name"] for e in events)  # the CLI cut them
    known = known_from([r.test_id for r in ours])
    theirs = results_of(events, "go-test", resolved([e["testPath"] for e in events], known))
    # The CLI sends a JUnit error as a failure (its status has no error).
    failed = {Outcome.ERROR: Outcome.FAILED}
    assert [(r.test_id, r.suite, r.name, r.variant, r.outcome) for r in theirs] == [
        (r.test_id, r.suite, r.name, r.variant, failed.get(r.outcome, r.outcome)) for r in ours
    ]


def test_the_clis_candidates_get_the_ids_pts_lists() -> None:
    listing = (GO / "go-test-list.txt").read_text()
    ours = GO_TEST.candidates(listing).ids
    listed = go_list_paths(listing)
    assert [p[0]["name"] for p in listed] == ["calc"] * 4 + ["strs"] * 2
    go_packages = resolved(listed, known_from(ours))
    assert [paths.test_id(path, "go-test", go_packages) for path in listed] == ours


def test_an_element_of_two_packages_or_of_none_stays_short() -> None:
    known = known_from(["example.com/a/util::TestTrim", "example.com/b/util::TestPad",
                        "example.com/m/calc::TestAdd"])  # fmt: skip
    cut = [
        [{"type": "class", "name": "util"}, {"type": "testcase", "name": "TestTrim"}],
        [{"type": "class", "name": "strs"}, {"type": "testcase", "name": "TestUpper"}],
        [{"type": "class", "name": "calc"}, {"type": "testcase", "name": "TestAdd"}],
    ]
    go_packages = resolved(cut, known)
    assert go_packages == {"calc": "example.com/m/calc"}
    assert [paths.test_id(path, "go-test", go_packages) for path in cut] == [
        "util::TestTrim", "strs::TestUpper", "example.com/m/calc::TestAdd",
    ]  # fmt: skip


def test_another_projects_packages_are_not_used() -> None:
    known = known_from(["example.com/m/calc::TestAdd"], project="other")
    path = [{"type": "class", "name": "calc"}, {"type": "testcase", "name": "TestAdd"}]
    assert paths.test_id(path, "go-test", resolved([path], known)) == "calc::TestAdd"


def test_only_the_go_test_profile_is_resolved() -> None:
    """A class without `/` in another profile is a class, not a Go package."""
    path = [{"type": "class", "name": "calc"}, {"type": "testcase", "name": "TestAdd"}]
    assert paths.test_id(path, "raw", {"calc": "example.com/m/calc"}) == "calc::TestAdd"
