from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pts.client import git_changes
from pts.client.git_changes import author_digest, read_build
from pts.core.errors import GitError
from pts.core.events import ChangedFile

T0 = datetime(2024, 5, 14, 9, 0, tzinfo=UTC)


class Repo:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.clock = 0
        path.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", "main")
        self.git("config", "user.name", "Ada")
        self.git("config", "user.email", "ada@example.org")
        self.git("config", "commit.gpgsign", "false")

    def git(self, *args: str) -> str:
        stamp = f"{int(T0.timestamp()) + self.clock * 60} +0200"
        env = {**os.environ, "GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp}
        done = subprocess.run(
            ["git", *args], cwd=self.path, env=env, check=True, capture_output=True, text=True
        )
        return done.stdout.strip()

    def write(self, name: str, content: str | bytes) -> None:
        path = self.path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)

    def commit(self, message: str) -> str:
        self.clock += 1
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)
        return self.git("rev-parse", "HEAD")


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    return Repo(tmp_path / "repo")


@pytest.fixture
def history(tmp_path: Path) -> tuple[Repo, dict[str, str]]:
    """main: root - binary - rename - main_only; feature (from rename): feat1 - feat2."""
    r = Repo(tmp_path / "repo")
    shas = {}
    r.write("a.txt", "one\ntwo\n")
    r.write("README.md", "# demo\n")
    shas["root"] = r.commit("initial import\n\nWith a body.")
    r.write("a.txt", "one\n2\n")
    r.write("logo.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x01")
    shas["binary"] = r.commit("add logo")
    (r.path / "src").mkdir()
    r.git("mv", "a.txt", "src/b.txt")
    r.write("README.md", "# demo\n\nsee src/b.txt\n")
    shas["rename"] = r.commit("move a.txt")
    r.git("checkout", "-q", "-b", "feature")
    r.write("src/x.py", "a = 1\nb = 2\nc = 3\n")
    shas["feat1"] = r.commit("add x")
    r.write("src/x.py", "a = 1\nc = 4\n")
    r.write("docs/über file.md", "tabs\tand spaces\n")
    shas["feat2"] = r.commit("change x, add docs")
    r.git("checkout", "-q", "main")
    r.write("main.txt", "main\n")
    shas["main_only"] = r.commit("main only")
    return r, shas


def files(*entries: tuple[str, int, int]) -> tuple[ChangedFile, ...]:
    return tuple(ChangedFile(*e) for e in entries)


def test_root_commit_changes_all_its_files(history: tuple[Repo, dict[str, str]]) -> None:
    r, shas = history
    build, commits = read_build(r.path, "demo", "b1", commit=shas["root"])
    assert (build.project, build.build_id, build.commit_sha) == ("demo", "b1", shas["root"])
    assert build.base_sha is None
    assert build.commits == (shas["root"],)
    assert build.changed_files == files(("README.md", 1, 0), ("a.txt", 2, 0))
    assert build.started_at.tzinfo is not None
    [commit] = commits
    assert commit.parents == ()
    assert commit.message == "initial import"
    assert commit.author == author_digest("ada@example.org")  # not the address itself
    _, plain = read_build(r.path, "demo", "b1", commit=shas["root"], author_emails=True)
    assert plain[0].author == "ada@example.org"
    assert commit.committed_at == datetime(2024, 5, 14, 9, 1, tzinfo=UTC)
    assert commit.changed_files == build.changed_files


def test_binary_file_counts_zero_lines(history: tuple[Repo, dict[str, str]]) -> None:
    r, shas = history
    build, commits = read_build(r.path, "demo", "b2", commit=shas["binary"])
    assert build.base_sha == shas["root"]
    assert build.changed_files == files(("a.txt", 1, 1), ("logo.png", 0, 0))
    assert [c.parents for c in commits] == [(shas["root"],)]


def test_rename_is_a_delete_and_an_add(history: tuple[Repo, dict[str, str]]) -> None:
    r, shas = history
    build, commits = read_build(r.path, "demo", "b3", commit=shas["rename"])
    expected = files(("README.md", 2, 0), ("a.txt", 0, 2), ("src/b.txt", 2, 0))
    assert build.changed_files == expected
    assert commits[0].changed_files == expected


def test_head_defaults_to_first_parent(history: tuple[Repo, dict[str, str]]) -> None:
    r, shas = history
    build, commits = read_build(r.path, "demo", "b4")
    assert build.commit_sha == shas["main_only"]
    assert build.base_sha == shas["rename"]
    assert build.commits == (shas["main_only"],)
    assert build.changed_files == files(("main.txt", 1, 0))
    assert commits[0].committed_at.utcoffset() is not None


def test_branch_against_merge_base(history: tuple[Repo, dict[str, str]]) -> None:
    r, shas = history
    build, commits = read_build(r.path, "demo", "pr-7", commit="feature", base="main")
    assert build.commit_sha == shas["feat2"]
    assert build.base_sha == shas["rename"]
    assert build.commits == (shas["feat2"], shas["feat1"])
    assert build.changed_files == files(("docs/über file.md", 1, 0), ("src/x.py", 2, 0))
    newest, oldest = commits
    assert newest.parents == (shas["feat1"],)
    assert newest.message == "change x, add docs"
    assert newest.changed_files == files(("docs/über file.md", 1, 0), ("src/x.py", 1, 2))
    assert oldest.changed_files == files(("src/x.py", 3, 0))
    assert oldest.committed_at < newest.committed_at


def test_merge_commit_diffs_against_first_parent(history: tuple[Repo, dict[str, str]]) -> None:
    r, shas = history
    r.clock += 1
    r.git("merge", "-q", "--no-ff", "-m", "Merge feature", "feature")
    merge = r.git("rev-parse", "HEAD")
    build, commits = read_build(r.path, "demo", "b5", commit=merge)
    assert build.base_sha == shas["main_only"]
    assert build.commits == (merge, shas["feat2"], shas["feat1"])
    assert commits[0].parents == (shas["main_only"], shas["feat2"])
    assert commits[0].message == "Merge feature"
    assert commits[0].changed_files == build.changed_files
    assert build.changed_files == files(("docs/über file.md", 1, 0), ("src/x.py", 2, 0))


def test_commits_are_capped(
    history: tuple[Repo, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    r, shas = history
    monkeypatch.setattr(git_changes, "MAX_COMMITS", 1)
    build, commits = read_build(r.path, "demo", "b6", commit="feature", base="main")
    assert build.commits == (shas["feat2"],)
    assert len(commits) == 1
    assert len(build.changed_files) == 2


def test_empty_commit_and_base_equal_to_commit(history: tuple[Repo, dict[str, str]]) -> None:
    r, shas = history
    r.clock += 1
    r.git("commit", "-q", "--allow-empty", "-m", "nothing")
    build, commits = read_build(r.path, "demo", "b7")
    assert build.changed_files == ()
    assert commits[0].changed_files == ()
    build, commits = read_build(r.path, "demo", "b8", commit="main", base="main")
    assert build.base_sha == build.commit_sha
    assert (build.commits, build.changed_files, commits) == ((), (), [])


def test_not_a_git_repository(tmp_path: Path) -> None:
    with pytest.raises(GitError, match="not a git repository, cannot read 'HEAD'") as caught:
        read_build(tmp_path, "demo", "b")
    assert str(tmp_path) in str(caught.value)
    assert caught.value.exit_code == 2
    with pytest.raises(GitError, match="not a git repository"):
        read_build(tmp_path / "missing", "demo", "b")


def test_unknown_refs(history: tuple[Repo, dict[str, str]]) -> None:
    r, _ = history
    with pytest.raises(GitError, match=r"unknown revision 'nope'") as caught:
        read_build(r.path, "demo", "b", commit="nope")
    assert str(r.path) in str(caught.value)
    with pytest.raises(GitError, match=r"unknown revision 'origin/main'"):
        read_build(r.path, "demo", "b", base="origin/main")
    with pytest.raises(GitError, match=r"'--output=x' is not a git revision"):
        read_build(r.path, "demo", "b", commit="--output=x")


def test_empty_repository(repo: Repo) -> None:
    with pytest.raises(GitError, match=r"unknown revision 'HEAD'"):
        read_build(repo.path, "demo", "b")


def test_unrelated_histories(history: tuple[Repo, dict[str, str]]) -> None:
    r, _ = history
    r.git("checkout", "-q", "--orphan", "other")
    r.write("other.txt", "x\n")
    r.commit("unrelated")
    with pytest.raises(GitError, match=r"'main' and [0-9a-f]{40} have no merge base"):
        read_build(r.path, "demo", "b", base="main")


def test_git_not_installed(
    history: tuple[Repo, dict[str, str]], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    r, _ = history
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    with pytest.raises(GitError, match=r"git is not installed, cannot read 'HEAD'"):
        read_build(r.path, "demo", "b")


@pytest.fixture
def three_commits(tmp_path: Path) -> tuple[Repo, list[str]]:
    r = Repo(tmp_path / "origin")
    shas = []
    for n in range(1, 4):
        r.write(f"f{n}.txt", f"{n}\n")
        shas.append(r.commit(f"commit {n}"))
    return r, shas


def shallow_clone(origin: Repo, depth: int) -> Path:
    clone = origin.path.parent / f"clone-depth-{depth}"
    # Depth applies only to a transport: a plain local path would copy the whole history.
    subprocess.run(
        ["git", "clone", "-q", f"--depth={depth}", origin.path.as_uri(), str(clone)],
        check=True,
        capture_output=True,
    )
    return clone


def test_shallow_clone_without_the_parent_records_no_changes_and_warns_once(
    three_commits: tuple[Repo, list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    origin, shas = three_commits
    build, commits = read_build(shallow_clone(origin, depth=1), "demo", "b1")
    assert (build.commit_sha, build.base_sha) == (shas[2], shas[1])
    assert build.changed_files == ()
    assert build.commits == (shas[2],)
    [commit] = commits
    assert (commit.parents, commit.changed_files, commit.message) == ((shas[1],), (), "commit 3")
    [warning] = capsys.readouterr().err.splitlines()
    assert warning.startswith("pts: warning: ")
    assert "shallow clone without the parent" in warning
    assert "git fetch --deepen=1" in warning and "fetch-depth: 2" in warning


def test_shallow_clone_with_the_parent_computes_changes(
    three_commits: tuple[Repo, list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    origin, shas = three_commits
    build, commits = read_build(shallow_clone(origin, depth=2), "demo", "b1")
    assert (build.base_sha, build.changed_files) == (shas[1], files(("f3.txt", 1, 0)))
    assert commits[0].changed_files == build.changed_files
    assert capsys.readouterr().err == ""


def test_deepening_a_shallow_clone_as_the_warning_says_gives_the_changes(
    three_commits: tuple[Repo, list[str]],
) -> None:
    origin, _ = three_commits
    clone = shallow_clone(origin, depth=1)
    subprocess.run(["git", "-C", str(clone), "fetch", "-q", "--deepen=1"], check=True)
    build, _ = read_build(clone, "demo", "b1")
    assert build.changed_files == files(("f3.txt", 1, 0))


def test_root_commit_of_a_shallow_clone_still_changes_all_its_files(
    three_commits: tuple[Repo, list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    origin, shas = three_commits
    clone = shallow_clone(origin, depth=3)  # shallow, but holding the true root commit
    assert git_changes._is_shallow(clone, "HEAD")
    build, commits = read_build(clone, "demo", "b1", commit=shas[0])
    assert (build.base_sha, build.changed_files) == (None, files(("f1.txt", 1, 0)))
    assert commits[0].parents == ()
    assert capsys.readouterr().err == ""


def test_unknown_base_says_how_to_fetch_it(three_commits: tuple[Repo, list[str]]) -> None:
    origin, _ = three_commits
    with pytest.raises(GitError) as caught:
        read_build(origin.path, "demo", "b1", base="main-2")
    message = str(caught.value)
    assert "unknown revision 'main-2'" in message and "(git fetch origin main-2:main-2)" in message
    assert "shallow" not in message and "\n" not in message


def test_unknown_base_in_a_shallow_clone_names_the_remote_and_the_depth(
    three_commits: tuple[Repo, list[str]],
) -> None:
    origin, _ = three_commits
    clone = shallow_clone(origin, depth=1)
    subprocess.run(
        ["git", "-C", str(clone), "update-ref", "-d", "refs/remotes/origin/main"], check=True
    )
    with pytest.raises(GitError) as caught:
        read_build(clone, "demo", "b1", base="origin/main")
    message = str(caught.value)
    assert "unknown revision 'origin/main'" in message
    assert "(git fetch origin main:refs/remotes/origin/main)" in message
    assert "shallow clone" in message and "fetch-depth: 0" in message
    assert "\n" not in message


def test_no_merge_base_in_a_shallow_clone_mentions_the_depth(
    three_commits: tuple[Repo, list[str]],
) -> None:
    origin, _ = three_commits
    origin.git("checkout", "-q", "-b", "feature", "HEAD~2")
    origin.write("feature.txt", "x\n")
    origin.commit("feature")
    clone = origin.path.parent / "clone-feature"
    subprocess.run(
        ["git", "clone", "-q", "--depth=1", "--no-single-branch", origin.path.as_uri(), str(clone)],
        check=True,
        capture_output=True,
    )
    with pytest.raises(GitError, match=r"have no merge base; this is a shallow clone"):
        read_build(clone, "demo", "b1", commit="origin/feature", base="origin/main")


def test_record_build_in_a_shallow_clone_from_the_command_line(
    three_commits: tuple[Repo, list[str]],
) -> None:
    origin, shas = three_commits
    clone = shallow_clone(origin, depth=1)
    done = subprocess.run(
        [sys.executable, "-m", "pts.cli", "record", "build", "--dry-run", "-p", "demo"]
        + ["-b", "b1", "--repo", str(clone), "--commit", shas[2]],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    events = {e["kind"]: e for e in map(json.loads, done.stdout.splitlines())}
    assert events["build"]["changed_files"] == [] and events["build"]["base_sha"] == shas[1]
    assert events["commit"]["parents"] == [shas[1]]
    [warning] = done.stderr.splitlines()
    assert warning.startswith("pts: warning: ") and "shallow clone" in warning
