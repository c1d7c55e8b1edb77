"""Which candidate serves a project: progressive validation on every failing build.

Before a build's results are learned, every candidate (`candidates.CANDIDATES`) orders them
from what was known before; each order is scored against the true failures, by APFD (the
question a confidence target asks: how early do failures come, test by test) and by APFDc
(the question a time budget asks: how early, second by second). A candidate's record on a
metric is the mean of its last scores (a running mean over the first `WINDOW` failing builds,
then an exponential one of that span), so it follows a project whose failures change nature.

The champion on a metric serves every request whose target implies that metric. A challenger
takes over when, on the same recent failing builds (at least `MIN_SCORED` of them), it beat the
champion on average by more than chance would: a lead that chance would give does not make the
answers flap, and no margin is tuned to a file. "More than chance" is one chance in 44 (a lead
of `LEAD_IN_ERRORS` standard errors of the paired differences, were they many and normal) that
any challenger leads by that much while none is better (`lead_needed`), with two corrections
that textbook statistics asks for and that matter most when a project has few failing builds:
- the standard error is estimated from the same n builds, so the lead is a Student t statistic
  with n - 1 degrees of freedom, not a normal one (on 7 builds 2.52 of them, not 2);
- the challenger is the best of all the candidates but the champion, so the chance is shared
  among them (Bonferroni): the best of 9 equal candidates leads by a normal 2 errors about 9
  times as often as one given candidate does.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from operator import itemgetter
from statistics import NormalDist

import numpy as np

from pts.core.events import TargetKind
from pts.selection.candidates import CANDIDATES, Evidence, cost_floor
from pts.selection.metrics import apfd_at, apfdc_at

WINDOW = 100  # failing builds a record mostly rests on
MIN_SCORED = 5  # failing builds a challenger must have been scored on to take over
LEAD_IN_ERRORS = 2.0  # two standard errors, on many builds: about 1 in 44 by chance alone
METRICS = ("apfd", "apfdc")
# Every new project starts on these, whatever other projects serve: the model, whose prior is
# the recent-failure rule until it has seen enough failures to learn from, in each metric's
# order.
DEFAULT_CHAMPIONS = {"apfd": "learned", "apfdc": "learned/s"}


def metric_of(target: TargetKind) -> str:
    """The metric a target asks to be good at: confidence, APFD; a time budget, APFDc."""
    return "apfd" if target is TargetKind.CONFIDENCE else "apfdc"


@dataclass(slots=True)
class Record:
    scored: int = 0
    mean: float = 0.0

    def add(self, value: float) -> None:
        self.scored += 1
        self.mean += (value - self.mean) / min(self.scored, WINDOW)


@dataclass(frozen=True, slots=True)
class Decision:
    """A change of champion on a metric, and the records that decided it."""

    metric: str
    previous: str
    champion: str
    records: dict[str, float]  # candidate -> record on the metric, at the decision
    scored: int  # failing builds the new champion's record rests on


@dataclass
class Champions:
    """Per metric: every candidate's record, and the candidate that serves."""

    serving: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_CHAMPIONS))
    records: dict[str, dict[str, Record]] = field(
        default_factory=lambda: {m: {c.name: Record() for c in CANDIDATES} for m in METRICS}
    )
    builds_scored: int = 0
    pinned: bool = False
    # The scores of the last WINDOW failing builds: metric -> candidate -> score, per build.
    recent: deque[dict[str, dict[str, float]]] = field(default_factory=lambda: deque(maxlen=WINDOW))

    def champion(self, target: TargetKind) -> str:
        return self.serving[metric_of(target)]

    def pin(self, scorer: str) -> None:
        """Serve `scorer` for good, in the order each metric implies (for evaluation)."""
        self.serving = {"apfd": scorer, "apfdc": f"{scorer}/s"}
        self.pinned = True

    def validate(self, evidence: Evidence, failing: set[str]) -> list[Decision]:
        """Score every candidate's order of `evidence` (what was known before the build)
        against the build's `failing` tests; the champions that change as a result."""
        if not failing or len(evidence) < 2:
            return []
        floor = cost_floor(evidence)
        rows = np.array([i for i, t in enumerate(evidence.test_ids) if t in failing])
        if len(rows) < len(failing):
            missing = sorted(failing - set(evidence.test_ids))[:3]
            raise ValueError(f"failing tests not in the order: {missing}")
        scores: dict[str, dict[str, float]] = {metric: {} for metric in METRICS}
        place = np.empty(len(evidence), dtype=np.int64)
        for candidate in CANDIDATES:
            order = candidate.order(evidence, floor)
            place[order] = np.arange(1, len(order) + 1)
            positions = np.sort(place[rows])
            scores["apfd"][candidate.name] = apfd_at(positions, len(order))
            scores["apfdc"][candidate.name] = apfdc_at(positions, evidence.duration_s[order])
        for metric, by_candidate in scores.items():
            for name, score in by_candidate.items():
                self.records[metric][name].add(score)
        self.recent.append(scores)
        self.builds_scored += 1
        return [d for d in (self._decide(m) for m in METRICS) if d is not None]

    def _decide(self, metric: str) -> Decision | None:
        if self.pinned or len(self.recent) < MIN_SCORED:
            return None
        current = self.serving[metric]
        builds = [scores[metric] for scores in self.recent]
        best = max(
            builds[0], key=lambda name: (sum(map(itemgetter(name), builds)), name == current)
        )
        if best == current or current not in builds[0]:
            return None
        if _paired_lead(builds, best, current) <= lead_needed(len(builds), len(builds[0]) - 1):
            return None
        self.serving[metric] = best
        return Decision(
            metric=metric,
            previous=current,
            champion=best,
            records={name: round(r.mean, 6) for name, r in self.records[metric].items()},
            scored=len(builds),
        )

    def summary(self) -> dict[str, dict]:
        """Per target family, the champion, its record and the challengers' (best first):
        what `/health` and `pts status` show."""
        summary = {}
        for family, metric in (("confidence", "apfd"), ("time", "apfdc")):
            champion = self.serving[metric]
            record = self.records[metric][champion]
            summary[family] = {
                "metric": metric,
                "champion": champion,
                "record": round(record.mean, 4) if record.scored else None,
                "scored": self.builds_scored,
                "challengers": {
                    name: round(r.mean, 4)
                    for name, r in self.standings(metric)
                    if name != champion and r.scored
                },
            }
        return summary

    def standings(self, metric: str) -> list[tuple[str, Record]]:
        """Every candidate's record on `metric`, best first."""
        return sorted(self.records[metric].items(), key=lambda item: -item[1].mean)


def lead_needed(builds: int, challengers: int) -> float:
    """The paired lead (`_paired_lead`) a challenger needs on `builds` failing builds, the best
    of `challengers`: the lead that the best of them would reach by chance alone as often as one
    candidate reaches `LEAD_IN_ERRORS` normal standard errors (1 in 44), with the errors
    estimated from the builds themselves (Student's t, `builds` - 1 degrees of freedom).

    >>> [round(lead_needed(n, 1), 2) for n in (5, 7, 26, 100)]  # one challenger
    [2.87, 2.52, 2.11, 2.03]
    >>> [round(lead_needed(n, 9), 2) for n in (5, 7, 26, 100)]  # the best of nine
    [5.56, 4.3, 3.07, 2.87]
    """
    chance = (1.0 - NormalDist().cdf(LEAD_IN_ERRORS)) / max(challengers, 1)
    return _t_quantile(1.0 - chance, builds - 1)


def _t_quantile(p: float, df: int) -> float:
    """Student's t quantile, by the Cornish-Fisher expansion around the normal one (Abramowitz
    and Stegun 26.7.5): within 0.01 of the exact value from 4 degrees of freedom on.

    >>> round(_t_quantile(0.975, 4), 3), round(_t_quantile(0.975, 30), 3)  # exact 2.776, 2.042
    (2.776, 2.042)
    """
    z = NormalDist().inv_cdf(p)
    z2 = z * z
    g1 = (z2 + 1) * z / 4
    g2 = ((5 * z2 + 16) * z2 + 3) * z / 96
    g3 = (((3 * z2 + 19) * z2 + 17) * z2 - 15) * z / 384
    g4 = ((((79 * z2 + 776) * z2 + 1482) * z2 - 1920) * z2 - 945) * z / 92160
    return z + g1 / df + g2 / df**2 + g3 / df**3 + g4 / df**4


def _paired_lead(builds: list[dict[str, float]], challenger: str, champion: str) -> float:
    """By how many standard errors the challenger's mean score beat the champion's, on the
    same builds; infinite when it was better on every build by the same amount.

    >>> round(_paired_lead([{"a": 0.9, "b": 0.5}, {"a": 0.8, "b": 0.6}], "a", "b"), 6)
    3.0
    """
    differences = [b[challenger] - b[champion] for b in builds]
    n = len(differences)
    mean = sum(differences) / n
    variance = sum((d - mean) ** 2 for d in differences) / (n - 1) if n > 1 else 0.0
    if variance <= 1e-18:
        return math.inf if mean > 0 else 0.0
    return mean / math.sqrt(variance / n)
