"""The pytest plugin's safety-net and fallback options, without a broker: what they ask the
worker for, the usage errors pytest stops on before the session starts, and the summary of
what the nets added. Each session runs the real pytest on a small project in a subprocess."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from pts.client.pytest_plugin import added_by_nets, requested_nets
from tests.conftest import run_pytest

PLUGIN = ["--pts-project", "p", "--pts-build", "b", "--pts-target", "20%"]


class Options:
    """A pytest.Config with only the plugin's options, as given on the command line."""

    def __init__(self, **given: Any) -> None:
        self.given = {
            "pts_must_run": [],
            "pts_starve_after_builds": None,
            "pts_starve_after_days": None,
            "pts_full_run": False,
            "pts_full_run_every": None,
            "pts_full_run_on": [],
            "pts_branch": None,
            **given,
        }

    def getoption(self, name: str) -> Any:
        return self.given[name]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project of its own rootdir (pts's conftest and settings stay out) with one test."""
    (tmp_path / "pytest.ini").write_text("[pytest]\naddopts = -p no:cacheprovider\n")
    (tmp_path / "test_one.py").write_text("def test_one():\n    pass\n")
    return tmp_path


@pytest.fixture
def no_broker_env(unreachable_bootstrap: str, tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PTS_KAFKA_BOOTSTRAP": unreachable_bootstrap,
        "PTS_SUBSET_TIMEOUT_S": "1",
        "PTS_RECORD_TIMEOUT_S": "1",
        "PTS_DATA_DIR": str(tmp_path / "pts-data"),
    }


def test_nothing_asked_is_the_projects_setting() -> None:
    assert requested_nets(Options()) == {  # type: ignore[arg-type]
        "must_run": (),
        "starve_after_builds": -1,
        "starve_after_days": -1.0,
        "full_run_every": -1,
        "full_run": False,
    }


def test_the_nets_asked_are_the_requests_fields() -> None:
    nets = requested_nets(
        Options(  # type: ignore[arg-type]
            pts_must_run=["tests/smoke/*", "*::test_login*"],
            pts_starve_after_builds="20",
            pts_starve_after_days="0.5",
            pts_full_run_every="0",
        )
    )
    assert nets == {
        "must_run": ("tests/smoke/*", "*::test_login*"),
        "starve_after_builds": 20,
        "starve_after_days": 0.5,
        "full_run_every": 0,
        "full_run": False,
    }


@pytest.mark.parametrize(
    ("given", "full_run"),
    [
        ({"pts_full_run": True}, True),
        ({"pts_full_run_on": ["main", "release/*"], "pts_branch": "release/2.1"}, True),
        ({"pts_full_run_on": ["main"], "pts_branch": "feature/x"}, False),
    ],
)
def test_a_full_run_is_asked_or_chosen_by_branch(given: dict[str, Any], full_run: bool) -> None:
    assert requested_nets(Options(**given))["full_run"] is full_run  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("option", "value", "said"),
    [
        ("--pts-starve-after-builds", "often", "must be a whole number, 0 or more"),
        ("--pts-starve-after-builds", "2.5", "must be a whole number, 0 or more"),
        ("--pts-starve-after-builds", "-1", "must be a whole number, 0 or more"),
        ("--pts-starve-after-days", "nan", "must be a number, 0 or more"),
        ("--pts-starve-after-days", "inf", "must be a number, 0 or more"),
        ("--pts-full-run-every", "-3", "must be a whole number, 0 or more"),
        ("--pts-fallback", "skip", "must be one of run-all, fail, not 'skip'"),
    ],
)
def test_a_bad_value_is_a_usage_error(
    project: Path, no_broker_env: dict[str, str], option: str, value: str, said: str
) -> None:
    result = run_pytest(project, no_broker_env, *PLUGIN, f"{option}={value}")
    assert result.returncode == pytest.ExitCode.USAGE_ERROR, result.stdout + result.stderr
    assert f"pts: {option} {said}" in result.stderr
    assert "test_one" not in result.stdout  # the session never started


def test_the_options_are_idle_without_a_target(
    project: Path, no_broker_env: dict[str, str]
) -> None:
    # e.g. in addopts for CI, while a local run asks for no subset
    result = run_pytest(project, no_broker_env, "--pts-must-run", "x*", "--pts-fallback=fail")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "pts:" not in result.stdout


@pytest.mark.parametrize(
    ("fallback", "said"),
    [
        ("run-all", "pts: warning: no test was collected (or all were deselected): pts was not "
                    "asked for a subset\n"),
        ("fail", "pts: error: no test was collected (or all were deselected): pts was not "
                 "asked for a subset (--pts-fallback fail)\n"),
    ],
)  # fmt: skip
@pytest.mark.parametrize("xdist", [[], ["-n", "2"]], ids=["plain", "xdist"])
def test_no_test_collected_is_said_and_pts_is_not_asked(
    project: Path, no_broker_env: dict[str, str], fallback: str, said: str, xdist: list[str]
) -> None:
    result = run_pytest(
        project, no_broker_env, *PLUGIN, "--pts-fallback", fallback, "-k", "none", *xdist
    )
    assert result.returncode == pytest.ExitCode.NO_TESTS_COLLECTED, result.stdout
    assert said in result.stdout
    assert "could not choose a subset" not in result.stdout  # no broker was asked


def test_the_summary_counts_what_each_net_added() -> None:
    assert added_by_nets(["failed-last-run", "model", "must-run", "starved", "starved"]) == (
        "; 3 added by safety nets: must-run 1, starved 2"
    )
    assert added_by_nets(["full-run"] * 17) == "; 17 added by safety nets: full-run 17"
    assert added_by_nets(["cold-start", "new"]) == ""
