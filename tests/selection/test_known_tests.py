"""The candidates of a subset asked for without a list: the tests that ran recently, of the
flavor asked for."""

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
