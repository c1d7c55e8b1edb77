"""Online failure models from River, wrapped to handle the heavy class imbalance of CI results.

Failures are rare (often under 1% of results). Learning: a failure counts `w` times, with `w`
the running ratio of passes to failures (the "balanced" class weight), capped to keep single
updates sane; without it an online learner would drift to "never fails". Prediction: the
weighting multiplies the odds the learner sees by about `w`, so its probability is mapped back
(odds / w, the prior correction of King and Zeng, 2001). Calibrated probabilities matter here:
a time-bound ranking divides them by durations, which needs their ratios to be right.

Until the model has seen a few failures its probabilities mean little, so they are blended with
a prior that mirrors the strongest plain signal, failure recency (1 / builds since the last
failure), plus the change signals (test changed, co-failure), and is otherwise the test's own
posterior (its decayed failure share shrunk to the project's base rate). The prior adds no
constant floor: a floor larger than the posteriors of the quiet tests (one of 0.005 was) makes
them all look alike, and a per-second order lives on the ratios between their chances (a
young test is likelier to fail than one that passed a thousand times).

The logistic learner is River's `LogisticRegression` with plain SGD, computed here on feature
rows (`features.COLUMNS`) instead of dicts: the same operations in the same order, so its
weights are River's to the last bit (tests/selection/test_models.py), at about twice its
speed. The forest and the tree are River's own.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from operator import mul
from typing import Any, Literal

import numpy as np
from river import forest, linear_model, optim, tree
from river.base import Classifier

from pts.selection.features import COLUMN, COLUMNS

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
# The logistic learner's settings. Features are already in [0, 1]; a StandardScaler was
# measured to hurt (docs/quality.md). The intercept's rate and the gradient clip are River's
# defaults.
LEARNING_RATE = 0.05
L2 = 1e-4
INTERCEPT_RATE = 0.01
CLIP_GRADIENT = 1e12

_NON_NEGATIVE_COLUMNS = tuple(COLUMN[name] for name in NON_NEGATIVE)
_RECENCY, _CO_FAILURE, _TEST_CHANGED, _POSTERIOR = (
    COLUMN[name] for name in ("failure_recency", "co_failure", "test_changed", "posterior")
)


def make_classifier(kind: ModelKind, seed: int = 0) -> Classifier:
    if kind == "logistic":
        return linear_model.LogisticRegression(optimizer=optim.SGD(LEARNING_RATE), l2=L2)
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
    the project's (`TestStats.posterior`), so that two failures in two runs count. A test with
    none of these signals has its posterior: never 0, as it is shrunk to the base rate.
    """
    row = np.array([[x[name] for name in COLUMNS]])
    return float(prior_probabilities(row)[0])


def prior_probabilities(rows: np.ndarray) -> np.ndarray:
    """`prior_probability` of each feature row (`features.COLUMNS`)."""
    return np.maximum(
        np.maximum(0.5 * rows[:, _RECENCY], 0.5 * rows[:, _CO_FAILURE]),
        np.maximum(0.2 * rows[:, _TEST_CHANGED], rows[:, _POSTERIOR]),
    )


class LinearModel:
    """River's `LogisticRegression(optimizer=SGD(LEARNING_RATE), l2=L2)` on feature rows, with
    the weights of `NON_NEGATIVE` projected back to 0 after each step."""

    def __init__(self) -> None:
        self.weights = [0.0] * len(COLUMNS)
        self.intercept = 0.0
        self.steps = 0  # River's optimizer.n_iterations

    @classmethod
    def from_river(cls, learner: linear_model.LogisticRegression) -> LinearModel:
        """The same model, from River's (a checkpoint of before the learner was computed here)."""
        model = cls()
        weights = learner.weights
        model.weights = [float(weights.get(name, 0.0)) for name in COLUMNS]
        model.intercept = float(learner.intercept)
        model.steps = learner.optimizer.n_iterations
        return model

    def to_river(self) -> linear_model.LogisticRegression:
        """River's learner in the same state: for inspection, and River's own methods."""
        learner = make_classifier("logistic")
        for name, weight in zip(COLUMNS, self.weights, strict=True):
            learner._weights[name] = weight  # River keeps them here; .weights is a copy
        learner.intercept = self.intercept
        learner.optimizer.n_iterations = self.steps
        return learner

    def raw(self, rows: np.ndarray) -> np.ndarray:
        """The logit of each row, summed column by column as River sums a dict's items."""
        weights = self.weights
        total = rows[:, 0] * weights[0]
        for j in range(1, len(weights)):
            total += rows[:, j] * weights[j]
        return total + self.intercept

    def predict_many(self, rows: np.ndarray) -> list[float]:
        return [_sigmoid(z) for z in self.raw(rows).tolist()]

    def learn_rows(
        self, rows: Sequence[Sequence[float]], failed: Sequence[bool], weights: Sequence[float]
    ) -> None:
        """One SGD step per row, in order, each with its sample weight."""
        # The settings as local names, not globals: the comprehension below reads them 18
        # times a row, and a name of the enclosing function is read faster than a module's.
        exp, rate, l2 = math.exp, LEARNING_RATE, L2
        w, intercept = self.weights, self.intercept
        for row, fail, weight in zip(rows, failed, weights, strict=True):
            raw = sum(map(mul, w, row)) + intercept
            # River's Log loss gradient, times the sample weight, clipped.
            z = raw if fail else -raw
            if z > 18.0:
                gradient = exp(-z)
            elif z < -18.0:
                gradient = 1.0
            else:
                gradient = 1 / (exp(z) + 1.0)
            gradient = (-gradient if fail else gradient) * weight
            if gradient > CLIP_GRADIENT:
                gradient = CLIP_GRADIENT
            elif gradient < -CLIP_GRADIENT:
                gradient = -CLIP_GRADIENT
            intercept -= INTERCEPT_RATE * gradient
            w = [wj - rate * (x * gradient + wj * l2) for wj, x in zip(w, row, strict=True)]
            for j in _NON_NEGATIVE_COLUMNS:
                if w[j] < 0.0:
                    w[j] = 0.0
        self.weights, self.intercept = w, intercept
        self.steps += len(rows)


def _sigmoid(z: float) -> float:
    """River's `utils.math.sigmoid`."""
    if z < -30:
        return 0.0
    if z > 30:
        return 1.0
    return 1 / (1 + math.exp(-z))


class FailureModel:
    """P(test fails | features), learned online; feature rows (or a dict) in, floats out."""

    def __init__(self, kind: ModelKind = "logistic", seed: int = 0) -> None:
        self.kind = kind
        # The logistic learner is computed here; the others are River's.
        self.linear = LinearModel() if kind == "logistic" else None
        self.learner = None if kind == "logistic" else make_classifier(kind, seed)
        self.positives = 0
        self.negatives = 0

    def __setstate__(self, state: dict[str, Any]) -> None:
        # Checkpoints of before the logistic learner was computed here hold River's.
        if "classifier" in state:
            river = state.pop("classifier")
            logistic = state["kind"] == "logistic"
            state["linear"] = LinearModel.from_river(river) if logistic else None
            state["learner"] = None if logistic else river
        self.__dict__.update(state)

    @property
    def classifier(self) -> Classifier:
        """The River learner: for the logistic one, a copy in the same state."""
        return self.linear.to_river() if self.linear is not None else self.learner

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
        return self.predict_many(np.array([[x[name] for name in COLUMNS]]))[0]

    def predict_many(self, rows: np.ndarray) -> list[float]:
        """The chance of each feature row (`features.COLUMNS`), from the same model state."""
        prior = prior_probabilities(rows)
        if self.positives == 0:
            return prior.tolist()
        if self.linear is not None:
            learned = self.linear.predict_many(rows)
        else:
            names = COLUMNS
            learned = [
                self.learner.predict_proba_one(dict(zip(names, row, strict=True))).get(True, 0.0)
                for row in rows.tolist()
            ]
        p, boost = np.array(learned), self._boost()
        unweighted = np.where(p >= 1.0, 1.0, p / (p + boost * (1.0 - p)))  # `_unweighted`
        trust = self.positives / (self.positives + PRIOR_STRENGTH)
        return (trust * unweighted + (1 - trust) * prior).tolist()

    def learn(self, x: dict[str, float], failed: bool) -> None:
        self.learn_rows([[x[name] for name in COLUMNS]], [failed])

    def learn_rows(self, rows: Sequence[Sequence[float]], failed: Sequence[bool]) -> None:
        """Learn each feature row's result, in order."""
        if self.linear is None:
            for row, fail in zip(rows, failed, strict=True):
                self._count(fail)
                x = dict(zip(COLUMNS, row, strict=True))
                for _ in range(self._repeats() if fail else 1):
                    self.learner.learn_one(x, fail)
            return
        # `positive_weight` as each result is counted, without a call per result.
        positives, negatives, weights = self.positives, self.negatives, []
        for fail in failed:
            if fail:
                positives += 1
                weights.append(min(max(negatives, 1) / positives, MAX_POSITIVE_WEIGHT))
            else:
                negatives += 1
                weights.append(1.0)
        self.positives, self.negatives = positives, negatives
        self.linear.learn_rows(rows, failed, weights)

    def _count(self, failed: bool) -> None:
        if failed:
            self.positives += 1
        else:
            self.negatives += 1


def _unweighted(p: float, boost: float) -> float:
    """The probability whose odds, multiplied by `boost`, give `p`: undoes a class weight.

    >>> round(_unweighted(0.5, 9.0), 3), _unweighted(0.2, 1.0), _unweighted(1.0, 50.0)
    (0.1, 0.2, 1.0)
    """
    if p >= 1.0:
        return 1.0
    return p / (p + boost * (1.0 - p))
