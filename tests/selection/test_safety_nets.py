"""Safety nets: must-run globs, the starvation bound, full runs, and where their settings come
from (request, project file, defaults)."""

from __future__ import annotations

import pickle
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from pts.core.errors import ConfigError
from pts.core.events import Build, Outcome, RankedTest, TestResult, TestResultBatch
from pts.selection.history import TestStats
from pts.selection.policies import Policies
from pts.selection.safety_nets import DEFAULTS, OFF, Nets, Staleness, apply, matcher
from pts.selection.selector import ProjectSelector, Selector

from .helpers import PROJECT, request

TESTS = [f"t::test_{i}" for i in range(10)]
START = datetime(2026, 1, 1, tzinfo=UTC)


def ranked(*test_ids: str) -> list[RankedTest]:
    return [RankedTest(t, 0.1, 1.0, "model") for t in test_ids]


def added(result: tuple[list[RankedTest], int], size: int) -> dict[str, str]:
    tests, new_size = result
    return {t.test_id: t.reason for t in tests[size:new_size]}


# -- the nets on a ranking ------------------------------------------------------------------


def test_must_run_globs_match_plain_ids_and_keep_the_ranking_order() -> None:
    order = ranked("a/x.py::t1", "a/y.py::t2", "b/z.py::t3 [os=linux]", "b/w.py::t4")
    nets = Nets(must_run=("b/*", "a/y.py::t2"))
    result = apply(nets, order, 1, lambda _: None, lambda t: t.removesuffix(" [os=linux]"))
    assert added(result, 1) == {"a/y.py::t2": "must-run", "b/z.py::t3 [os=linux]": "must-run",
                                "b/w.py::t4": "must-run"}  # fmt: skip
    assert [t.test_id for t in result[0]] == [t.test_id for t in order]


def test_a_glob_is_the_whole_id_not_a_part_of_it() -> None:
    assert matcher(["test_a"])("tests/test_a.py::x") is False
    assert matcher(["*test_a*"])("tests/test_a.py::x") is True
    assert matcher([])("anything") is False


def test_starved_tests_are_added_most_overdue_first_at_a_bounded_rate() -> None:
    order = ranked(*TESTS)
    since = {t: Staleness(builds=i * 3, days=0.0) for i, t in enumerate(TESTS)}
    nets = Nets(starve_after_builds=10, starve_after_days=0.0)
    result = apply(nets, order, 2, since.get)
    # test_4..test_9 are 12-27 builds without a result; 2 x 10 / 10 = 2 of them per build.
    assert added(result, 2) == {"t::test_8": "starved", "t::test_9": "starved"}
    assert result[1] == 4


def test_days_starve_a_test_too_and_new_tests_never_starve() -> None:
    order = ranked("old", "recent", "new")
    since = {"old": Staleness(1, 20.0), "recent": Staleness(1, 2.0)}
    nets = Nets(starve_after_builds=0, starve_after_days=14.0)
    assert added(apply(nets, order, 0, since.get), 0) == {"old": "starved"}


def test_a_full_run_adds_every_test_and_nets_off_add_nothing() -> None:
    order = ranked(*TESTS)
    since = {t: Staleness(100, 100.0) for t in TESTS}
    full = apply(replace(OFF, full_run=True), order, 3, since.get)
    assert full[1] == 10 and set(added(full, 3).values()) == {"full-run"}
    assert apply(OFF, order, 3, since.get) == (order, 3)


# -- where the settings come from -----------------------------------------------------------


def test_a_request_wins_over_its_project_which_wins_over_the_defaults() -> None:
    policies = Policies.parse(
        "[defaults]\nstarve_after_days = 3\n"
        '[projects.shop]\nmust_run = ["smoke/*"]\nstarve_after_builds = 7\n'
    )
    shop = policies.of("shop")
    assert (shop.must_run, shop.starve_after_builds, shop.starve_after_days) == (
        ("smoke/*",), 7, 3.0,
    )  # fmt: skip
    asked = Nets(must_run=("x",), starve_after_builds=0).over(shop)
    assert asked.must_run == ("x", "smoke/*") and asked.starve_after_builds == 0
    assert policies.of("other").starve_after_builds == DEFAULTS.starve_after_builds


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("[projects.shop\n", "not valid TOML"),
        ("[project.shop]\n", "unknown table 'project'"),
        ("[projects.shop]\nmust_run = 'a'\n", "must_run must be a list of globs"),
        ("[projects.shop]\nstarve_after_builds = -1\n", "0 or more"),
        ("[projects.shop]\nfull_run_every = 2.5\n", "whole number"),
        ("[projects.shop]\nstarve_after_days = true\n", "must be a number"),
        ("[defaults]\nmustrun = []\n", "unknown key 'mustrun'"),
    ],
)
def test_a_bad_projects_file_is_one_clear_error(text: str, says: str) -> None:
    with pytest.raises(ConfigError, match=says):
        Policies.parse(text, "projects.toml")


# -- through the selector -------------------------------------------------------------------


def results(build_id: str, outcomes: dict[str, Outcome]) -> TestResultBatch:
    return TestResultBatch(
        PROJECT, build_id, "r", tuple(TestResult(t, "s", t, o, 1.0) for t, o in outcomes.items())
    )


def learn_build(selector: Selector, index: int, outcomes: dict[str, Outcome]) -> None:
    build_id = f"b{index}"
    selector.observe_build(Build(PROJECT, build_id, f"sha{index}", START + timedelta(days=index)))
    selector.learn(results(build_id, outcomes))


def test_a_skipped_result_counts_as_a_result_for_the_starvation_bound() -> None:
    selector = Selector()
    learn_build(selector, 0, dict.fromkeys(TESTS, Outcome.PASSED))
    for index in range(1, 6):
        learn_build(selector, index, {TESTS[0]: Outcome.PASSED, TESTS[1]: Outcome.SKIPPED})
    history = selector.projects[PROJECT].history
    now = (START + timedelta(days=6)).timestamp()
    assert history.staleness(TESTS[1], "b6", now) == Staleness(1, 1.0)
    assert history.staleness(TESTS[5], "b6", now) == Staleness(6, 6.0)
    assert history.staleness("t::never_seen", "b6", now) is None


def test_the_selector_applies_the_projects_nets_under_the_requests() -> None:
    policy = f'[projects.{PROJECT}]\nmust_run = ["t::test_9"]\n'
    selector = Selector(policies=Policies.parse(policy))
    learn_build(selector, 0, dict.fromkeys(TESTS, Outcome.PASSED))
    selector.observe_build(Build(PROJECT, "b1", "sha1", START + timedelta(days=1)))
    answer = selector.rank(request("b1", *TESTS, target="20%"))
    assert answer.subset[-1] == "t::test_9" and answer.ranked[2].reason == "must-run"
    assert answer.subset_size == 3
    assert answer.expected_share_of_time == pytest.approx(0.3)


def test_days_are_counted_from_the_builds_start_not_the_clock() -> None:
    selector = Selector()
    learn_build(selector, 0, dict.fromkeys(TESTS, Outcome.PASSED))
    learn_build(selector, 1, {TESTS[0]: Outcome.PASSED})
    selector.observe_build(Build(PROJECT, "b2", "sha2", START + timedelta(days=20)))
    asked = replace(request("b2", *TESTS, target="10%"), starve_after_builds=0)
    answer = selector.rank(asked)
    # Nine tests 20 days without a result; without a bound in builds, at most 2 x 10 / 50
    # (the default bound) run per build: one.
    assert [t.reason for t in answer.ranked[: answer.subset_size]] == ["model", "starved"]
    selector.observe_build(Build(PROJECT, "b3", "sha3", START + timedelta(days=2)))
    answer = selector.rank(replace(asked, build_id="b3"))
    assert "starved" not in {t.reason for t in answer.ranked}


def test_a_full_run_is_due_every_n_builds_and_the_same_build_keeps_it() -> None:
    selector = Selector()
    every = replace(request("b1", *TESTS, target="10%"), full_run_every=2,
                    starve_after_builds=0, starve_after_days=0)  # fmt: skip
    learn_build(selector, 0, dict.fromkeys(TESTS, Outcome.PASSED))
    assert selector.rank(every).subset_size == 1
    learn_build(selector, 1, {TESTS[0]: Outcome.PASSED})
    due = replace(every, build_id="b2")
    assert selector.rank(due).subset_size == 10
    assert selector.rank(due).subset_size == 10  # asked again: the same answer
    learn_build(selector, 2, dict.fromkeys(TESTS, Outcome.PASSED))
    assert selector.rank(replace(every, build_id="b3")).subset_size == 1


def test_an_unknown_project_gets_its_nets_too() -> None:
    answer = Selector().rank(
        replace(request("b1", *TESTS, target="20%", project="fresh"), must_run=("*_9",))
    )
    assert answer.model == "cold-start" and answer.subset[-1] == "t::test_9"


def test_states_from_before_the_nets_load() -> None:
    stats = TestStats(first_seen=3)
    stats.last_result, stats.last_result_at = 7, 1.0
    old = stats.__getstate__()[:-5]  # without last_result, last_result_at and the offers
    loaded = TestStats.__new__(TestStats)
    loaded.__setstate__(old)
    assert (loaded.last_result, loaded.last_result_at, loaded.offered_at) == (-1, 0.0, -1)
    project = ProjectSelector(PROJECT)
    del project.__dict__["last_full_run"]
    assert pickle.loads(pickle.dumps(project)).last_full_run == ("", 0)


def test_a_starved_test_that_reports_nothing_is_added_once_per_bound() -> None:
    # A Go benchmark is listed by `go test -list` and never reported by `go test`: added once,
    # it must not take a starved slot at every later build.
    selector = Selector()
    bench = "t::BenchmarkAdd"
    every = {"starve_after_builds": 3, "starve_after_days": 0.0}
    learned = dict.fromkeys(TESTS, Outcome.PASSED)
    learn_build(selector, 0, learned)
    added_in = []
    for index in range(1, 11):
        asked = replace(request(f"b{index}", *TESTS, bench, target="10%"), **every)
        answer = [(t.test_id, t.reason) for t in selector.rank(asked).ranked]
        again = [(t.test_id, t.reason) for t in selector.rank(asked).ranked]
        assert again == answer  # the same build asking again gets the same answer
        if (bench, "starved") in answer:
            added_in.append(index)
        learn_build(selector, index, learned)
    assert added_in == [4, 7, 10]
