"""The selector: predict-then-learn, redelivery, cold start, ordering, and pickling."""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pytest

from pts.core import wire
from pts.core.events import Outcome, SubsetRequest, Target, TargetKind, TestResult, TestResultBatch
from pts.evaluation.synthetic import generate
from pts.selection.candidates import BY_NAME, Evidence, cost_floor
from pts.selection.features import COLUMN, COLUMNS, FEATURE_NAMES
from pts.selection.history import TestStats
from pts.selection.models import NON_NEGATIVE, FailureModel
from pts.selection.selector import COLD_START, ProjectSelector, Selector

from .helpers import PROJECT, batch, build, request

A, B, C = "org/x/ATest.java", "org/x/BTest.java", "org/x/CTest.java"


class _SpyModel(FailureModel):
    """Records every call in order, with what the features said about each test."""

    def __init__(self) -> None:
        super().__init__("logistic")
        self.calls: list[tuple[str, float]] = []

    def predict_many(self, rows: np.ndarray) -> list[float]:
        self.calls += [("predict", row[COLUMN["never_run"]]) for row in rows.tolist()]
        return super().predict_many(rows)

    def learn_rows(self, rows: Sequence[Sequence[float]], failed: Sequence[bool]) -> None:
        self.calls += [("learn", row[COLUMN["never_run"]]) for row in rows]
        super().learn_rows(rows, failed)


def test_a_batch_is_predicted_from_the_state_before_it_then_learned() -> None:
    selector = ProjectSelector(PROJECT)
    spy = selector.model = _SpyModel()
    selector.observe_build(build("b0"))
    assert selector.learn(batch("b0", {A: (True, 1.0), B: (False, 1.0)}))
    # The features of the first build say "never run": the history is updated only afterwards;
    # every result is predicted before any is learned, so the candidates can be validated.
    assert spy.calls == [("predict", 1.0), ("predict", 1.0), ("learn", 1.0), ("learn", 1.0)]
    assert selector.history.tests[A].failures == 1
    assert selector.results_learned == 2 and selector.model_name == "logistic@2"


def test_auc_is_scored_with_the_prediction_made_before_learning() -> None:
    selector = ProjectSelector(PROJECT)
    selector.learn(batch("b0", {A: (False, 1.0), B: (False, 1.0)}))
    before = selector.model.predict_proba  # the model about to see the next batch
    calibrated = selector.calibration.chance  # and its calibration then
    seen: list[float] = []

    class _Metric:
        def update_many(self, y_true: list[bool], y_pred: list[float]) -> None:
            seen.extend(y_pred)

    selector.auc = _Metric()  # type: ignore[assignment]
    from pts.selection.features import features

    change = selector._change(selector._build_state("b1"))
    expected = calibrated(before(features(A, change, selector.history)))
    selector.learn(batch("b1", {A: (True, 1.0)}))
    assert seen == [expected]  # the chance served, as recorded in pts.predictions


def test_learning_returns_what_was_predicted_before_each_result() -> None:
    selector = ProjectSelector(PROJECT)
    selector.learn(batch("b0", {A: (True, 1.0), B: (False, 1.0)}))
    predicted = selector.learn_and_predict(batch("b1", {A: (False, 1.0), B: (True, 1.0)}))
    assert predicted is not None and predicted.model == "logistic@2"  # the model before b1
    assert [(p.test_id, p.failed) for p in predicted.predictions] == [(A, False), (B, True)]
    # Predicted from the history before b1: A had failed, B had not; B's failure is not known.
    assert predicted.predictions[0].probability > predicted.predictions[1].probability
    assert selector.learn_and_predict(batch("b1", {A: (False, 1.0)})) is None  # redelivered


def test_a_redelivered_batch_is_not_learned_twice() -> None:
    selector = Selector()
    selector.observe_build(build("b0"))
    results = batch("b0", {A: (True, 1.0), B: (False, 1.0)})
    assert selector.learn(results) is True
    assert selector.learn(results) is False
    project = selector.projects[PROJECT]
    assert project.results_learned == 2 and project.history.tests[A].runs == 1
    # Another slice of the same report is new.
    other = TestResultBatch(PROJECT, "b0", "r", results.results[:1], slice=1, slices=2)
    assert selector.learn(other) is True


def test_unknown_project_gets_the_cold_start_in_the_order_given() -> None:
    response = Selector().rank(request("b0", C, A, B, A, project="elsewhere"))
    assert [t.test_id for t in response.ranked] == [C, A, B]
    assert response.model == COLD_START
    assert {t.failure_probability for t in response.ranked} == {1 / 3}


def _trained() -> Selector:
    selector = Selector()
    for i in range(6):
        selector.observe_build(build(f"b{i}"))
        selector.learn(batch(f"b{i}", {A: (i % 2 == 0, 1.0), B: (False, 1.0), C: (False, 1.0)}))
    return selector


def test_a_new_test_ranks_by_the_chance_of_a_new_test_not_first() -> None:
    # A failed 2 builds ago; B and C never failed. The new test has the project's chance of a
    # new test (here its base rate, as no test was new after the first build): below A's,
    # above a test that passed every run, in every candidate's order.
    selector = _trained()
    selector.observe_build(build("b6"))
    new = "org/x/NewTest.java"
    response = selector.rank(request("b6", A, B, C, new))
    assert [t.test_id for t in response.ranked][:2] == [A, new]
    assert response.ranked[1].reason == "new"
    project = selector.projects[PROJECT]
    evidence = project._evidence([A, B, C, new], project._change(project._build_state("b6")), "b6")
    for candidate in BY_NAME.values():
        order = candidate.order(evidence, cost_floor(evidence)).tolist()
        assert order[:2] == [0, 3], candidate.name  # A, then the new test


def test_a_project_with_only_a_build_ranks_its_new_tests_by_closeness_to_the_change() -> None:
    # The first build of a project: every test is new and equally likely to fail, so the
    # tests of the changed code go first, not the alphabetical ones.
    selector = Selector()
    selector.observe_build(build("b0", "src/main/java/org/y/Pay.java"))
    response = selector.rank(request("b0", A, B, "org/y/PayTest.java", "org/y/CartTest.java"))
    ranked = [t.test_id for t in response.ranked]
    assert ranked[:2] == ["org/y/PayTest.java", "org/y/CartTest.java"]  # subject, then package
    assert {t.reason for t in response.ranked} == {"new"}
    assert len({t.failure_probability for t in response.ranked}) == 1


def test_a_changed_test_goes_before_an_unchanged_one_with_the_same_record() -> None:
    # B and C never failed; C's own file changed. (A, which fails every other build, may
    # still go first: a change to a test is evidence, not a rule; `changes` is that rule.)
    selector = _trained()
    selector.observe_build(build("b6", "src/test/java/org/x/CTest.java"))
    response = selector.rank(request("b6", A, B, C))
    order = [t.test_id for t in response.ranked]
    assert order.index(C) < order.index(B)
    assert next(t for t in response.ranked if t.test_id == C).reason == "changed"


def test_time_targets_rank_by_density_confidence_targets_by_chance() -> None:
    names = ["slow", "quick", "cheap"]
    evidence = Evidence(
        names,
        np.zeros((3, len(COLUMNS))),  # run before, nothing changed
        [TestStats(first_seen=0, runs=1, duration_s=d) for d in (10.0, 1.0, 0.5)],
        lambda: 1.0,
        learned=np.array([0.4, 0.2, 0.01]),
    )
    floor = cost_floor(evidence)
    assert floor == 1.0  # the median duration

    def order(candidate: str) -> list[str]:
        return [names[i] for i in BY_NAME[candidate].order(evidence, floor)]

    assert order("learned/s") == ["quick", "slow", "cheap"]  # 0.2/s, 0.04/s, 0.01/s (>= 1 s)
    assert order("learned") == ["slow", "quick", "cheap"]


def test_rank_uses_the_target_kind() -> None:
    selector = _trained()
    project = selector.projects[PROJECT]
    project.history.tests[A].duration_s = 100.0  # the likely failure is very slow
    selector.observe_build(build("b6"))
    by_time = selector.rank(request("b6", A, B, C, target="100%"))
    by_chance = selector.rank(
        SubsetRequest("q", PROJECT, "b6", (A, B, C), Target(TargetKind.CONFIDENCE, 0.9), "r")
    )
    assert by_chance.ranked[0].test_id == A
    assert by_time.ranked[-1].test_id == A


def test_a_pickled_selector_ranks_the_same() -> None:
    history = generate(seed=3).head(40)
    selector = Selector()
    for cycle in history.cycles:
        selector.observe_build(cycle.build)
        selector.learn(
            TestResultBatch(cycle.build.project, cycle.build.build_id, "r", tuple(cycle.results))
        )
    restored = pickle.loads(pickle.dumps(selector))
    nxt = history.cycles[-1]
    ask = SubsetRequest(
        "q", nxt.build.project, nxt.build.build_id, tuple(nxt.candidates), Target.parse("20%"), "r"
    )
    first, again = selector.rank(ask), restored.rank(ask)
    assert first.ranked == again.ranked and first.subset_size == again.subset_size
    assert first.model == again.model


def test_a_batch_decoded_from_the_wire_is_learned_as_the_batch_itself() -> None:
    # The worker learns from the columns a decoded batch holds; in process, from TestResults.
    history = generate(seed=5).head(30)
    as_objects, as_decoded = Selector(), Selector()
    predicted: list[tuple[object, object]] = []
    for cycle in history.cycles:
        batch = TestResultBatch(
            cycle.build.project, cycle.build.build_id, "r", tuple(cycle.results)
        )
        _, record = wire.decode(wire.encode("TestResultBatch", batch.to_record()))
        for selector in (as_objects, as_decoded):
            selector.observe_build(cycle.build)
        predicted.append(
            (
                as_objects.learn_and_predict(batch),
                as_decoded.learn_and_predict(TestResultBatch.from_record(record)),
            )
        )
    assert all(replace(a, predicted_at=b.predicted_at) == b for a, b in predicted)
    mine, theirs = as_objects.projects[history.project], as_decoded.projects[history.project]
    assert mine.model.linear.weights == theirs.model.linear.weights
    assert mine.history.tests == theirs.history.tests
    assert mine.results_learned == theirs.results_learned > 0


def test_the_running_auc_is_the_exact_auc_of_the_predictions() -> None:
    # /health's figure and `pts query model-quality` (arrayAUC of pts.predictions) must agree.
    history = generate(seed=1).head(30)
    selector = Selector()
    predictions = []
    for cycle in history.cycles:
        selector.observe_build(cycle.build)
        batch = TestResultBatch(PROJECT, cycle.build.build_id, "r", tuple(cycle.results))
        predictions += selector.learn_and_predict(batch).predictions
    failed = [p.probability for p in predictions if p.failed]
    passed = [p.probability for p in predictions if not p.failed]
    assert len(predictions) <= 10_000 and failed and passed
    pairs = sum((f > p) + 0.5 * (f == p) for f in failed for p in passed)
    exact = pairs / (len(failed) * len(passed))
    # River's rolling AUC credits tied chances (tests with no history share one) slightly
    # differently from the half credit counted here and by ClickHouse's arrayAUC.
    assert selector.projects[PROJECT].roc_auc == pytest.approx(exact, abs=1e-3)


def test_zero_durations_do_not_make_a_time_budget_meaningless() -> None:
    # pytest writes time="0.000" for fast tests: with every duration 0 a 20% budget would be
    # met by nothing at all, or by everything. Each test costs at least 1 ms, so it is a
    # fifth of the tests.
    selector = Selector()
    tests = [f"t::test_{i}" for i in range(10)]
    selector.observe_build(build("b0"))
    results = tuple(TestResult(t, "t", t, Outcome.PASSED, 0.0) for t in tests)
    selector.learn(TestResultBatch(PROJECT, "b0", "r", results))
    answer = selector.rank(
        SubsetRequest("q", PROJECT, "b1", tuple(tests), Target.parse("20%"), "r")
    )
    assert answer.subset_size == 2
    assert answer.expected_share_of_time == pytest.approx(0.2)


def test_change_signals_never_learn_a_negative_weight() -> None:
    # Failures no change explains, while a test's subject keeps changing and it passes.
    model = FailureModel()
    for i in range(200):
        x = dict.fromkeys(FEATURE_NAMES, 0.0)
        x["subject_changed"] = x["name_similarity"] = float(i % 2)
        model.learn(x, failed=i % 2 == 0)
    weights = model.classifier.weights
    assert all(weights.get(name, 0.0) >= 0.0 for name in NON_NEGATIVE)
    assert weights["subject_changed"] == 0.0  # the data gave every reason to go negative
