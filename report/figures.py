"""The figures the report draws, computed from the history's rows (pure logic on frames): each
function takes one project's rows and returns what its plot shows, or an empty frame when
there is nothing to show."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

NETS = ("must_run", "starved", "full_run")
NET_NAMES = {"ranked": "the ranking", "must_run": "must-run", "starved": "starved",
             "full_run": "full run"}  # fmt: skip


def _weekly(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Sum `columns` per week (an ISO date string each), weeks in order."""
    weeks = pd.to_datetime(frame["week"]).dt.strftime("%Y-%m-%d")
    summed = frame.assign(week=weeks).groupby("week", sort=True)[columns].sum()
    return summed.reset_index()


def savings_by_week(subset_builds: pd.DataFrame) -> pd.DataFrame:
    """Per week, over the builds that ran their subset (not the observed ones): answers, tests
    run and skipped, and the test time run and saved (seconds)."""
    if subset_builds.empty:
        return pd.DataFrame()
    ran = subset_builds[~subset_builds["observe"].astype(bool)]
    if ran.empty:
        return pd.DataFrame()
    weekly = _weekly(ran.assign(answers=1), ["answers", "tests_run", "tests_skipped",
                                             "time_run_s", "time_saved_s"])  # fmt: skip
    return weekly


def time_unit(seconds: float) -> tuple[float, str]:
    """The unit a span of about `seconds` reads best in: its length in seconds, and its name.

    >>> time_unit(90), time_unit(600), time_unit(4 * 3600)
    ((1.0, 'seconds'), (60.0, 'minutes'), (3600.0, 'hours'))
    """
    if seconds < 120:
        return 1.0, "seconds"
    if seconds < 2 * 3600:
        return 60.0, "minutes"
    return 3600.0, "hours"


def duration(seconds: float) -> str:
    """A span of time for a sentence.

    >>> duration(7.5), duration(600), duration(3 * 3600 + 60)
    ('7.5 seconds', '10.0 minutes', '3.0 hours')
    """
    divisor, unit = time_unit(seconds)
    return f"{seconds / divisor:,.1f} {unit}"


def catches_by_week(caught: pd.DataFrame) -> pd.DataFrame:
    """Per week, the failing tests of builds that asked for a subset: those the subset held
    (caught), those it left out that ran anyway (missed), and, for observed builds, those it
    would have missed."""
    if caught.empty:
        return pd.DataFrame()
    observed = caught["observe"].astype(bool)
    frame = caught.assign(
        failing_builds=1,
        missed=caught["missed"].where(~observed, 0),
        would_have_missed=caught["missed"].where(observed, 0),
    )
    return _weekly(frame, ["failing_builds", "failed", "caught", "missed", "would_have_missed"])


@dataclass(frozen=True)
class CatchSummary:
    failing_builds: int
    builds_caught: int
    failed: int
    caught: int
    observed_builds: int
    would_have_missed: list[str]


def catch_summary(caught: pd.DataFrame) -> CatchSummary:
    """The totals of `catches_by_week`, and the tests observed builds would have missed."""
    observed = caught[caught["observe"].astype(bool)] if not caught.empty else caught
    missed = sorted({t for tests in observed.get("missed_tests", []) for t in tests})
    return CatchSummary(
        failing_builds=len(caught),
        builds_caught=int((caught["caught"] > 0).sum()) if not caught.empty else 0,
        failed=int(caught["failed"].sum()) if not caught.empty else 0,
        caught=int(caught["caught"].sum()) if not caught.empty else 0,
        observed_builds=len(observed),
        would_have_missed=missed,
    )


def failure_rate_by_week(build_weeks: pd.DataFrame) -> pd.DataFrame:
    """Per week: the share of results that failed and the share of builds with a failure."""
    if build_weeks.empty:
        return pd.DataFrame()
    weekly = _weekly(build_weeks, ["builds", "failing_builds", "results", "failures"])
    weekly["failure_rate"] = (weekly["failures"] / weekly["results"].where(weekly["results"] > 0)
                              ).fillna(0).round(6)  # fmt: skip
    weekly["failing_build_share"] = (weekly["failing_builds"] / weekly["builds"]).round(6)
    return weekly


def net_shares(subset_builds: pd.DataFrame) -> pd.DataFrame:
    """Per week, the tests chosen for subsets by the ranking and by each safety net."""
    if subset_builds.empty:
        return pd.DataFrame()
    frame = subset_builds.assign(
        ranked=subset_builds["tests_run"] - subset_builds[list(NETS)].sum(axis=1)
    )
    return _weekly(frame, ["tests_run", "ranked", *NETS])


@dataclass(frozen=True)
class ChampionChange:
    decided_at: str
    targets: str
    previous: str
    champion: str
    reason: str


METRICS = {"apfd": ("APFD", "confidence"), "apfdc": ("APFDc", "time")}


def champion_changes(champions: pd.DataFrame) -> list[ChampionChange]:
    """Each change of a serving ranker, oldest first, with the record that decided it."""
    changes = []
    for row in champions.to_dict("records"):
        metric, targets = METRICS.get(row["metric"], (row["metric"], row["metric"]))
        reason = (
            f"{row['champion']} scored {metric} {_record(row['champion_record'])} against "
            f"{_record(row['previous_record'])} for {row['previous']} over the last "
            f"{row['scored']} failing builds (after {row['results_learned']:,} results learned)"
        )
        changes.append(ChampionChange(
            str(row["decided_at"])[:19].replace("T", " "), f"{targets} targets",
            row["previous"], row["champion"], reason,
        ))  # fmt: skip
    return changes


def _record(value: float | None) -> str:
    return "-" if value is None or pd.isna(value) else f"{value:.3f}"
