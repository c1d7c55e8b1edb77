"""Which branch a CI build tests: for safety nets chosen per branch (`--full-run-on main`).

>>> branch_matches(["main", "release/*"], "release/2.1")
True
>>> branch_matches([], "main")
False
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from fnmatch import fnmatchcase

# What CI systems set to the branch a build tests, in the order asked: GitHub Actions (the
# head branch of a pull request first), GitLab, Jenkins, Buildkite, CircleCI, Azure Pipelines,
# Travis, Bitbucket.
BRANCH_VARIABLES = (
    "GITHUB_HEAD_REF",
    "GITHUB_REF_NAME",
    "CI_COMMIT_REF_NAME",
    "BRANCH_NAME",
    "BUILDKITE_BRANCH",
    "CIRCLE_BRANCH",
    "BUILD_SOURCEBRANCHNAME",
    "TRAVIS_BRANCH",
    "BITBUCKET_BRANCH",
)


def current_branch() -> str | None:
    """The branch from the CI's variables, else git's (None when detached or not a repo)."""
    for name in BRANCH_VARIABLES:
        value = os.environ.get(name, "").strip()
        if value:
            return value
    try:
        found = subprocess.run(
            ["git", "rev-parse", "--abbrev-ref", "HEAD"],
            capture_output=True, text=True, timeout=10, check=False,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return None
    branch = found.stdout.strip()
    return branch if found.returncode == 0 and branch and branch != "HEAD" else None


def branch_matches(globs: Sequence[str], branch: str | None = None) -> bool:
    """Whether the build's branch (`branch`, else the detected one) matches a glob."""
    if not globs:
        return False
    branch = branch or current_branch()
    return branch is not None and any(fnmatchcase(branch, glob) for glob in globs)
