"""What a build changes, read from a git repository by running `git`.

The build's base is `git merge-base <base> <commit>` when a base ref is given, else the first
parent of the commit; a root commit has no base and changes every file it holds. A shallow
clone that lacks the commit's parent records that parent as the base and no changed files, with
a warning (on stderr, or to the caller's `warn`): listing every file as changed would teach the
model that all files change together. Diffs run with `--no-renames`: a renamed file shows as
its old path deleted and its new path added, so both paths keep their history. Binary files
count 0 added and 0 deleted lines. A merge commit's changed files are its diff against its
first parent.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from pts.core.errors import GitError
from pts.core.events import Build, ChangedFile, Commit, utc_now

MAX_COMMITS = 500
TIMEOUT_S = 120
_NUMSTAT = re.compile(r"\n?(\d+|-)\t(\d+|-)\t(.*)", re.DOTALL)
_SHA = re.compile(r"[0-9a-f]{7,40}")
_LOG_FORMAT = "%H%x00%P%x00%ae%x00%ct%x00%B"
_LOG_FIELDS = 5
_DIFF_OPTIONS = ("--no-renames", "--no-ext-diff", "--no-textconv", "--numstat", "-z")


def read_build(
    repo: Path,
    project: str,
    build_id: str,
    commit: str = "HEAD",
    base: str | None = None,
    author_emails: bool = False,
    warn: Callable[[str], None] | None = None,
) -> tuple[Build, list[Commit]]:
    """The build of `commit`, and its commits: base..commit, newest first, at most 500.
    Authors are digests of their e-mail addresses unless `author_emails`. A warning (a shallow
    clone) goes to `warn`, else to stderr."""
    build, commits = _read_build(repo, project, build_id, commit, base, warn or _to_stderr)
    if not author_emails:
        commits = [replace(c, author=author_digest(c.author)) for c in commits]
    return build, commits


def author_digest(email: str) -> str:
    """What is kept of an author's e-mail address by default: enough to tell authors apart.

    >>> author_digest("Ada@Example.org ") == author_digest("ada@example.org")
    True
    >>> author_digest("ada@example.org")
    'sha256:cfe00dde46ef9426'
    """
    normalised = email.strip().lower()
    return "sha256:" + hashlib.sha256(normalised.encode()).hexdigest()[:16] if normalised else ""


def _to_stderr(warning: str) -> None:
    print(warning, file=sys.stderr)


def _read_build(
    repo: Path,
    project: str,
    build_id: str,
    commit: str,
    base: str | None,
    warn: Callable[[str], None],
) -> tuple[Build, list[Commit]]:
    _check_repository(repo, commit)
    sha = _resolve(repo, commit)
    if base is None:
        parents = _git(repo, commit, "rev-list", "--parents", "-n", "1", sha).split()[1:]
        if not parents and (missing := _parents_missing_from_shallow_clone(repo, commit, sha)):
            warn(
                f"pts: warning: {repo} is a shallow clone without the parent of {sha[:12]}, so "
                "the changed files cannot be computed: recording the build with none; fetch the "
                "parent first (git fetch --deepen=1, or fetch-depth: 2 in actions/checkout)"
            )
            return _build_without_changes(repo, project, build_id, commit, sha, missing)
        base_sha = parents[0] if parents else None
    else:
        base_sha = _merge_base(repo, _resolve_base(repo, base), sha, base)
    if base_sha is None:
        diff = _git(
            repo, commit, "diff-tree", "-r", "--root", "--no-commit-id", *_DIFF_OPTIONS, sha
        )
        commits = _commits(repo, project, commit, [sha])
    else:
        diff = _git(repo, commit, "diff-tree", "-r", *_DIFF_OPTIONS, base_sha, sha)
        commits = _commits(repo, project, commit, [sha, f"^{base_sha}"])
    build = Build(
        project=project,
        build_id=build_id,
        commit_sha=sha,
        started_at=utc_now(),
        base_sha=base_sha,
        commits=tuple(c.sha for c in commits),
        changed_files=tuple(_changed_files(diff.split("\0"))),
    )
    return build, commits


def _parents_missing_from_shallow_clone(repo: Path, ref: str, sha: str) -> tuple[str, ...]:
    """The parents `sha` names that a shallow clone cut off; () for a true root commit."""
    if not _is_shallow(repo, ref):
        return ()
    header = _git(repo, ref, "cat-file", "commit", sha).partition("\n\n")[0]
    return tuple(line.split()[1] for line in header.splitlines() if line.startswith("parent "))


def _build_without_changes(
    repo: Path, project: str, build_id: str, ref: str, sha: str, parents: tuple[str, ...]
) -> tuple[Build, list[Commit]]:
    [commit] = _commits(repo, project, ref, [sha], with_files=False)
    build = Build(
        project=project,
        build_id=build_id,
        commit_sha=sha,
        started_at=utc_now(),
        base_sha=parents[0],
        commits=(sha,),
    )
    return build, [replace(commit, parents=parents)]


def _is_shallow(repo: Path, ref: str) -> bool:
    return _git(repo, ref, "rev-parse", "--is-shallow-repository").strip() == "true"


def _check_repository(repo: Path, ref: str) -> None:
    if not repo.is_dir() or _run(repo, ref, "rev-parse", "--git-dir").returncode != 0:
        raise GitError(f"{repo}: not a git repository, cannot read {ref!r}")


def _resolve(repo: Path, ref: str) -> str:
    if ref.startswith("-"):
        raise GitError(f"{repo}: {ref!r} is not a git revision")
    done = _run(repo, ref, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    if done.returncode != 0:
        raise GitError(f"{repo}: unknown revision {ref!r}")
    return done.stdout.strip()


def _resolve_base(repo: Path, base: str) -> str:
    try:
        return _resolve(repo, base)
    except GitError as e:
        if base.startswith("-"):
            raise
        raise GitError(
            f"{e}: fetch it before recording ({_fetch_command(repo, base)})"
            + _shallow_hint(repo, base)
        ) from None


def _fetch_command(repo: Path, base: str) -> str:
    remote, _, branch = base.partition("/")
    if branch and remote in _git(repo, base, "remote").split():
        # An explicit destination: a single-branch clone would not update refs/remotes/ itself.
        return f"git fetch {remote} {branch}:refs/remotes/{base}"
    if _SHA.fullmatch(base):
        return f"git fetch origin {base}"
    return f"git fetch origin {base}:{base}"


def _merge_base(repo: Path, base_sha: str, sha: str, base: str) -> str:
    done = _run(repo, base, "merge-base", base_sha, sha)
    if done.returncode != 0:
        raise GitError(f"{repo}: {base!r} and {sha} have no merge base" + _shallow_hint(repo, base))
    return done.stdout.strip()


def _shallow_hint(repo: Path, ref: str) -> str:
    if not _is_shallow(repo, ref):
        return ""
    return (
        "; this is a shallow clone: fetch the history down to the merge base "
        "(fetch-depth: 0 in actions/checkout, or git fetch --deepen=N)"
    )


def _commits(
    repo: Path, project: str, ref: str, revisions: list[str], with_files: bool = True
) -> list[Commit]:
    out = _git(
        repo,
        ref,
        "log",
        f"--max-count={MAX_COMMITS}",
        f"--format={_LOG_FORMAT}",
        "--no-show-signature",
        "--diff-merges=first-parent",
        "--root",
        "--no-relative",
        *(_DIFF_OPTIONS if with_files else ("-z",)),
        *revisions,
        "--",
    )
    tokens = out.split("\0")
    commits = []
    i = 0
    while i + _LOG_FIELDS <= len(tokens) and tokens[i].strip():
        sha, parents, author, committed, message = tokens[i : i + _LOG_FIELDS]
        start = i = i + _LOG_FIELDS
        while i < len(tokens) and _NUMSTAT.fullmatch(tokens[i]):
            i += 1
        commits.append(
            Commit(
                project=project,
                sha=sha,
                committed_at=datetime.fromtimestamp(int(committed), UTC),
                parents=tuple(parents.split()),
                author=author,
                message=message.strip().partition("\n")[0],
                changed_files=tuple(_changed_files(tokens[start:i])),
            )
        )
    return commits


def _changed_files(entries: list[str]) -> list[ChangedFile]:
    files = []
    for entry in entries:
        if match := _NUMSTAT.fullmatch(entry):
            added, deleted, path = match.groups()
            files.append(ChangedFile(path, _lines(added), _lines(deleted)))
    return files


def _lines(count: str) -> int:
    return 0 if count == "-" else int(count)


def _git(repo: Path, ref: str, *args: str) -> str:
    done = _run(repo, ref, *args)
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        reason = lines[0].removeprefix("fatal: ") if lines else f"exit status {done.returncode}"
        raise GitError(f"{repo}: git {args[0]} failed for {ref!r}: {reason}")
    return done.stdout


def _run(repo: Path, ref: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("GIT_DIR", "GIT_WORK_TREE")}
    try:
        return subprocess.run(
            ["git", "-C", str(repo), *args],
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            env={**env, "LC_ALL": "C"},
            timeout=TIMEOUT_S,
            check=False,
        )
    except FileNotFoundError as e:
        raise GitError(f"{repo}: git is not installed, cannot read {ref!r}") from e
    except subprocess.TimeoutExpired as e:
        raise GitError(f"{repo}: git {args[0]} took over {TIMEOUT_S}s for {ref!r}") from e
