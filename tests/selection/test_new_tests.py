"""What "new" means, and the last failure first (issue 21).

A test is new only while the project has never seen it, as a candidate or in a result; a new
test is ranked by the project's learned chance of a new test, not always first; and a test that
failed in its last run ranks above every test with no evidence, in every candidate's order.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from pts.core.events import Outcome, TestResult, TestResultBatch
from pts.selection.candidates import CANDIDATES, Candidate, cost_floor
from pts.selection.features import COLUMN
from pts.selection.history import ProjectHistory, TestStats, is_new
from pts.selection.selector import COLD_START, ProjectSelector, Selector

from .helpers import PROJECT, batch, build, request

OLD_STATE = Path(__file__).parent / "data" / "project_selector_v1.pickle"


def _results(build_id: str, outcomes: dict[str, Outcome], duration_s: float = 1.0):
    return TestResultBatch(
        PROJECT,
        build_id,
        "r",
        tuple(TestResult(t, "suite", t, o, duration_s) for t, o in outcomes.items()),
    )


def _row(selector: ProjectSelector, test_id: str, build_id: str) -> np.ndarray:
    change = selector._change(selector._build_state(build_id))
    return selector._evidence([test_id], change, build_id).x[0]


# -- what "new" means -----------------------------------------------------------------------


def test_a_test_always_skipped_stops_being_new_after_its_first_report() -> None:
    selector = Selector()
    disabled = "org/x/DisabledTest.java"
    others = [f"org/x/T{i}Test.java" for i in range(9)]
    for i in range(6):
        selector.observe_build(build(f"b{i}"))
        outcomes = {t: Outcome.PASSED for t in others} | {disabled: Outcome.SKIPPED}
        selector.learn(_results(f"b{i}", outcomes))
    project = selector.projects[PROJECT]
    stats = project.history.tests[disabled]
    assert stats.skipped == 6 and stats.runs == 0 and not is_new(stats, "b6")
    selector.observe_build(build("b6"))
    for target in ("20%", "90%c"):
        answer = selector.rank(request("b6", disabled, *others, target=target))
        # Below the quietest test that ran: it has never run, and never will while disabled.
        assert answer.ranked[-1].test_id == disabled
        assert answer.ranked[-1].reason == "never-ran"
    half = selector.rank(request("b6", disabled, *others, target="50%"))
    assert disabled not in half.subset


def test_skipped_results_are_not_passes() -> None:
    selector = ProjectSelector(PROJECT)
    a, b = "org/x/ATest.java", "org/x/BTest.java"
    selector.learn(_results("b0", {a: Outcome.FAILED, b: Outcome.PASSED}))
    history, model = selector.history, selector.model
    before = (history.runs, history.failures, model.positives, model.negatives)
    predicted = selector.learn_and_predict(_results("b1", {a: Outcome.SKIPPED, b: Outcome.SKIPPED}))
    assert predicted is not None and predicted.test_ids == ()
    assert (history.runs, history.failures, model.positives, model.negatives) == before
    assert selector.results_learned == 2
    stats = history.tests[a]
    assert (stats.runs, stats.failures, stats.skipped, stats.last_failed) == (1, 1, 1, True)
    assert stats.failure_rate == pytest.approx(0.1)  # one failure in one run, as before b1


def test_candidates_not_chosen_are_not_new_in_the_next_request() -> None:
    selector = ProjectSelector(PROJECT)
    chosen, left_out = "org/x/ChosenTest.java", "org/x/LeftOutTest.java"
    selector.observe_build(build("b1"))
    first = selector.rank(request("b1", chosen, left_out))
    assert {t.reason for t in first.ranked} == {"new"}
    # Asked again for the same build (another target, a retry): still new, the same answer.
    again = selector.rank(request("b1", chosen, left_out))
    assert again.ranked == first.ranked
    assert _row(selector, left_out, "b1")[COLUMN["never_run"]] == 1.0
    selector.learn(batch("b1", {chosen: (False, 1.0)}))
    selector.observe_build(build("b2"))
    assert _row(selector, left_out, "b2")[COLUMN["never_run"]] == 0.0
    second = selector.rank(request("b2", chosen, left_out, "org/x/BrandNewTest.java"))
    reasons = {t.test_id: t.reason for t in second.ranked}
    assert reasons == {
        chosen: "model",
        left_out: "never-ran",
        "org/x/BrandNewTest.java": "new",
    }


def test_a_new_project_remembers_the_candidates_of_its_cold_start() -> None:
    selector = Selector()
    tests = [f"t::test_{i}" for i in range(5)]
    answer = selector.rank(request("b1", *tests))
    assert answer.model == COLD_START and [t.test_id for t in answer.ranked] == tests
    selector.learn(batch("b1", {tests[0]: (False, 1.0)}))
    later = selector.rank(request("b2", *tests))
    assert "new" not in {t.reason for t in later.ranked}


def test_a_first_run_of_a_test_named_before_is_not_a_new_test() -> None:
    selector = ProjectSelector(PROJECT)
    a, b = "org/x/ATest.java", "org/x/BTest.java"
    selector.learn(batch("b0", {a: (False, 1.0)}))
    selector.rank(request("b1", a, b))  # b is named in b1, runs (and fails) only in b2
    selector.learn(batch("b1", {a: (False, 1.0)}))
    selector.learn(batch("b2", {a: (False, 1.0), b: (True, 1.0)}))
    assert selector.history.first_runs == [0, 0]


# -- the last failure first ----------------------------------------------------------------


def _failed_then_seventeen_never_ran() -> tuple[Selector, str, list[str]]:
    """The pytest plugin's case: build 1 asks for 21 tests and runs 4 of them (one fails)."""
    tests = [f"tests/test_calc.py::test_{i:02d}" for i in range(21)]
    failing, ran = tests[2], tests[:4]
    selector = Selector()
    answer = selector.rank(request("b1", *tests, target="20%"))
    assert list(answer.subset) == ran  # the cold start: the order given
    selector.learn(batch("b1", {t: (t == failing, 1.0) for t in ran}))
    return selector, failing, tests


@pytest.mark.parametrize("candidate", CANDIDATES, ids=lambda c: c.name)
def test_a_test_that_failed_ranks_above_candidates_that_never_ran(candidate: Candidate) -> None:
    selector, failing, tests = _failed_then_seventeen_never_ran()
    project = selector.projects[PROJECT]
    change = project._change(project._build_state("b2"))
    evidence = project._evidence(tests, change, "b2")
    order = [tests[i] for i in candidate.order(evidence, cost_floor(evidence))]
    never_ran = set(tests[4:])
    assert order.index(failing) < min(order.index(t) for t in never_ran)


@pytest.mark.parametrize("target", ["20%", "10%", "90%c", "50%c"])
def test_the_test_that_just_failed_is_in_the_next_subset(target: str) -> None:
    selector, failing, tests = _failed_then_seventeen_never_ran()
    answer = selector.rank(request("b2", *tests, target=target))
    assert answer.ranked[0].test_id == failing
    assert failing in answer.subset


@pytest.mark.parametrize("candidate", CANDIDATES, ids=lambda c: c.name)
def test_the_last_failure_outranks_new_tests_unrelated_to_the_change(candidate: Candidate) -> None:
    # Here new tests often fail (half of their first runs), so a new test may well be more
    # likely to fail than a test that failed once, long ago; a test that failed in its last
    # run still goes before every test with no evidence, new ones included.
    selector = ProjectSelector(PROJECT)
    old = [f"org/x/Old{i}Test.java" for i in range(6)]
    selector.learn(batch("b0", {t: (False, 1.0) for t in old}))
    selector.learn(batch("b1", {t: (t == old[0], 1.0) for t in old}))  # old[0]'s last run
    for i in range(2, 22):
        results = {t: (False, 1.0) for t in old[1:]} | {f"org/y/New{i}Test.java": (i % 2 == 1, 1.0)}
        selector.learn(batch(f"b{i}", results))
    assert selector.history.new_test_chance(changed=False) > 0.3
    assert selector.history.posterior(old[0]) < 0.3
    candidates = [*old, "org/z/FreshTest.java", "org/z/OtherFreshTest.java"]
    change = selector._change(selector._build_state("b22"))
    evidence = selector._evidence(candidates, change, "b22")
    assert evidence.new.tolist() == [False] * 6 + [True, True]
    order = [candidates[i] for i in candidate.order(evidence, cost_floor(evidence))]
    assert order[0] == old[0]


# -- the chance of a new test is learned ---------------------------------------------------


def _project_whose_new_tests(fail: bool) -> ProjectSelector:
    selector = ProjectSelector(PROJECT)
    old = [f"org/x/Old{i}Test.java" for i in range(5)]
    selector.learn(batch("b0", {t: (False, 1.0) for t in old}))
    for i in range(1, 31):
        results = {t: (i == 3 and t == old[1], 1.0) for t in old}  # old[1] fails once in b3
        results[f"org/y/Added{i}Test.java"] = (fail and i % 3 != 0, 1.0)
        selector.learn(batch(f"b{i}", results))
    return selector


def test_the_chance_of_a_new_test_moves_with_the_projects_first_runs() -> None:
    failing, passing = _project_whose_new_tests(True), _project_whose_new_tests(False)
    assert failing.history.first_runs == passing.history.first_runs == [30, 0]
    assert failing.history.first_failures == [20, 0]
    assert passing.history.first_failures == [0, 0]
    high, low = (p.history.new_test_chance(changed=False) for p in (failing, passing))
    assert high > 0.5 > 0.05 > low
    assert low < passing.history.base_rate  # new tests here pass more often than the rest
    candidates = ["org/x/Old1Test.java", "org/x/Old0Test.java", "org/z/FreshTest.java"]
    for selector, fresh_before_old1 in ((failing, True), (passing, False)):
        selector.observe_build(build("b31"))
        for target in ("100%", "100%c"):
            answer = selector.rank(request("b31", *candidates, target=target))
            order = [t.test_id for t in answer.ranked]
            assert (order.index("org/z/FreshTest.java") < order.index(candidates[0])) is (
                fresh_before_old1
            )


def test_a_new_test_changed_by_its_build_learns_its_own_chance() -> None:
    history = ProjectHistory()
    history.learn_first_runs(changed=[True] * 20 + [False] * 20, failed=[True] * 10 + [False] * 30)
    changed, unchanged = history.new_test_chance(True), history.new_test_chance(False)
    assert changed > 0.3 > 0.1 > unchanged


def test_the_new_test_chance_is_the_posterior_of_a_new_test() -> None:
    selector = _project_whose_new_tests(True)
    row = _row(selector, "org/z/FreshTest.java", "b31")
    assert row[COLUMN["never_run"]] == 1.0
    assert row[COLUMN["posterior"]] == pytest.approx(selector.history.new_test_chance(False))


def test_the_first_build_of_a_project_teaches_nothing_about_new_tests() -> None:
    selector = ProjectSelector(PROJECT)
    selector.learn(batch("b0", {"org/x/ATest.java": (True, 1.0), "org/x/BTest.java": (False, 1.0)}))
    assert selector.history.first_runs == [0, 0]
    selector.learn(batch("b1", {"org/x/ATest.java": (False, 1.0), "org/x/CTest.java": (True, 1.0)}))
    assert selector.history.first_runs == [1, 0] and selector.history.first_failures == [1, 0]


# -- snapshots -------------------------------------------------------------------------------


def test_a_state_pickled_before_new_tests_were_defined_loads() -> None:
    # Pickled by the selector of before this change (a project of 4 builds of 3 tests).
    restored: ProjectSelector = pickle.loads(OLD_STATE.read_bytes())
    history = restored.history
    assert history.first_runs == [0, 0] and history.first_failures == [0, 0]
    stats = history.tests["org/x/ATest.java"]
    assert (stats.runs, stats.failures, stats.skipped, stats.named_in) == (4, 2, 0, "")
    assert not is_new(stats, "b4")
    restored.observe_build(build("b4"))
    answer = restored.rank(request("b4", "org/x/ATest.java", "org/x/BTest.java", "org/x/NewTest"))
    assert {t.test_id: t.reason for t in answer.ranked}["org/x/NewTest"] == "new"
    assert restored.learn(
        batch("b4", {"org/x/ATest.java": (True, 1.0), "org/x/NewTest": (True, 1)})
    )
    assert history.first_runs == [1, 0] and history.first_failures == [1, 0]
    # And the state pickles again, with its new fields.
    again: ProjectSelector = pickle.loads(pickle.dumps(restored))
    assert again.history.tests == history.tests and again.history.first_runs == [1, 0]


def test_a_test_stats_state_without_the_newest_fields_takes_their_defaults() -> None:
    stats = TestStats.__new__(TestStats)
    stats.__setstate__([3, 5, 1, 0, 0.1, False, 4, 9, 0.5])  # from before the posterior
    assert (stats.recent_failures, stats.recent_runs, stats.skipped, stats.named_in) == (
        0.0,
        0.0,
        0,
        "",
    )
