"""The commits the Launchable commit jar sends (`POST commits/collect`) as pts commits.

>>> commit = commit_of("shop", {
...     "commitHash": "c2", "committerWhen": 1765000000000, "authorEmailAddress": "9f86d08188",
...     "parentHashes": {"c1": [{"linesAdded": 2, "linesDeleted": 1, "status": "MODIFY",
...                              "path": "a.py", "pathTo": "a.py"}]}})
>>> commit.parents, commit.changed_files, commit.author
(('c1',), (ChangedFile(path='a.py', added=2, deleted=1),), 'sha256:9f86d08188')
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pts.core.events import ChangedFile, Commit
from pts.gateway.errors import BadInput


def commit_of(project: str, raw: Any) -> Commit:
    """A commit as the Launchable commit jar sends it (`POST commits/collect`)."""
    if not isinstance(raw, dict) or not isinstance(raw.get("commitHash"), str):
        raise BadInput("each commit needs a commitHash")
    parents = raw.get("parentHashes") or {}
    if not isinstance(parents, dict):
        raise BadInput("parentHashes must be an object")
    first = next(iter(parents.values()), []) or []
    files = tuple(
        ChangedFile(path, _count(change, "linesAdded"), _count(change, "linesDeleted"))
        for change in first
        if isinstance(change, dict) and (path := _changed_path(change))
    )
    email = str(raw.get("authorEmailAddress") or "")
    when = _count(raw, "committerWhen") or _count(raw, "authorWhen")
    return Commit(
        project=project,
        sha=raw["commitHash"],
        committed_at=datetime.fromtimestamp(when / 1000, UTC),
        parents=tuple(parents),
        author=f"sha256:{email[:16]}" if email else "",
        message=str(raw.get("message") or ""),
        changed_files=files,
    )


def _changed_path(change: dict[str, Any]) -> str:
    """The file a change is of: its new path, or the old one for a deletion."""
    if change.get("status") == "DELETE":
        return str(change.get("path") or "")
    return str(change.get("pathTo") or change.get("path") or "")


def _count(record: dict[str, Any], name: str) -> int:
    value = record.get(name) or 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise BadInput(f"{name} must be a whole number, not {value!r:.40}")
    return value
