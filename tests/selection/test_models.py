"""The online failure model: imbalance handling, calibration, and the learners."""

from __future__ import annotations

import doctest

import pytest

from pts.selection import models
from pts.selection.models import MODEL_KINDS, FailureModel, prior_probability


def _x(**signals: float) -> dict[str, float]:
    from pts.selection.features import FEATURE_NAMES

    return {name: signals.get(name, 0.0) for name in FEATURE_NAMES}


def test_doctests() -> None:
    assert doctest.testmod(models).failed == 0


def test_prior_mirrors_failure_recency() -> None:
    fresh, older, never = (prior_probability(_x(failure_recency=r)) for r in (1.0, 0.1, 0.0))
    assert fresh > older > never == models.BASE_CHANCE


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown model kind"):
        FailureModel("oracle")  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", MODEL_KINDS)
def test_learns_that_a_failing_test_keeps_failing(kind) -> None:
    model = FailureModel(kind, seed=1)
    failing, passing = _x(last_failed=1.0, failure_recency=1.0), _x(runs_log=0.3)
    for i in range(400):
        model.learn(passing, False)
        if i % 4 == 0:
            model.learn(failing, True)
    p_fail, p_pass = model.predict_proba(failing), model.predict_proba(passing)
    assert 0.0 <= p_pass < p_fail <= 1.0
    assert model.positives == 100 and model.negatives == 400


def test_class_weight_is_undone_at_prediction() -> None:
    """1 failure in 50: the weighted learner sees balanced classes, the output is near 2%."""
    model = FailureModel("logistic")
    x = _x(runs_log=0.5)
    for i in range(5000):
        model.learn(x, i % 50 == 0)
    assert model.positive_weight == pytest.approx(49, rel=0.05)
    learned = model.classifier.predict_proba_one(x)[True]
    assert learned > 0.2  # what the weighted learner believes
    assert model.predict_proba(x) < 0.06  # what is reported: near the true 2%
