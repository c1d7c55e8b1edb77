"""Safety nets: what a subset holds whatever the ranking says.

A ranking, however good on average, will one day leave out the test that would have caught a
regression. The nets bound that risk in ways a CI engineer can state and check:

- **must-run**: candidates matching a glob (`fnmatch`: `*`, `?`, `[...]`) on their id always run;
- **starved**: a candidate with no result (of any kind: a skipped one counts, the runner saw
  it) in `starve_after_builds` of the project's builds, or in `starve_after_days`, runs; at most
  `2 * candidates / starve_after_builds` of them per build, the most overdue first, so that a
  long-skipped tail is spread over builds instead of landing at once;
- **full-run**: every `full_run_every` builds (or when the request asks), every candidate runs,
  so that the model also learns what it would not have chosen.

Tests a net adds go after the ranking's own subset, in ranking order, each with the net's name
as its reason; the subset stays a prefix of the ranked list. A request's settings win over its
project's (`PTS_PROJECTS_FILE`), which win over the defaults; must-run globs add up.

>>> from pts.core.events import RankedTest
>>> ranked = [RankedTest(t, 0.1, 1.0, "model") for t in ("a", "b", "smoke_c", "d")]
>>> nets = Nets(must_run=("smoke_*",), starve_after_builds=10)
>>> since = {"a": Staleness(0, 0.0), "b": Staleness(1, 0.1), "smoke_c": Staleness(0, 0.0),
...          "d": Staleness(12, 1.0)}
>>> ranked, size = apply(nets, ranked, 1, since.get)
>>> [(t.test_id, t.reason) for t in ranked[:size]]
[('a', 'model'), ('smoke_c', 'must-run'), ('d', 'starved')]
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, replace
from fnmatch import translate
from typing import Self

from pts.core.events import (
    FULL_RUN,
    MUST_RUN,
    SAFETY_NET_REASONS,
    STARVED,
    RankedTest,
    SubsetRequest,
)

DEFAULT_STARVE_AFTER_BUILDS = 50
DEFAULT_STARVE_AFTER_DAYS = 14.0
STARVED_DRAIN = 2.0  # a backlog of starved tests drains at twice the steady rate
REASONS = SAFETY_NET_REASONS


@dataclass(frozen=True, slots=True)
class Nets:
    """The nets of one subset; -1 in a number: not set at this level (`over` fills it in)."""

    must_run: tuple[str, ...] = ()
    starve_after_builds: int = -1
    starve_after_days: float = -1.0
    full_run_every: int = -1
    full_run: bool = False  # this request runs every candidate

    @classmethod
    def of_request(cls, request: SubsetRequest) -> Self:
        return cls(
            request.must_run,
            request.starve_after_builds,
            request.starve_after_days,
            request.full_run_every,
            request.full_run,
        )

    def on(self, request: SubsetRequest) -> SubsetRequest:
        """The request, asking for these nets."""
        return replace(
            request,
            must_run=self.must_run,
            starve_after_builds=self.starve_after_builds,
            starve_after_days=self.starve_after_days,
            full_run_every=self.full_run_every,
            full_run=self.full_run,
        )

    def over(self, fallback: Nets) -> Nets:
        """These nets, with what they leave unset taken from `fallback`; globs of both."""

        def either(mine: float, theirs: float) -> float:
            return mine if mine >= 0 else theirs

        return Nets(
            tuple(dict.fromkeys(self.must_run + fallback.must_run)),
            int(either(self.starve_after_builds, fallback.starve_after_builds)),
            either(self.starve_after_days, fallback.starve_after_days),
            int(either(self.full_run_every, fallback.full_run_every)),
            self.full_run or fallback.full_run,
        )


DEFAULTS = Nets(
    starve_after_builds=DEFAULT_STARVE_AFTER_BUILDS,
    starve_after_days=DEFAULT_STARVE_AFTER_DAYS,
    full_run_every=0,
)
OFF = Nets(starve_after_builds=0, starve_after_days=0.0, full_run_every=0)


@dataclass(frozen=True, slots=True)
class Staleness:
    """How long ago a known test last had a result: in the project's builds, and in days."""

    builds: int
    days: float


def matcher(globs: Sequence[str]) -> Callable[[str], bool]:
    """Whether a test id matches any of the globs (case-sensitive, `*` crosses `/` and `::`)."""
    if not globs:
        return lambda _: False
    pattern = re.compile("|".join(f"(?:{translate(glob)})" for glob in globs))
    return lambda test_id: pattern.match(test_id) is not None


def apply(
    nets: Nets,
    ranked: Sequence[RankedTest],
    size: int,
    staleness: Callable[[str], Staleness | None],
    plain_id: Callable[[str], str] = lambda test_id: test_id,
) -> tuple[list[RankedTest], int]:
    """The ranking with the tests the nets add moved up to follow the first `size`, and the
    new subset size. `staleness` tells a known test's (None: a new test, never starved);
    `plain_id`, the id the globs are matched on (without its flavor)."""
    chosen, rest = list(ranked[:size]), list(ranked[size:])
    if not rest:
        return list(ranked), size
    if nets.full_run:
        added = [replace(test, reason=FULL_RUN) for test in rest]
        return chosen + added, len(ranked)
    reasons: dict[int, str] = {}
    must_run = matcher(nets.must_run)
    for i, test in enumerate(rest):
        if must_run(plain_id(test.test_id)):
            reasons[i] = MUST_RUN
    for i in _starved(nets, rest, staleness, len(ranked), skip=reasons.keys()):
        reasons[i] = STARVED
    if not reasons:
        return list(ranked), size
    added = [replace(rest[i], reason=reasons[i]) for i in sorted(reasons)]
    kept = [test for i, test in enumerate(rest) if i not in reasons]
    return chosen + added + kept, size + len(added)


def _starved(
    nets: Nets,
    rest: Sequence[RankedTest],
    staleness: Callable[[str], Staleness | None],
    candidates: int,
    skip: Collection[int],
) -> list[int]:
    """The positions in `rest` of the starved tests this build runs: the most overdue first,
    at most `STARVED_DRAIN` times the steady rate (every test once per `starve_after_builds`)."""
    builds, days = nets.starve_after_builds, nets.starve_after_days
    if builds <= 0 and days <= 0:
        return []
    overdue: list[tuple[float, int]] = []
    for i, test in enumerate(rest):
        seen = staleness(test.test_id)
        if seen is None or i in skip:
            continue
        by_builds = seen.builds / builds if builds > 0 else 0.0
        by_days = seen.days / days if days > 0 else 0.0
        due = max(by_builds, by_days)
        if due >= 1.0:
            overdue.append((-due, i))
    period = builds if builds > 0 else DEFAULT_STARVE_AFTER_BUILDS
    most = max(1, math.ceil(STARVED_DRAIN * candidates / period))
    return [i for _, i in sorted(overdue)[:most]]
