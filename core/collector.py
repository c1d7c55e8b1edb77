"""Pausing Python's cyclic garbage collector around work that builds many short-lived objects.

Ranking 50,000 candidates builds a few objects per candidate; reference counting frees them
all, as they hold no cycles. With the collector on, their allocations set off dozens of
collections per ranking, and the ones that reach the oldest generation scan every object of
every project's model: measured in process, the p99 of ranking 10,000 candidates went from 185
to 84 ms with the collector paused, and the p50 at 50,000 from 567 to 420 ms.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic collection inside the block (or the decorated function); the collector is
    back on after it if it was on before (so blocks nest). Collections owed meanwhile happen
    at the next allocations.

    >>> with collector_paused():
    ...     gc.isenabled()
    False
    >>> @collector_paused()
    ... def ranking() -> bool:
    ...     return gc.isenabled()
    >>> ranking(), gc.isenabled()
    (False, True)
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
