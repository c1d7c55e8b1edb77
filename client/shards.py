"""Splitting a subset across parallel CI shards: bins of nearly equal expected time.

`pts subset --split N` writes the subset file (the chosen tests in rank order, each with its
expected time); each shard runs `pts split-subset --bin i/N FILE` for its bin. The split is
the longest-first greedy one: each test, longest first, goes to the bin with the least time
so far, so no bin exceeds the mean by more than the longest test. Within a bin the tests keep
the subset's order (the likeliest failures first).

>>> bins = split_into_bins([("a", 5.0), ("b", 3.0), ("c", 3.0), ("d", 2.0), ("e", 1.0)], 2)
>>> bins
[['a', 'd'], ['b', 'c', 'e']]
>>> split_into_bins([("a", 1.0)], 3)  # more shards than tests: some run nothing
[['a'], [], []]
>>> split_into_bins([("a", 0.0), ("b", 0.0), ("c", 0.0)], 2)  # no time known: by count
[['a', 'c'], ['b']]
"""

from __future__ import annotations

import heapq
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pts.core.errors import ConfigError

FORMAT = "pts-subset/1"


def split_into_bins(tests: Sequence[tuple[str, float]], count: int) -> list[list[str]]:
    """`tests` (id, expected seconds), in rank order, cut into `count` bins of nearly equal
    expected time; deterministic, so every shard computes the same bins."""
    if count < 1:
        raise ConfigError(f"a subset is split into at least 1 bin, not {count}")
    rank = {test: i for i, (test, _) in enumerate(tests)}
    # The least loaded bin by time, then by tests: tests of no known time spread evenly.
    heap = [(0.0, 0, index) for index in range(count)]
    bins: list[list[str]] = [[] for _ in range(count)]
    for test, seconds in sorted(tests, key=lambda t: (-t[1], rank[t[0]])):
        total, size, index = heapq.heappop(heap)
        bins[index].append(test)
        heapq.heappush(heap, (total + max(seconds, 0.0), size + 1, index))
    return [sorted(b, key=rank.__getitem__) for b in bins]


def parse_bin(text: str) -> tuple[int, int]:
    """`i/N` (1-based) as (i, N).

    >>> parse_bin("2/3")
    (2, 3)
    """
    found = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not found or not 1 <= int(found.group(1)) <= int(found.group(2)):
        raise ConfigError(f"--bin must be i/N with 1 <= i <= N, such as 1/4, not {text!r}")
    return int(found.group(1)), int(found.group(2))


def subset_file(
    tests: Sequence[tuple[str, float]], split: int, runner: str | None, fmt: str | None
) -> str:
    """The subset file `pts subset --split` prints: JSON, one object."""
    return json.dumps(
        {
            "format": FORMAT,
            "split": split,
            "runner": runner,
            "output": fmt,
            "tests": [[test, round(seconds, 6)] for test, seconds in tests],
        },
        indent=1,
    )


def read_subset_file(path: Path) -> dict[str, Any]:
    try:
        saved = json.loads(path.read_text())
    except OSError as exc:
        raise ConfigError(f"cannot read the subset file {path}: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: not a subset file of `pts subset --split`: {exc.msg}") from exc
    if not isinstance(saved, dict) or saved.get("format") != FORMAT:
        raise ConfigError(f"{path}: not a subset file of `pts subset --split`")
    return saved
