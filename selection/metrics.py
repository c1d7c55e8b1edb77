"""How well an order of tests reveals a cycle's failures: APFD, APFDc, and recall within a budget.

The selector scores its candidate rankers with these on every failing build (progressive
validation), and `pts eval` scores whole histories with them.

Every function takes the order the tests would run in and the set of tests that fail in the
cycle; `failing` must be a non-empty subset of `order` (the metrics are undefined otherwise).
Each failing test is taken to reveal its own fault, with all fault severities equal to 1.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

_EPSILON = 1e-9


def _positions(order: Sequence[str], failing: set[str]) -> list[int]:
    """1-based positions of the failing tests in `order`."""
    if not order:
        raise ValueError("an empty order has no APFD")
    if not failing:
        raise ValueError("no failing test: the metric is undefined for a passing cycle")
    position = {test: i for i, test in reversed(list(enumerate(order, start=1)))}
    missing = failing - position.keys()
    if missing:
        raise ValueError(f"failing tests not in the order: {sorted(missing)[:3]}")
    return sorted(position[t] for t in failing)


def _costs(order: Sequence[str], durations: Mapping[str, float]) -> list[float]:
    """Duration of each test of `order`; all 1.0 when they sum to zero (equal costs)."""
    costs = [max(float(durations.get(t, 0.0)), 0.0) for t in order]
    return costs if sum(costs) > 0 else [1.0] * len(order)


def apfd(order: Sequence[str], failing: set[str]) -> float:
    """Average Percentage of Faults Detected: APFD = 1 - (TF_1 + ... + TF_m) / (n * m) + 1 / (2n).

    n tests in `order`, m failing tests, TF_i the 1-based position of the i-th failing test.

    >>> apfd(["a", "b", "c", "d"], {"a"})  # 1 - 1/4 + 1/8
    0.875
    >>> apfd(["a", "b", "c", "d"], {"d"})  # 1 - 4/4 + 1/8
    0.125
    """
    positions = _positions(order, failing)
    n, m = len(order), len(positions)
    return 1 - sum(positions) / (n * m) + 1 / (2 * n)


def apfdc(order: Sequence[str], failing: set[str], durations: Mapping[str, float]) -> float:
    """Cost-aware APFD (Elbaum, Malishevsky, Rothermel 2001), all severities 1:

    APFDc = sum_i (t_TF_i + ... + t_n - t_TF_i / 2) / ((t_1 + ... + t_n) * m)

    t_j the duration of the j-th test of `order` (tests missing from `durations` cost 0 s),
    TF_i the position of the i-th failing test. When all durations are zero every test costs
    the same, and APFDc equals APFD.

    >>> apfdc(["a", "b"], {"b"}, {"a": 3.0, "b": 1.0})  # (1 - 0.5) / 4
    0.125
    >>> apfdc(["b", "a"], {"b"}, {"a": 3.0, "b": 1.0})  # (4 - 0.5) / 4
    0.875
    >>> apfdc(["a", "b"], {"b"}, {}) == apfd(["a", "b"], {"b"})
    True
    """
    positions = _positions(order, failing)
    costs = _costs(order, durations)
    remaining = [0.0] * (len(costs) + 1)  # remaining[j] = t_{j+1} + ... + t_n (0-based j)
    for j in range(len(costs) - 1, -1, -1):
        remaining[j] = remaining[j + 1] + costs[j]
    total = remaining[0]
    revealed = sum(remaining[p - 1] - costs[p - 1] / 2 for p in positions)
    return revealed / (total * len(positions))


def apfd_at(positions: np.ndarray, n: int) -> float:
    """`apfd` from the 1-based positions of the failing tests in an order of `n` tests."""
    return 1 - int(positions.sum()) / (n * len(positions)) + 1 / (2 * n)


def apfdc_at(positions: np.ndarray, durations: np.ndarray) -> float:
    """`apfdc` from the sorted 1-based positions of the failing tests and the durations of
    the tests in order, with the same arithmetic in the same order.

    >>> apfdc_at(np.array([2]), np.array([3.0, 1.0]))  # (1 - 0.5) / 4
    0.125
    """
    costs = np.maximum(durations.astype(float), 0.0)
    if not costs.sum() > 0:
        costs = np.ones(len(costs))
    remaining = np.cumsum(costs[::-1])[::-1]  # remaining[j] = t_{j+1} + ... + t_n (0-based j)
    at = positions - 1
    revealed = sum((remaining[at] - costs[at] / 2).tolist())
    return float(revealed / (remaining[0] * len(positions)))


def caught_within(
    order: Sequence[str], failing: set[str], durations: Mapping[str, float], budget_share: float
) -> tuple[bool, float]:
    """Running `order` within budget = budget_share * total time: (any failure caught, recall).

    Tests run in order while the cumulative time stays <= budget, and the first test always
    runs. Recall = caught failing tests / all failing tests. Tests missing from `durations`
    cost 0 s; when all durations are zero every test costs the same.

    >>> caught_within(["a", "b", "c"], {"b", "c"}, {"a": 1, "b": 1, "c": 2}, 0.5)  # budget 2
    (True, 0.5)
    >>> caught_within(["c", "a", "b"], {"a"}, {"a": 1, "b": 1, "c": 2}, 0.25)  # budget 1
    (False, 0.0)
    """
    positions = _positions(order, failing)
    costs = _costs(order, durations)
    budget = budget_share * sum(costs)
    ran, elapsed = 0, 0.0
    for cost in costs:
        if ran > 0 and elapsed + cost > budget + _EPSILON:
            break
        ran += 1
        elapsed += cost
    caught = sum(1 for p in positions if p <= ran)
    return caught > 0, caught / len(positions)
