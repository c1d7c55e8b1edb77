"""Runner profiles (`--runner`): ids the runner can run, its candidate listing, its subset.

>>> sorted(RUNNERS)[:2]
['bazel', 'ctest']
"""

from __future__ import annotations

from pts.client.runners.android import Cts
from pts.client.runners.base import Candidates, Identity, ReportCase, Runner
from pts.client.runners.cucumber import Cucumber
from pts.client.runners.dart import DartTest, FlutterTest
from pts.client.runners.dotnet import Dotnet
from pts.client.runners.go import GoTest
from pts.client.runners.javascript import Cypress, Jest, Playwright, Vitest
from pts.client.runners.jvm import Gradle, Surefire
from pts.client.runners.native import Bazel, CTest, GoogleTest
from pts.client.runners.python import Pytest, Robot
from pts.client.runners.ruby import Minitest, RSpec
from pts.core.errors import ConfigError

RUNNERS: dict[str, Runner] = {
    runner.name: runner
    for runner in (
        Pytest(),
        Surefire(),
        Gradle(),
        GoTest(),
        Jest(),
        Vitest(),
        Cypress(),
        Playwright(),
        RSpec(),
        Minitest(),
        Bazel(),
        Dotnet(),
        CTest(),
        Robot(),
        GoogleTest(),
        Cts(),
        Cucumber(),
        DartTest(),
        FlutterTest(),
    )
}
PLAIN = Runner()  # no --runner: `suite::name` as the report says


def runner(name: str | None) -> Runner:
    """The profile called `name`; the plain JUnit reading for None."""
    if name is None:
        return PLAIN
    found = RUNNERS.get(name)
    if found is None:
        raise ConfigError(f"--runner must be one of {', '.join(RUNNERS)}, not {name!r}")
    return found


__all__ = ["RUNNERS", "Candidates", "Identity", "ReportCase", "Runner", "runner"]
