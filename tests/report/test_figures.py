"""The report's figures (`report/figures.py`) on small frames: the counts are those put in."""

from __future__ import annotations

import pandas as pd
import pytest

from pts.report import figures


def subset_builds() -> pd.DataFrame:
    # two builds in the week of 2024-05-06 (one observed), one in the next week
    return pd.DataFrame(
        [
            ("b1", "2024-05-06", False, 10, 4, 6, 40.0, 60.0, 1, 0, 0),
            ("b2", "2024-05-06", True, 10, 3, 7, 30.0, 70.0, 0, 2, 0),
            ("b3", "2024-05-13", False, 8, 8, 0, 80.0, 0.0, 0, 0, 8),
        ],
        columns=["build_id", "week", "observe", "candidates", "tests_run", "tests_skipped",
                 "time_run_s", "time_saved_s", "must_run", "starved", "full_run"],
    ).assign(project="shop")  # fmt: skip


def test_savings_count_only_the_builds_that_ran_their_subset() -> None:
    weekly = figures.savings_by_week(subset_builds())
    assert weekly["week"].tolist() == ["2024-05-06", "2024-05-13"]
    assert weekly["answers"].tolist() == [1, 1]
    assert weekly["tests_run"].tolist() == [4, 8]
    assert weekly["tests_skipped"].tolist() == [6, 0]
    assert weekly["time_saved_s"].tolist() == [60.0, 0.0]


def test_savings_are_empty_when_every_subset_was_only_observed() -> None:
    observed = subset_builds().assign(observe=True)
    assert figures.savings_by_week(observed).empty
    assert figures.savings_by_week(pd.DataFrame()).empty


def test_net_shares_split_the_chosen_tests_between_the_ranking_and_each_net() -> None:
    weekly = figures.net_shares(subset_builds())
    first, second = weekly.to_dict("records")
    assert (first["tests_run"], first["ranked"], first["must_run"], first["starved"]) == (
        7, 4, 1, 2,
    )  # fmt: skip
    assert (second["ranked"], second["full_run"]) == (0, 8)


def caught() -> pd.DataFrame:
    return pd.DataFrame(
        [
            ("b1", "2024-05-06", False, 3, 2, 1, ["t::c"]),
            ("b2", "2024-05-06", True, 2, 0, 2, ["t::a", "t::b"]),
            ("b3", "2024-05-13", True, 1, 1, 0, []),
        ],
        columns=["build_id", "week", "observe", "failed", "caught", "missed", "missed_tests"],
    ).assign(project="shop")


def test_catches_tell_missed_failures_from_those_observed_builds_would_have_missed() -> None:
    weekly = figures.catches_by_week(caught())
    first, second = weekly.to_dict("records")
    assert (first["failing_builds"], first["failed"], first["caught"]) == (2, 5, 2)
    assert (first["missed"], first["would_have_missed"]) == (1, 2)
    assert (second["failing_builds"], second["caught"], second["would_have_missed"]) == (1, 1, 0)


def test_catch_summary_totals_and_names_what_observed_builds_would_have_missed() -> None:
    summary = figures.catch_summary(caught())
    assert (summary.failing_builds, summary.builds_caught) == (3, 2)
    assert (summary.failed, summary.caught, summary.observed_builds) == (6, 3, 2)
    assert summary.would_have_missed == ["t::a", "t::b"]


def test_failure_rate_by_week_is_failures_over_results_and_failing_builds_over_builds() -> None:
    build_weeks = pd.DataFrame(
        [("2024-05-06", 4, 1, 100, 5), ("2024-05-13", 2, 2, 0, 0)],
        columns=["week", "builds", "failing_builds", "results", "failures"],
    )
    weekly = figures.failure_rate_by_week(build_weeks)
    assert weekly["failure_rate"].tolist() == [0.05, 0.0]
    assert weekly["failing_build_share"].tolist() == [0.25, 1.0]


def test_champion_changes_say_which_record_beat_which() -> None:
    champions = pd.DataFrame([{
        "project": "shop", "metric": "apfdc", "decided_at": "2024-05-06T10:00:00.000",
        "previous": "learned/s", "champion": "failure-rate", "champion_record": 0.91,
        "previous_record": 0.8, "scored": 30, "results_learned": 1200,
    }])  # fmt: skip
    [change] = figures.champion_changes(champions)
    assert (change.decided_at, change.targets) == ("2024-05-06 10:00:00", "time targets")
    assert change.reason == (
        "failure-rate scored APFDc 0.910 against 0.800 for learned/s over the last 30 failing "
        "builds (after 1,200 results learned)"
    )


@pytest.mark.parametrize(("seconds", "text"), [(30, "30.0 seconds"), (5400, "90.0 minutes")])
def test_durations_read_in_their_unit(seconds: float, text: str) -> None:
    assert figures.duration(seconds) == text
