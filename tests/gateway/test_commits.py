"""The commit jar's commits as pts commits: the first parent's changes; bad ones refused."""

from __future__ import annotations

import pytest

from pts.gateway.commits import commit_of
from pts.gateway.errors import BadInput

JAR_COMMIT = {
    "commitHash": "c3", "authorEmailAddress": "9f86d081884c7d659a2feaa0c55ad015",
    "authorWhen": 1765000000000, "authorTimezoneOffset": 60,
    "committerEmailAddress": "9f86d081884c7d659a2feaa0c55ad015", "committerWhen": 1765000100000,
    "committerTimezoneOffset": 60, "message": "", "shallow": False,
    "parentHashes": {
        "c2": [
            {"linesAdded": 1, "linesDeleted": 0, "status": "ADD", "path": "/dev/null",
             "pathTo": "new.py"},
            {"linesAdded": 0, "linesDeleted": 3, "status": "DELETE", "path": "old.py",
             "pathTo": "/dev/null"},
        ],
        "m1": [{"linesAdded": 9, "linesDeleted": 9, "status": "MODIFY", "path": "x.py",
                "pathTo": "x.py"}],
    },
}  # fmt: skip


def test_a_commit_carries_its_changes_over_its_first_parent() -> None:
    commit = commit_of("shop", JAR_COMMIT)
    assert commit.parents == ("c2", "m1")
    assert [(f.path, f.added, f.deleted) for f in commit.changed_files] == [
        ("new.py", 1, 0),
        ("old.py", 0, 3),
    ]
    assert commit.committed_at.timestamp() == 1765000100
    assert commit.author == "sha256:9f86d081884c7d65"  # as pts keeps an author: a digest


@pytest.mark.parametrize(
    "commit",
    [
        "c3",
        {"commitHash": 3},
        {"commitHash": "c3", "parentHashes": ["c2"]},
        {"commitHash": "c3", "committerWhen": "yesterday"},
        {"commitHash": "c3", "parentHashes": {"c2": [{"linesAdded": -1, "path": "a.py"}]}},
    ],
)
def test_a_commit_the_jar_would_not_send_is_refused(commit: object) -> None:
    with pytest.raises(BadInput):
        commit_of("shop", commit)
