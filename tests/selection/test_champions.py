"""Champions and challengers: progressive validation decides which candidate serves."""

from __future__ import annotations

from pts.core.events import Build, Outcome, SubsetRequest, Target, TestResult, TestResultBatch
from pts.selection.candidates import CANDIDATES
from pts.selection.champions import DEFAULT_CHAMPIONS, MIN_SCORED, Champions, lead_needed
from pts.selection.selector import Selector

PROJECT = "shop"
TESTS = [f"org/x/T{i}Test.java" for i in range(10)]


def _build(selector: Selector, index: int, failing: set[str], durations: dict[str, float]) -> None:
    build = Build(PROJECT, f"b{index}", f"c{index}")
    selector.observe_build(build)
    results = tuple(
        TestResult(t, "s", t, Outcome.FAILED if t in failing else Outcome.PASSED, durations[t])
        for t in TESTS
    )
    selector.learn(TestResultBatch(PROJECT, f"b{index}", "r", results))


def test_a_project_starts_on_the_model_in_each_metrics_order() -> None:
    assert Champions().serving == DEFAULT_CHAMPIONS == {"apfd": "learned", "apfdc": "learned/s"}


def test_a_rule_that_wins_build_after_build_takes_over_and_the_decision_is_kept() -> None:
    # The slowest test fails every other build, another in between: the model, which starts
    # out serving, is beaten on the same builds by the plain failure rate, which takes over
    # (for time budgets after 31 failing builds, for confidence targets after 67: the best of
    # nine challengers needs about 2.9 standard errors).
    selector = Selector()
    durations = {t: 1.0 + i for i, t in enumerate(TESTS)}
    for i in range(80):
        _build(selector, i, {TESTS[-1]} if i % 2 else {TESTS[i % 3]}, durations)
    project = selector.projects[PROJECT]
    decisions = project.take_decisions()
    assert project.take_decisions() == []  # taken once
    assert {d.metric for d in decisions} == {"apfd", "apfdc"}
    assert project.champions.serving == {"apfd": "failure-rate", "apfdc": "failure-rate"}
    for decision in decisions:
        assert decision.previous != decision.champion
        assert decision.scored >= MIN_SCORED
        assert set(decision.records) == {c.name for c in CANDIDATES}
        assert decision.records[decision.champion] >= decision.records[decision.previous]
    answer = selector.rank(
        SubsetRequest("q", PROJECT, "b80", tuple(TESTS), Target.parse("20%"), "r")
    )
    assert answer.model == f"{project.champions.serving['apfdc']}@{project.results_learned}"


def test_no_decision_before_enough_failing_builds() -> None:
    selector = Selector()
    durations = dict.fromkeys(TESTS, 1.0)
    for i in range(MIN_SCORED - 1):
        _build(selector, i, {TESTS[i]}, durations)
    assert selector.projects[PROJECT].take_decisions() == []
    assert selector.projects[PROJECT].champions.builds_scored == MIN_SCORED - 1


def test_a_new_project_starts_on_the_default_champions_whatever_else_is_known() -> None:
    selector = Selector()
    known = selector.project("known").champions
    for record in known.records["apfdc"].values():
        record.scored, record.mean = 10, 0.5
    known.records["apfdc"]["recent-failure/s"].mean = 0.9
    known.serving["apfdc"] = "recent-failure/s"
    assert selector.project("new").champions.serving == DEFAULT_CHAMPIONS


def test_a_pinned_scorer_serves_whatever_the_records_say() -> None:
    selector = Selector(scorer="failure-rate")
    durations = {t: 1.0 + i for i, t in enumerate(TESTS)}
    for i in range(30):
        _build(selector, i, {TESTS[i % 10]}, durations)
    project = selector.projects[PROJECT]
    assert project.champions.serving == {"apfd": "failure-rate", "apfdc": "failure-rate/s"}
    assert project.take_decisions() == []


def test_few_builds_or_many_challengers_need_a_larger_lead() -> None:
    # Two standard errors on many builds against one challenger; more on few builds (Student's
    # t), more again when the challenger is the best of several (Bonferroni).
    assert 2.0 < lead_needed(1000, 1) < 2.01
    assert lead_needed(7, 1) > lead_needed(30, 1) > lead_needed(1000, 1)
    assert lead_needed(30, 9) > lead_needed(30, 1)


def test_a_lucky_lead_on_few_builds_does_not_take_over() -> None:
    # On 6 builds a challenger beats the champion on all but one: a lead of 3 standard errors,
    # which took over under the old rule (2), and which the best of nine challengers reaches
    # by chance far more often than 1 in 44 (it needs 4.75).
    champions = Champions()
    lead = [0.1, 0.1, 0.1, 0.1, 0.1, -0.05]
    for delta in lead:
        scores = {c.name: 0.5 for c in CANDIDATES}
        scores["bayes/s"] = 0.5 + delta
        champions.recent.append({"apfd": dict(scores), "apfdc": dict(scores)})
    assert champions._decide("apfdc") is None
    assert champions.serving == DEFAULT_CHAMPIONS
