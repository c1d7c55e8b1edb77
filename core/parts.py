"""Subset requests and answers of any size: cut into parts of bounded bytes, joined again.

Kafka bounds a message's size; a suite of 100,000 tests with long ids is far beyond it. A
request travels as `parts` messages with the same request id, each carrying a share of the
candidates; an answer as `parts` messages, each a share of the ranking, in order. All parts of
a request share its key (the project), so they arrive in order on one partition.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import TypeVar

from pts.core.events import RankedTest, SubsetRequest, SubsetResponse

PART_BYTES = 512 * 1024  # inside the broker's default 1 MB, whatever a topic's own limit
T = TypeVar("T")


def _chunks(items: Sequence[T], sizes: Iterable[int], limit: int) -> list[list[T]]:
    chunks: list[list[T]] = [[]]
    used = 0
    for item, size in zip(items, sizes, strict=True):
        if chunks[-1] and used + size > limit:
            chunks.append([])
            used = 0
        chunks[-1].append(item)
        used += size
    return chunks


def split_request(request: SubsetRequest, limit: int = PART_BYTES) -> list[SubsetRequest]:
    """The request as parts of at most about `limit` bytes of candidates each.

    >>> from pts.core.events import Target
    >>> r = SubsetRequest("r", "p", "b", ("a" * 40,) * 10, Target.parse("20%"), "replies")
    >>> [(p.part, p.parts, len(p.candidates)) for p in split_request(r, limit=200)]
    [(0, 3, 4), (1, 3, 4), (2, 3, 2)]
    """
    sizes = (len(c.encode()) + 4 for c in request.candidates)
    chunks = _chunks(request.candidates, sizes, limit)
    return [
        replace(request, candidates=tuple(chunk), part=i, parts=len(chunks))
        for i, chunk in enumerate(chunks)
    ]


def join_request(parts: Sequence[SubsetRequest]) -> SubsetRequest:
    """The whole request from all its parts (in any order)."""
    if len(parts) == 1 and parts[0].parts == 1:
        return parts[0]  # the common case: nothing to join, nothing to copy
    ordered = sorted(parts, key=lambda p: p.part)
    candidates = tuple(c for p in ordered for c in p.candidates)
    return replace(ordered[0], candidates=candidates, part=0, parts=1)


def split_response(response: SubsetResponse, limit: int = PART_BYTES) -> list[SubsetResponse]:
    """The answer as parts of at most about `limit` bytes of ranking each."""
    sizes = (len(t.test_id.encode()) + len(t.reason) + 24 for t in response.ranked)
    chunks = _chunks(response.ranked, sizes, limit)
    return [
        replace(
            response,
            ranked=tuple(chunk),
            part=i,
            parts=len(chunks),
            candidates=len(response.ranked),
        )  # fmt: skip
        for i, chunk in enumerate(chunks)
    ]


def join_response(parts: Sequence[SubsetResponse]) -> SubsetResponse:
    """The whole answer from all its parts (in any order)."""
    if len(parts) == 1 and parts[0].parts == 1:
        return parts[0]
    ordered = sorted(parts, key=lambda p: p.part)
    ranked: tuple[RankedTest, ...] = tuple(t for p in ordered for t in p.ranked)
    return replace(ordered[0], ranked=ranked, part=0, parts=1, candidates=len(ranked))


class PartsWaiting:
    """Parts received of messages not yet whole, by request id; the oldest are forgotten
    beyond `max_waiting` (their sender has long given up)."""

    def __init__(self, max_waiting: int = 1000) -> None:
        self._parts: OrderedDict[str, dict[int, object]] = OrderedDict()
        self.max_waiting = max_waiting

    def add(self, request_id: str, part: int, parts: int, value: T) -> list[T] | None:
        """Keep `value`; all parts once the last is in (then forgotten), else None."""
        if parts <= 1:
            return [value]
        received = self._parts.setdefault(request_id, {})
        received[part] = value
        while len(self._parts) > self.max_waiting:
            self._parts.popitem(last=False)
        if len(received) < parts:
            return None
        del self._parts[request_id]
        return [received[i] for i in sorted(received)]  # type: ignore[misc]
