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
    fresh, older, never = (
        prior_probability(_x(failure_recency=r, posterior=0.001)) for r in (1.0, 0.1, 0.0)
    )
    assert fresh > older > never == 0.001  # no signal: the test's own posterior


def test_prior_keeps_the_ratios_of_quiet_tests() -> None:
    """No constant floor: a young quiet test (posterior near the base rate) keeps its lead over
    one that passed hundreds of times, as a per-second order needs."""
    young, old = (prior_probability(_x(posterior=p)) for p in (2e-4, 4e-5))
    assert young / old == pytest.approx(5.0)


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


def _stream(n: int, seed: int = 4) -> list[tuple[list[float], bool]]:
    import random

    from pts.selection.features import COLUMNS

    rng = random.Random(seed)
    return [
        (
            [rng.random() if rng.random() < 0.5 else 0.0 for _ in COLUMNS],
            rng.random() < 0.05,
        )
        for _ in range(n)
    ]


def test_the_logistic_learner_is_rivers_to_the_last_bit() -> None:
    # River's LogisticRegression with the same settings, fed the same rows as dicts (in
    # `COLUMNS` order, the order its dot product sums in), the same class weights, and the
    # same projection of the change signals to >= 0.
    from pts.selection.features import COLUMNS

    ours, river = FailureModel("logistic"), models.make_classifier("logistic")
    counts = FailureModel("logistic")  # only for the class weight River is given
    for row, failed in _stream(5000):
        ours.learn_rows([row], [failed])
        counts._count(failed)
        river.learn_one(
            dict(zip(COLUMNS, row, strict=True)),
            failed,
            w=counts.positive_weight if failed else 1.0,
        )
        for name in models.NON_NEGATIVE:
            if river._weights.get(name, 0.0) < 0.0:
                river._weights[name] = 0.0
    learned = ours.classifier
    assert learned.weights == river.weights  # exactly
    assert learned.intercept == river.intercept
    assert learned.optimizer.n_iterations == river.optimizer.n_iterations == 5000
    import numpy as np

    rows = np.array([row for row, _ in _stream(200, seed=5)])
    assert ours.linear.predict_many(rows) == [
        river.predict_proba_one(dict(zip(COLUMNS, row, strict=True)))[True] for row in rows.tolist()
    ]


def test_a_checkpoint_holding_rivers_learner_keeps_learning_the_same() -> None:
    import pickle

    stream = _stream(600)
    model = FailureModel("logistic")
    model.learn_rows([r for r, _ in stream[:300]], [f for _, f in stream[:300]])
    # What a checkpoint of before the learner was computed here held: River's learner.
    old = FailureModel.__new__(FailureModel)
    old.__dict__.update(kind="logistic", positives=model.positives, negatives=model.negatives)
    old.__dict__["classifier"] = model.classifier
    restored = pickle.loads(pickle.dumps(old))
    assert restored.linear is not None and restored.learner is None
    for m in (model, restored):
        m.learn_rows([r for r, _ in stream[300:]], [f for _, f in stream[300:]])
    assert restored.linear.weights == model.linear.weights
    assert restored.linear.intercept == model.linear.intercept
