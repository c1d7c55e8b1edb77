"""Features of (test, build) on hand-made builds."""

from __future__ import annotations

import pytest

from pts.core.events import Outcome, TestResult
from pts.selection.features import FEATURE_NAMES, features, typical_log, view_change
from pts.selection.history import ProjectHistory
from pts.selection.paths import is_test_file

from .helpers import batch, build

FOO_TEST = "org/x/FooTest.java"
BAR_TEST = "org/x/BarTest.java"
FOO = "src/main/java/org/x/Foo.java"


def _learn(history: ProjectHistory, build_id: str, paths: tuple[str, ...], results) -> None:
    b = build(build_id, *paths)
    index = history.start_build(b)
    history.update(index, b, batch(build_id, results).results)


def test_every_feature_is_present_and_small() -> None:
    history = ProjectHistory()
    _learn(history, "b0", (FOO,), {FOO_TEST: (True, 1.0), BAR_TEST: (False, 2.0)})
    change = view_change(build("b1", FOO), history)
    for test_id in (FOO_TEST, BAR_TEST, "org/x/NewTest.java"):
        x = features(test_id, change, history)
        assert set(x) == set(FEATURE_NAMES)
        assert all(0.0 <= v <= 1.0 for v in x.values()), x


def test_test_changed_when_its_file_is_in_the_change() -> None:
    history = ProjectHistory()
    change = view_change(build("b0", "src/test/java/org/x/FooTest.java"), history)
    assert features(FOO_TEST, change, history)["test_changed"] == 1.0
    assert features(BAR_TEST, change, history)["test_changed"] == 0.0


def test_subject_changed_when_the_tested_file_changed() -> None:
    history = ProjectHistory()
    change = view_change(build("b0", FOO), history)
    assert features(FOO_TEST, change, history)["subject_changed"] == 1.0
    assert features(BAR_TEST, change, history)["subject_changed"] == 0.0


def test_name_similarity_looks_at_code_not_at_changed_tests() -> None:
    history = ProjectHistory()
    tests_only = view_change(build("b0", "src/test/java/org/x/FooTest.java"), history)
    assert features(FOO_TEST, tests_only, history)["name_similarity"] == 0.0
    code = view_change(build("b1", "src/main/java/org/x/FooParser.java"), history)
    assert features(FOO_TEST, code, history)["name_similarity"] == pytest.approx(0.5)
    assert is_test_file("src/test/java/org/x/Util.java") and not is_test_file(FOO)


def test_co_failure_is_the_share_of_a_files_changes_that_failed_the_test() -> None:
    history = ProjectHistory()
    _learn(history, "b0", (FOO,), {FOO_TEST: (True, 1.0), BAR_TEST: (False, 1.0)})
    _learn(history, "b1", (FOO,), {FOO_TEST: (False, 1.0), BAR_TEST: (False, 1.0)})
    change = view_change(build("b2", FOO), history)
    # Foo.java changed in 2 builds; FooTest failed in one of them: 1 / (2 + 1).
    assert features(FOO_TEST, change, history)["co_failure"] == pytest.approx(1 / 3)
    assert features(BAR_TEST, change, history)["co_failure"] == 0.0
    unrelated = view_change(build("b3", "src/main/java/org/x/Other.java"), history)
    assert features(FOO_TEST, unrelated, history)["co_failure"] == 0.0


def test_failure_recency_and_last_failed() -> None:
    history = ProjectHistory()
    _learn(history, "b0", (), {FOO_TEST: (True, 1.0), BAR_TEST: (False, 1.0)})
    change = view_change(None, history)
    x = features(FOO_TEST, change, history)
    assert x["failure_recency"] == 1.0 and x["last_failed"] == 1.0
    _learn(history, "b1", (), {FOO_TEST: (False, 1.0), BAR_TEST: (False, 1.0)})
    x = features(FOO_TEST, change, history)
    assert x["failure_recency"] == 0.5 and x["last_failed"] == 0.0
    assert features(BAR_TEST, change, history)["failure_recency"] == 0.0


def test_unseen_test_is_never_run() -> None:
    history = ProjectHistory()
    _learn(history, "b0", (), {FOO_TEST: (False, 1.0)})
    change = view_change(None, history)
    assert features("org/x/NewTest.java", change, history)["never_run"] == 1.0
    assert features(FOO_TEST, change, history)["never_run"] == 0.0


def test_a_test_named_by_a_request_is_new_only_in_that_build() -> None:
    history = ProjectHistory()
    _learn(history, "b0", (), {FOO_TEST: (False, 4.0), BAR_TEST: (True, 1.0)})
    named = "org/x/NamedTest.java"
    assert history.name_candidates([FOO_TEST, named], "b1", history.builds_learned) == 1
    change = view_change(None, history)
    assert features(named, change, history, "b1")["never_run"] == 1.0
    _learn(history, "b1", (), {FOO_TEST: (False, 4.0)})
    x = features(named, change, history, "b2")
    # Known, never ran: nothing of its own; the base rate, the typical duration, its age.
    assert x["never_run"] == 0.0 and x["runs_log"] == 0.0 and x["failures_log"] == 0.0
    assert x["posterior"] == pytest.approx(history.base_rate)
    assert x["duration_log"] == pytest.approx(typical_log(history))
    assert x["age_log"] > 0.0


def test_a_test_only_ever_skipped_is_known() -> None:
    history = ProjectHistory()
    b = build("b0")
    results = batch("b0", {FOO_TEST: (False, 1.0)}).results
    skipped = TestResult("org/x/OffTest.java", "suite", "off", Outcome.SKIPPED, 0.0)
    history.update(history.start_build(b), b, (*results, skipped))
    assert history.runs == 1 and history.tests["org/x/OffTest.java"].skipped == 1
    x = features("org/x/OffTest.java", view_change(None, history), history, "b1")
    assert x["never_run"] == 0.0 and x["runs_log"] == 0.0


def test_a_new_test_has_the_projects_chance_of_a_new_test() -> None:
    history = ProjectHistory()
    _learn(history, "b0", (), {FOO_TEST: (False, 1.0)})
    history.learn_first_runs(changed=[False, True, True], failed=[False, True, True])
    tests_changed = view_change(build("b1", "src/test/java/org/x/NewTest.java"), history)
    assert features("org/x/NewTest.java", tests_changed, history)["posterior"] == pytest.approx(
        history.new_test_chance(changed=True)
    )
    assert features("org/x/OtherTest.java", tests_changed, history)["posterior"] == (
        pytest.approx(history.new_test_chance(changed=False))
    )
    assert history.new_test_chance(changed=True) > history.new_test_chance(changed=False)
