"""The synthetic generator: deterministic for a seed, and shaped as documented."""

from __future__ import annotations

from pts.evaluation.synthetic import generate


def test_same_seed_same_history() -> None:
    assert generate(seed=5, cycles=60) == generate(seed=5, cycles=60)
    assert generate(seed=5, cycles=60) != generate(seed=6, cycles=60)


def test_shape() -> None:
    history = generate(seed=1, cycles=200, modules=6, tests_per_module=10)
    assert len(history.cycles) == 200
    first = set(history.cycles[0].candidates)
    assert len(first) == 60
    assert all(t.startswith("tests/m") and "/Test" in t for t in first)
    assert 0 < history.failing_cycles < 200
    for cycle in history.cycles:
        assert 1 <= sum(f.path.startswith("src/") for f in cycle.build.changed_files) <= 5
    ever = set().union(*(c.candidates for c in history.cycles))
    assert len(ever) > len(first)  # tests were added or renamed
    last = set(history.cycles[-1].candidates)
    assert first - last  # some tests disappeared: renamed
    durations = [r.duration_s for c in history.cycles for r in c.results]
    assert min(durations) > 0
