"""A small history's exact answers, pinned: a change that makes the selector faster must not
change what it selects. The figures were produced by the selector before its batch rewrite
(commit 87acb90), where each candidate was scored one at a time through River's dicts. The
chances and weights were re-pinned once, on purpose, when a new test's `posterior` became the
project's learned chance of a new test instead of its base rate (issue 21): every order and
subset stayed the same, the chances moved in their sixth significant digit. And once more when
the model's prior lost its constant floor of 0.005 (a quiet test's prior is its posterior):
the orders and the weights stayed the same; the quiet tests' raw chances fell from the
calibration band [0.01, 0.03), where no result had failed, into [0.003, 0.01), where one of
about 60 had, so their served chances went from about 0.0007 to 0.018 and the 90% confidence
subset holds 9 tests instead of 1."""

from __future__ import annotations

import pytest

from pts.core.events import SubsetRequest, Target, TestResultBatch
from pts.evaluation.synthetic import generate
from pts.selection.selector import Selector

BY_CHANCE = [  # 90%c: the `learned` order
    ("tests/m01/TestCodec6.py", 0.193478, 1.798689),
    ("tests/m00/TestCodec11.py", 0.001398, 0.7781),
    ("tests/m00/TestParser10.py", 0.017796, 2.000695),
    ("tests/m02/TestClient9.py", 0.017749, 0.441525),
    ("tests/m02/TestStore7.py", 0.017748, 0.748982),
    ("tests/m02/TestClient8.py", 0.017743, 2.014133),
    ("tests/m00/TestCodec3.py", 0.017579, 0.218478),
    ("tests/m00/TestStream1.py", 0.017577, 0.579006),
    ("tests/m01/TestIndex4.py", 0.017576, 1.044268),
    ("tests/m01/TestClient5.py", 0.017575, 1.246361),
    ("tests/m00/TestParser2.py", 0.017575, 1.31759),
]
BY_TIME = [  # 30%: the `learned/s` order (cheap tests move up, the two slowest go last)
    "tests/m01/TestCodec6.py",
    "tests/m00/TestCodec11.py",
    "tests/m02/TestClient9.py",
    "tests/m02/TestStore7.py",
    "tests/m00/TestCodec3.py",
    "tests/m00/TestStream1.py",
    "tests/m01/TestIndex4.py",
    "tests/m01/TestClient5.py",
    "tests/m00/TestParser2.py",
    "tests/m00/TestParser10.py",
    "tests/m02/TestClient8.py",
]
PREDICTED = {  # learn_and_predict of the last build: every chance served, to the last digits
    "tests/m00/TestStream1.py": 0.017576901742332007,
    "tests/m00/TestParser2.py": 0.017574475388933503,
    "tests/m00/TestCodec3.py": 0.017578548637627717,
    "tests/m01/TestIndex4.py": 0.017575267303071504,
    "tests/m01/TestClient5.py": 0.017574672242391516,
    "tests/m01/TestCodec6.py": 0.19345999791647203,
    "tests/m02/TestStore7.py": 0.017746763201416674,
    "tests/m02/TestClient8.py": 0.017741939934339174,
    "tests/m02/TestClient9.py": 0.017748485929317253,
    "tests/m00/TestParser10.py": 0.017794460103797267,
    "tests/m00/TestCodec11.py": 0.0013938697468092614,
}
WEIGHTS = {  # the logistic learner's, after the whole history
    "never_run": -0.2414996525035707,
    "test_changed": 0.0,
    "subject_changed": 0.0,
    "name_similarity": 0.0,
    "directory_similarity": 0.289139352616297,
    "co_failure": 0.5755791127959414,
    "change_files_log": -0.2431211828890768,
    "change_lines_log": -0.41550701168979776,
    "new_files_share": -0.6037522166344075,
    "last_failed": 0.3581150566181388,
    "failure_recency": 0.29724398482483777,
    "failure_rate": 0.09677949703028124,
    "posterior": 0.13153296011562296,
    "failures_log": 0.2199870884262875,
    "flakiness": 0.3702362294853138,
    "runs_log": -0.2731395173302386,
    "age_log": -0.28649703835803236,
    "duration_log": -0.10892591956708599,
}
INTERCEPT = -0.28980517355495483


def test_a_small_history_ranks_predicts_and_learns_exactly_as_pinned() -> None:
    history = generate(seed=7, cycles=16, modules=3, tests_per_module=3)
    assert sum(bool(c.failing) for c in history.cycles) == 4
    selector = Selector()
    for cycle in history.cycles[:-1]:
        selector.observe_build(cycle.build)
        selector.learn(
            TestResultBatch(cycle.build.project, cycle.build.build_id, "r", tuple(cycle.results))
        )
    last = history.cycles[-1]
    build = last.build
    selector.observe_build(build)

    def rank(target: str):
        return selector.rank(
            SubsetRequest(
                "q", build.project, build.build_id, tuple(last.candidates), Target.parse(target), ""
            )
        )

    by_chance, by_time = rank("90%c"), rank("30%")
    assert (by_chance.model, by_chance.subset_size) == ("learned@142", 9)
    assert [
        (t.test_id, t.failure_probability, t.expected_duration_s) for t in by_chance.ranked
    ] == (BY_CHANCE)
    assert {t.reason for t in by_chance.ranked} == {"model"}
    assert (by_time.model, by_time.subset_size) == ("learned/s@142", 3)
    assert [t.test_id for t in by_time.ranked] == BY_TIME

    predicted = selector.learn_and_predict(
        TestResultBatch(build.project, build.build_id, "r", tuple(last.results))
    )
    assert predicted is not None
    assert {p.test_id: p.probability for p in predicted.predictions} == pytest.approx(
        PREDICTED, rel=1e-12
    )
    model = selector.projects[build.project].model.classifier
    assert model.weights == pytest.approx(WEIGHTS, abs=1e-12)
    assert model.intercept == pytest.approx(INTERCEPT, abs=1e-12)
