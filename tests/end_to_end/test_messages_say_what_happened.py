"""Messages that say what happened and what to do, from the real command line beside a real
worker: a mistyped query, a saved query with no rows, `pts loader` beside a worker that loads
the history itself, and a build id recorded again with another commit."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import RunningWorker, free_port, run_pts, wait_until

pytestmark = pytest.mark.integration


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)
    return done.stdout.decode().strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    git(tmp_path, "init", "-q")
    git(tmp_path, "config", "user.email", "ci@example.com")
    git(tmp_path, "config", "user.name", "CI")
    for number in (1, 2):
        (tmp_path / "app.py").write_text(f"VERSION = {number}\n")
        git(tmp_path, "add", "app.py")
        git(tmp_path, "commit", "-q", "-m", f"version {number}")
    return tmp_path


def test_a_mistyped_select_is_a_syntax_error(pts_worker: RunningWorker) -> None:
    done = run_pts(pts_worker.env, "query", "SELEC build_id FROM builds")
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "pts: error: query rejected: syntax error: no SQL statement starts with 'SELEC' "
        "(did you mean SELECT?)"
    )


def test_a_query_clickhouse_cannot_parse_is_the_query_s_mistake(
    pts_worker: RunningWorker,
) -> None:
    done = run_pts(pts_worker.env, "query", "SELECT build_id FRM builds")
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("pts: error: query rejected: ClickHouse cannot run it: ")
    assert "Syntax error" in done.stderr and len(done.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("args", "sentence"),
    [
        (
            ("flaky-tests", "-p", "nobody"),
            "pts: no rows: the saved query flaky-tests found nothing for project nobody.",
        ),
        (
            ("time-saved",),
            "pts: no rows: the saved query time-saved found nothing in the history of any project.",
        ),
        (
            ("SELECT build_id FROM builds WHERE project = 'nobody'",),
            "pts: no rows: the query matched nothing in the history.",
        ),
    ],
)
def test_a_query_with_no_rows_says_so(
    pts_worker: RunningWorker, args: tuple[str, ...], sentence: str
) -> None:
    done = run_pts(pts_worker.env, "query", *args)
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""  # stdout stays JSON lines only
    assert done.stderr.strip() == sentence


def test_the_loader_beside_a_worker_that_loads_history_says_what_to_do(
    pts_worker: RunningWorker,
) -> None:
    env = {**pts_worker.env, "PTS_LOADER_HTTP_PORT": str(free_port())}
    done = run_pts(env, "loader", timeout=60)
    assert done.returncode == 2
    [line] = done.stderr.strip().splitlines()  # chdb's own error never shows
    assert line.startswith(f"pts: error: `pts worker` {env['PTS_WORKER_ID']} (process ")
    assert f"loads the history into {Path(env['PTS_DATA_DIR']) / 'chdb'} itself" in line
    assert "`pts worker --no-history` and then start `pts loader`" in line
    assert pts_worker.get("/health")["history"]["state"] == "running"  # untouched


def test_a_build_recorded_again_with_another_commit_is_refused(
    pts_worker: RunningWorker, repo: Path
) -> None:
    env, first, second = (
        pts_worker.env,
        git(repo, "rev-parse", "HEAD~1"),
        git(repo, "rev-parse", "HEAD"),
    )
    recorded = run_pts(
        env, "record", "build", "-p", "again", "-b", "7", "--commit", first, cwd=repo
    )
    assert recorded.returncode == 0, recorded.stderr
    assert recorded.stderr.strip().endswith(f"at commit {first[:12]}")
    in_history = "SELECT commit_sha FROM builds WHERE project = 'again' AND build_id = '7'"
    assert wait_until(lambda: first in run_pts(env, "query", in_history).stdout)

    again = run_pts(env, "record", "build", "-p", "again", "-b", "7", "--commit", second, cwd=repo)
    assert again.returncode == 2
    assert again.stderr.strip() == (
        f"pts: error: build 7 of again was recorded before with commit {first[:12]}, and the "
        f"worker keeps that first record: not recording commit {second[:12]}; give this build "
        "its own --build id"
    )
    same = run_pts(env, "record", "build", "-p", "again", "-b", "7", "--commit", first, cwd=repo)
    assert same.returncode == 0, same.stderr  # the same commit again: recorded, learned once
    assert run_pts(env, "query", in_history).stdout.count("commit_sha") == 1
    assert second not in run_pts(env, "query", in_history).stdout


def test_query_rows_as_json_lines_csv_or_a_table(pts_worker: RunningWorker, repo: Path) -> None:
    env = pts_worker.env
    for build in ("f1", "f2"):
        done = run_pts(env, "record", "build", "-p", "formats", "-b", build, "--repo", str(repo))
        assert done.returncode == 0, done.stderr
    sql = "SELECT build_id, 7 AS seven FROM pts.builds WHERE project = 'formats' ORDER BY build_id"

    def as_json() -> list[str]:
        return run_pts(env, "query", sql).stdout.splitlines()

    assert wait_until(lambda: len(as_json()) == 2, 60), as_json()
    # Not on a terminal, JSON lines by default; --format json says the same.
    assert [json.loads(line) for line in as_json()] == [
        {"build_id": "f1", "seven": 7},
        {"build_id": "f2", "seven": 7},
    ]
    assert run_pts(env, "query", sql, "--format", "json").stdout.splitlines() == as_json()
    assert run_pts(env, "query", sql, "--format", "csv").stdout.splitlines() == [
        "build_id,seven",
        "f1,7",
        "f2,7",
    ]
    assert run_pts(env, "query", sql, "--format", "table").stdout.splitlines() == [
        "build_id  seven",
        "--------  -----",
        "f1            7",
        "f2            7",
    ]
    wrong = run_pts(env, "query", sql, "--format", "yaml")
    assert wrong.returncode == 2
    assert wrong.stderr.strip() == (
        "pts: error: --format must be one of json, csv, table, not 'yaml'"
    )
