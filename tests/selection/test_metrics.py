"""Metrics against hand-computed examples (the arithmetic is in the comments)."""

from __future__ import annotations

import pytest

from pts.selection.metrics import apfd, apfdc, caught_within

ORDER = ["a", "b", "c", "d", "e"]
TIMES = {"a": 1.0, "b": 2.0, "c": 3.0, "d": 4.0, "e": 10.0}  # total 20 s


def test_apfd_failing_first_and_last() -> None:
    # n = 5, m = 1. First: 1 - 1/5 + 1/10 = 0.9. Last: 1 - 5/5 + 1/10 = 0.1.
    assert apfd(ORDER, {"a"}) == pytest.approx(0.9)
    assert apfd(ORDER, {"e"}) == pytest.approx(0.1)


def test_apfd_two_failing() -> None:
    # positions 2 and 4: 1 - (2 + 4)/(5 * 2) + 1/10 = 1 - 0.6 + 0.1 = 0.5
    assert apfd(ORDER, {"b", "d"}) == pytest.approx(0.5)


def test_apfd_all_failing() -> None:
    # positions 1..5 sum 15: 1 - 15/25 + 1/10 = 0.5
    assert apfd(ORDER, set(ORDER)) == pytest.approx(0.5)


def test_apfd_single_test() -> None:
    # n = m = 1: 1 - 1/1 + 1/2 = 0.5
    assert apfd(["a"], {"a"}) == pytest.approx(0.5)


def test_apfdc_failing_first() -> None:
    # TF = 1: (t1 + ... + t5 - t1/2) / (20 * 1) = (20 - 0.5) / 20 = 0.975
    assert apfdc(ORDER, {"a"}, TIMES) == pytest.approx(0.975)


def test_apfdc_failing_last() -> None:
    # TF = 5: (t5 - t5/2) / 20 = 5 / 20 = 0.25
    assert apfdc(ORDER, {"e"}, TIMES) == pytest.approx(0.25)


def test_apfdc_two_failing() -> None:
    # b at 2: (2+3+4+10 - 1) = 18; d at 4: (4+10 - 2) = 12; (18 + 12) / (20 * 2) = 0.75
    assert apfdc(ORDER, {"b", "d"}, TIMES) == pytest.approx(0.75)


def test_apfdc_all_failing() -> None:
    # a: 20-0.5=19.5; b: 19-1=18; c: 17-1.5=15.5; d: 14-2=12; e: 10-5=5 -> 70 / (20*5) = 0.7
    assert apfdc(ORDER, set(ORDER), TIMES) == pytest.approx(0.7)


def test_apfdc_zero_durations_fall_back_to_equal_costs() -> None:
    # all costs 1: b at 2 -> (4 - 0.5) / (5 * 1) = 0.7 = APFD (1 - 2/5 + 1/10)
    zero = dict.fromkeys(ORDER, 0.0)
    assert apfdc(ORDER, {"b"}, zero) == pytest.approx(0.7)
    assert apfdc(ORDER, {"b"}, zero) == pytest.approx(apfd(ORDER, {"b"}))


def test_apfdc_some_zero_durations() -> None:
    # costs 0, 0, 4: failing b at 2 -> (0 + 4 - 0/2) / (4 * 1) = 1.0
    assert apfdc(["a", "b", "c"], {"b"}, {"a": 0, "b": 0, "c": 4}) == pytest.approx(1.0)


def test_caught_within_budget_prefix() -> None:
    # budget 20% of 20 s = 4 s: a (1) + b (2) = 3 s, + c would be 6 s > 4 -> runs a, b.
    assert caught_within(ORDER, {"b", "d"}, TIMES, 0.2) == (True, 0.5)
    # budget 50% = 10 s: a+b+c+d = 10 s <= 10 -> catches b and d.
    assert caught_within(ORDER, {"b", "d"}, TIMES, 0.5) == (True, 1.0)
    # budget 10% = 2 s: a (1), + b would be 3 > 2 -> only a.
    assert caught_within(ORDER, {"b", "d"}, TIMES, 0.1) == (False, 0.0)


def test_caught_within_first_test_always_runs() -> None:
    # e alone is 10 s > 0.1 * 20 = 2 s, but the first test always runs.
    assert caught_within(["e", "a"], {"e"}, {"e": 10.0, "a": 10.0}, 0.1) == (True, 1.0)
    assert caught_within(ORDER, {"a"}, TIMES, 0.0) == (True, 1.0)


def test_caught_within_failing_last_needs_full_budget() -> None:
    # e runs only once the whole 20 s are allowed.
    assert caught_within(ORDER, {"e"}, TIMES, 0.95) == (False, 0.0)
    assert caught_within(ORDER, {"e"}, TIMES, 1.0) == (True, 1.0)


def test_caught_within_all_failing() -> None:
    # budget 50% = 10 s: a, b, c, d run (10 s) -> 4 of 5 caught.
    assert caught_within(ORDER, set(ORDER), TIMES, 0.5) == (True, pytest.approx(0.8))


def test_caught_within_zero_durations_equal_costs() -> None:
    # equal costs 1, total 5, budget 40% = 2 -> a, b run: catches b, not c.
    zero = dict.fromkeys(ORDER, 0.0)
    assert caught_within(ORDER, {"b", "c"}, zero, 0.4) == (True, 0.5)


@pytest.mark.parametrize(("order", "failing"), [([], {"a"}), (["a"], set()), (["a", "b"], {"c"})])
def test_undefined_inputs_are_refused(order: list[str], failing: set[str]) -> None:
    with pytest.raises(ValueError):
        apfd(order, failing)
    with pytest.raises(ValueError):
        apfdc(order, failing, {})
    with pytest.raises(ValueError):
        caught_within(order, failing, {}, 0.5)


def test_the_array_forms_score_exactly_as_the_orders_do() -> None:
    import random

    import numpy as np

    from pts.selection.metrics import apfd_at, apfdc_at

    rng = random.Random(3)
    for _ in range(200):
        n = rng.randint(2, 60)
        order = [f"t{i}" for i in rng.sample(range(n), n)]
        failing = set(rng.sample(order, rng.randint(1, n)))
        durations = {t: rng.choice([0.001, 0.5, rng.random() * 100]) for t in order}
        positions = np.array(sorted(i + 1 for i, t in enumerate(order) if t in failing))
        costs = np.array([durations[t] for t in order])
        assert apfd_at(positions, n) == apfd(order, failing)
        assert apfdc_at(positions, costs) == apfdc(order, failing, durations)
