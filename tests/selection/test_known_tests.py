"""Known tests (the candidates of a subset asked for without a list), and what a runner's
unit of several cases costs."""

from __future__ import annotations

from pts.selection.selector import Selector
from tests.selection.helpers import PROJECT, batch, build


def test_known_tests_are_the_recent_ones_of_the_flavor() -> None:
    selector = Selector()
    selector.observe_build(build("b0"))
    selector.learn(batch("b0", {"t::old": (False, 1.0)}))
    for i in range(1, 4):
        selector.observe_build(build(f"b{i}"))
        selector.learn(
            batch(
                f"b{i}",
                {
                    "t::a": (False, 1.0),
                    "t::a [os=linux]": (True, 1.0),
                    "t::b [os=linux]": (False, 1.0),
                },
                report=f"r{i}",
            )
        )
    assert selector.known_tests(PROJECT) == ["t::a", "t::old"]
    assert selector.known_tests(PROJECT, "os=linux") == ["t::a [os=linux]", "t::b [os=linux]"]
    # t::old last ran 3 builds ago: out of a window of 2
    assert selector.project(PROJECT).known_tests("", recent=2) == ["t::a"]
    assert selector.known_tests("no-such-project") == []


def test_a_unit_of_several_cases_costs_their_sum() -> None:
    """A spec file (or class) recorded with --runner is one id with a result per case."""
    from dataclasses import replace

    selector = Selector()
    selector.observe_build(build("b1"))
    cases = batch("b1", {"src/a.test.js": (False, 1.5)})
    spec = cases.results[0]
    three = tuple(replace(spec, variant=f"case {i}") for i in range(3))
    selector.learn(replace(cases, results=three))
    assert selector.project(PROJECT).history.expected_duration("src/a.test.js") == 4.5
