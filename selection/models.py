"""Online failure models from River, wrapped to handle the heavy class imbalance of CI results.

Failures are rare (often under 1% of results), so positives are weighted by the running ratio
of negatives to positives (the "balanced" class weight), capped to keep single updates sane.
Until the model has seen a few failures its probabilities mean little, so they are blended with
a prior built from the plainest signals (recent failure, test changed, co-failure).
"""

from __future__ import annotations

from typing import Literal

from river import forest, linear_model, optim, tree
from river.base import Classifier

ModelKind = Literal["logistic", "forest", "tree"]
MODEL_KINDS: tuple[ModelKind, ...] = ("logistic", "forest", "tree")
MAX_POSITIVE_WEIGHT = 50.0
PRIOR_STRENGTH = 10  # failures seen after which the model and the prior weigh the same


def make_classifier(kind: ModelKind, seed: int = 0) -> Classifier:
    if kind == "logistic":
        return linear_model.LogisticRegression(optimizer=optim.SGD(0.05), l2=1e-4)
    if kind == "forest":
        return forest.ARFClassifier(n_models=10, seed=seed)
    if kind == "tree":
        return tree.HoeffdingAdaptiveTreeClassifier(seed=seed)
    raise ValueError(f"unknown model kind {kind!r}; choose one of {MODEL_KINDS}")


def prior_probability(x: dict[str, float]) -> float:
    """A hand-weighted failure chance from the plainest signals, used while data is scarce."""
    score = (
        0.02
        + 0.5 * x["failure_recency"]
        + 0.3 * x["co_failure"]
        + 0.3 * x["test_changed"]
        + 0.2 * x["subject_changed"]
        + 0.1 * x["never_run"]
        + 0.2 * x["failure_rate"]
    )
    return min(score, 1.0)


class FailureModel:
    """P(test fails | features), learned online; dict in, float out."""

    def __init__(self, kind: ModelKind = "logistic", seed: int = 0) -> None:
        self.kind = kind
        self.classifier = make_classifier(kind, seed)
        self.positives = 0
        self.negatives = 0

    def predict_proba(self, x: dict[str, float]) -> float:
        prior = prior_probability(x)
        if self.positives == 0:
            return prior
        learned = self.classifier.predict_proba_one(x).get(True, 0.0)
        trust = self.positives / (self.positives + PRIOR_STRENGTH)
        return trust * learned + (1 - trust) * prior

    def learn(self, x: dict[str, float], failed: bool) -> None:
        if failed:
            self.positives += 1
            weight = min(max(self.negatives, 1) / self.positives, MAX_POSITIVE_WEIGHT)
        else:
            self.negatives += 1
            weight = 1.0
        if self.kind == "logistic":
            self.classifier.learn_one(x, failed, w=weight)
        else:
            # Trees have no sample weight: repeat a failure instead (bounded oversampling).
            for _ in range(max(1, round(weight**0.5)) if failed else 1):
                self.classifier.learn_one(x, failed)

    @property
    def learned(self) -> int:
        return self.positives + self.negatives
