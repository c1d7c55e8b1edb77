"""Scoring the safety nets in the replay: the time they add to the served selector's subsets,
and the failures they catch that the ranking alone missed.

For each replayed build, and for each of `BUDGETS` (a share of the build's test time), the
harness asks the selector twice before the build's results are learned: with the nets off
(the answer APFD, APFDc and caught@b score) and with the nets on (`safety_nets.DEFAULTS`
unless told otherwise). The ranking's subset is the first answer's own subset, cut on the
selector's expected durations; the nets' additions are the tests of the second answer's subset
whose reason is a net's (`safety_nets.REASONS`). What they add is measured in the build's true
durations. A scored failing build is *missed* when the ranking's subset holds none of its
failing tests, and *caught by the nets* when, besides, a failing test is among the additions.

The replay learns every result of every build, as if the whole suite ran: a test goes without
a result only while the history holds none for it (it was not run at all). Where CI runs only
the subset, every test the subset leaves out goes without one, and the starvation net adds
more (at most `2 x candidates / starve_after_builds` tests a build).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

from pts.core.events import SubsetResponse
from pts.selection.safety_nets import REASONS, Nets

# The summary's budgets: a tenth of the test time, and a third (the published yardstick).
BUDGETS = (0.1, 0.33)


@dataclass(frozen=True, slots=True)
class Added:
    """What the nets added to one build's subset at one budget."""

    tests: int
    time: float  # share of the build's test time
    missed: bool  # a failing build whose ranking's subset holds none of its failing tests
    caught: bool  # missed, and one of its failing tests is among the additions


@dataclass
class NetsBuild:
    """One replayed build: what the nets added at each budget."""

    index: int
    build_id: str
    scored: bool  # a failing build scored (as for the ranking's figures)
    added: dict[float, Added]


@dataclass
class NetsReport:
    """The nets of one history: their settings, and per budget what they added and caught."""

    starve_after_builds: int
    starve_after_days: float
    full_run_every: int
    builds: int  # builds replayed
    scored: int  # failing builds scored
    added_time: dict[float, float]  # budget -> mean share of a build's test time added
    extended: dict[float, int]  # budget -> builds where a net added a test
    missed: dict[float, int]  # budget -> scored failing builds the ranking's subset missed
    caught: dict[float, int]  # budget -> of those, the ones a test the nets added caught
    extended_builds: list[NetsBuild] = field(default_factory=list)

    @property
    def described(self) -> str:
        return describe(
            Nets(
                starve_after_builds=self.starve_after_builds,
                starve_after_days=self.starve_after_days,
                full_run_every=self.full_run_every,
            )
        )


def describe(nets: Nets) -> str:
    """The nets in words.

    >>> describe(Nets(starve_after_builds=50, starve_after_days=14.0, full_run_every=0))
    'starved after 50 builds or 14 days, no full run'
    >>> describe(Nets(starve_after_builds=0, starve_after_days=0.0, full_run_every=20))
    'no starvation bound, a full run every 20 builds'
    """
    bounds = [f"{nets.starve_after_builds} builds"] if nets.starve_after_builds > 0 else []
    bounds += [f"{nets.starve_after_days:g} days"] if nets.starve_after_days > 0 else []
    starved = f"starved after {' or '.join(bounds)}" if bounds else "no starvation bound"
    every = nets.full_run_every
    full = f"a full run every {every} builds" if every > 0 else "no full run"
    return f"{starved}, {full}"


def subset(response: SubsetResponse) -> list[str]:
    """The ids of the tests an answer's subset runs, in order."""
    return [test.test_id for test in response.ranked[: response.subset_size]]


def additions(response: SubsetResponse) -> list[str]:
    """The ids of the tests a safety net added to an answer's subset, in order."""
    ranked = response.ranked[: response.subset_size]
    return [test.test_id for test in ranked if test.reason in REASONS]


def score_added(
    ranking: Collection[str],
    added: Sequence[str],
    failing: set[str],
    durations: Mapping[str, float],
) -> Added:
    """What the tests `added` to the `ranking`'s subset cost (as a share of the time of the
    tests in `durations`, or of their number when it is 0) and catch.

    >>> score_added({"a"}, ["c"], {"c"}, {"a": 1.0, "b": 2.0, "c": 1.0})
    Added(tests=1, time=0.25, missed=True, caught=True)
    >>> score_added({"a", "c"}, [], {"c"}, {"a": 1.0, "b": 2.0, "c": 1.0})
    Added(tests=0, time=0.0, missed=False, caught=False)
    """
    total = sum(max(d, 0.0) for d in durations.values())
    if total > 0:
        time = sum(max(durations.get(t, 0.0), 0.0) for t in added) / total
    else:
        time = len(added) / len(durations) if durations else 0.0
    missed = bool(failing) and not failing.intersection(ranking)
    return Added(len(added), round(time, 6), missed, missed and not failing.isdisjoint(added))


def summarize(nets: Nets, builds: Sequence[NetsBuild]) -> NetsReport:
    """The figures of every replayed build, by budget."""
    budgets = sorted({b for build in builds for b in build.added})

    def count(budget: float, what: str) -> int:
        return sum(getattr(build.added[budget], what) for build in builds if build.scored)

    return NetsReport(
        starve_after_builds=nets.starve_after_builds,
        starve_after_days=nets.starve_after_days,
        full_run_every=nets.full_run_every,
        builds=len(builds),
        scored=sum(build.scored for build in builds),
        added_time={b: sum(x.added[b].time for x in builds) / max(len(builds), 1) for b in budgets},
        extended={b: sum(x.added[b].tests > 0 for x in builds) for b in budgets},
        missed={b: count(b, "missed") for b in budgets},
        caught={b: count(b, "caught") for b in budgets},
        extended_builds=[x for x in builds if any(a.tests for a in x.added.values())],
    )
