"""Online failure models from River, wrapped to handle the heavy class imbalance of CI results.

Failures are rare (often under 1% of results). Learning: a failure counts `w` times, with `w`
the running ratio of passes to failures (the "balanced" class weight), capped to keep single
updates sane; without it an online learner would drift to "never fails". Prediction: the
weighting multiplies the odds the learner sees by about `w`, so its probability is mapped back
(odds / w, the prior correction of King and Zeng, 2001). Calibrated probabilities matter here:
a time-bound ranking divides them by durations, which needs their ratios to be right.

Until the model has seen a few failures its probabilities mean little, so they are blended with
a prior that mirrors the strongest plain signal, failure recency (1 / builds since the last
failure), plus the change signals (test changed, co-failure).
"""

from __future__ import annotations

from typing import Literal

from river import forest, linear_model, optim, tree
from river.base import Classifier

ModelKind = Literal["logistic", "forest", "tree"]
MODEL_KINDS: tuple[ModelKind, ...] = ("logistic", "forest", "tree")
MAX_POSITIVE_WEIGHT = 50.0
# Evidence that can only raise a test's chance: a change to the test or its subject, a name or
# directory like the changed code's, failing before with these files. A few failures that no
# change explains must not teach the model that such a change makes failure less likely, so
# their weights are kept at or above 0 (a projected gradient step).
NON_NEGATIVE = ("test_changed", "subject_changed", "name_similarity", "directory_similarity",
                "co_failure")  # fmt: skip
PRIOR_STRENGTH = 10  # failures seen after which the model and the prior weigh the same
BASE_CHANCE = 0.005  # prior chance of a test with no failure and no change signal


def make_classifier(kind: ModelKind, seed: int = 0) -> Classifier:
    if kind == "logistic":
        # Features are already in [0, 1]; a StandardScaler was measured to hurt (docs/quality.md).
        return linear_model.LogisticRegression(optimizer=optim.SGD(0.05), l2=1e-4)
    if kind == "forest":
        return forest.ARFClassifier(n_models=10, seed=seed)
    if kind == "tree":
        return tree.HoeffdingAdaptiveTreeClassifier(seed=seed)
    raise ValueError(f"unknown model kind {kind!r}; choose one of {MODEL_KINDS}")


def prior_probability(x: dict[str, float]) -> float:
    """A failure chance from the plainest signals, used while failures are too few to learn.

    It mirrors the recent-failure baseline (a test that failed k builds ago: about 1 / 2k), as
    failing tests tend to fail again; a file that changed with its failures before, or a change
    to the test itself, count the same way; and the test's own decayed failure share, shrunk to
    the project's (`TestStats.posterior`), so that two failures in two runs count.
    """
    signal = max(
        0.5 * x["failure_recency"], 0.5 * x["co_failure"], 0.2 * x["test_changed"], x["posterior"]
    )
    return BASE_CHANCE + (1 - BASE_CHANCE) * signal


class FailureModel:
    """P(test fails | features), learned online; dict in, float out."""

    def __init__(self, kind: ModelKind = "logistic", seed: int = 0) -> None:
        self.kind = kind
        self.classifier = make_classifier(kind, seed)
        self.positives = 0
        self.negatives = 0

    @property
    def positive_weight(self) -> float:
        """How many times a failure counts: passes per failure so far, within [1, max]."""
        return min(max(self.negatives, 1) / max(self.positives, 1), MAX_POSITIVE_WEIGHT)

    def _boost(self) -> float:
        """By how much the learner's odds of failure are inflated by the weighting."""
        return self.positive_weight if self.kind == "logistic" else self._repeats()

    def _repeats(self) -> int:
        """Trees take no sample weight: a failure is repeated instead (bounded oversampling)."""
        return max(1, round(self.positive_weight**0.5))

    def predict_proba(self, x: dict[str, float]) -> float:
        prior = prior_probability(x)
        if self.positives == 0:
            return prior
        learned = _unweighted(self.classifier.predict_proba_one(x).get(True, 0.0), self._boost())
        trust = self.positives / (self.positives + PRIOR_STRENGTH)
        return trust * learned + (1 - trust) * prior

    def learn(self, x: dict[str, float], failed: bool) -> None:
        if failed:
            self.positives += 1
        else:
            self.negatives += 1
        if self.kind == "logistic":
            self.classifier.learn_one(x, failed, w=self.positive_weight if failed else 1.0)
            weights = self.classifier._weights  # River keeps them here; .weights is a copy
            for name in NON_NEGATIVE:
                if weights.get(name, 0.0) < 0.0:
                    weights[name] = 0.0
        else:
            for _ in range(self._repeats() if failed else 1):
                self.classifier.learn_one(x, failed)


def _unweighted(p: float, boost: float) -> float:
    """The probability whose odds, multiplied by `boost`, give `p`: undoes a class weight.

    >>> round(_unweighted(0.5, 9.0), 3), _unweighted(0.2, 1.0), _unweighted(1.0, 50.0)
    (0.1, 0.2, 1.0)
    """
    if p >= 1.0:
        return 1.0
    return p / (p + boost * (1.0 - p))
