"""The contract every ranker keeps: the learned selector, the baselines, and the broker client.

A ranker sees a project's builds, answers subset requests, and learns from results, always in
that order for a build: observe the build, rank its candidates, then learn its results.
"""

from __future__ import annotations

from typing import Protocol

from pts.core.events import Build, SubsetRequest, SubsetResponse, TestResultBatch


class Ranker(Protocol):
    name: str

    def observe_build(self, build: Build) -> None:
        """Take note of a build and what it changes, before any request for it."""

    def rank(self, request: SubsetRequest) -> SubsetResponse:
        """Order the request's candidates, first things first, and cut the subset."""

    def learn(self, batch: TestResultBatch) -> None:
        """Learn from the results of a build, after it was ranked."""
