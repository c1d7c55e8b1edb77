"""Bins of a split subset: every test in exactly one bin, times nearly equal, the same bins on
every shard."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from pts.client.shards import parse_bin, read_subset_file, split_into_bins, subset_file
from pts.core.errors import ConfigError


def test_bins_hold_every_test_once_with_nearly_equal_time() -> None:
    rng = random.Random(7)
    tests = [(f"t{i}", rng.uniform(0.1, 30.0)) for i in range(200)]
    bins = split_into_bins(tests, 4)
    assert sorted(t for b in bins for t in b) == sorted(t for t, _ in tests)
    seconds = dict(tests)
    totals = [sum(seconds[t] for t in b) for b in bins]
    assert max(totals) - min(totals) <= max(seconds.values())
    rank = {t: i for i, (t, _) in enumerate(tests)}
    assert all(b == sorted(b, key=rank.__getitem__) for b in bins)  # the subset's order kept
    assert split_into_bins(tests, 4) == bins  # deterministic


def test_the_subset_file_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "subset.json"
    path.write_text(subset_file([("a", 1.0), ("b", 2.5)], 2, "pytest", None))
    saved = read_subset_file(path)
    assert (saved["split"], saved["runner"], saved["tests"]) == (
        2,
        "pytest",
        [["a", 1.0], ["b", 2.5]],
    )


@pytest.mark.parametrize("text", ["0/2", "3/2", "1", "a/b"])
def test_a_bad_bin_is_a_usage_error(text: str) -> None:
    with pytest.raises(ConfigError, match="--bin must be i/N"):
        parse_bin(text)


def test_a_file_that_is_no_subset_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text('{"tests": []}')
    with pytest.raises(ConfigError, match="not a subset file"):
        read_subset_file(path)
