"""Calibrated chances: what share of the tests given a chance p did fail, learned online.

The model's ranking is good well before its chances are: where most tests fail often, or after
a run of failures, its top chances sit near 0.6-0.9 while a tenth of those tests fail. A
confidence target adds chances up, so it needs them right. Each raw chance falls in a band
(edges spaced by about 3x); a band remembers how many results it held and how many failed,
and the served chance is its failure share, shrunk toward the raw chance by `PRIOR_RESULTS`
pseudo-results so that a thin band keeps the model's word. Counts are halved once a band holds
`MEMORY` results, so the mapping follows a project that changes. Only the chances served and
recorded are calibrated; the model's own order is left as it is.

>>> calibration = Calibration()
>>> calibration.chance(0.8)  # nothing seen: the model's word
0.8
>>> for i in range(200):
...     calibration.learn(0.8, failed=i % 10 == 0)  # one in ten failed
>>> round(calibration.chance(0.8), 3)
0.117
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

EDGES = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 0.6)  # band i holds chances in [EDGES[i-1], EDGES[i])
PRIOR_RESULTS = 5.0
MEMORY = 10_000


@dataclass
class Calibration:
    results: list[float] = field(default_factory=lambda: [0.0] * (len(EDGES) + 1))
    failures: list[float] = field(default_factory=lambda: [0.0] * (len(EDGES) + 1))

    def chance(self, raw: float) -> float:
        band = bisect_right(EDGES, raw)
        n = self.results[band]
        return (self.failures[band] + PRIOR_RESULTS * raw) / (n + PRIOR_RESULTS)

    def chances(self, raws: np.ndarray) -> np.ndarray:
        """`chance` of each raw chance."""
        bands = np.searchsorted(EDGES, raws, side="right")  # bisect_right
        failures, results = np.array(self.failures)[bands], np.array(self.results)[bands]
        return (failures + PRIOR_RESULTS * raws) / (results + PRIOR_RESULTS)

    def learn_many(self, raws: Sequence[float], failed: Sequence[bool]) -> None:
        """`learn` each (raw chance, failed) in turn."""
        results, failures = self.results, self.failures
        bands = np.searchsorted(EDGES, raws, side="right").tolist()  # bisect_right
        for band, fail in zip(bands, failed, strict=True):
            results[band] += 1
            failures[band] += fail
            if results[band] >= MEMORY:
                results[band] /= 2
                failures[band] /= 2

    def learn(self, raw: float, failed: bool) -> None:
        self.learn_many([raw], [failed])
