"""Commands print sentences for people; JSON log lines only when asked (`--log-format json`,
PTS_LOG_FORMAT). Each command runs for real (`run_pts`) on the session broker, at log level
info, so that every line that used to slip out (`events_published`, `topic_created`,
`replay_progress`, `subset_fallback_to_all`, `evaluation_done`) would."""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.conftest import run_pts

pytestmark = pytest.mark.integration

REPORT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" tests="2">
<testcase classname="tests.test_calc" name="test_add" time="0.50"/>
<testcase classname="tests.test_calc" name="test_mul" time="2.00"/>
</testsuite></testsuites>
"""


def json_objects(text: str) -> list[dict]:
    """The lines of `text` that parse as a JSON object."""
    found = []
    for line in text.splitlines():
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            found.append(value)
    return found


def assert_no_json(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, result.stderr
    assert json_objects(result.stdout) == [], result.stdout
    assert json_objects(result.stderr) == [], result.stderr


def events(result: subprocess.CompletedProcess[str]) -> list[str]:
    """The events of the JSON log lines on stderr, each checked to name its event first."""
    assert result.returncode == 0, result.stderr
    logged = json_objects(result.stderr)
    assert all(next(iter(line)) == "event" for line in logged), result.stderr
    return [line["event"] for line in logged]


@pytest.fixture
def env(pts_env: dict[str, str]) -> dict[str, str]:
    """The session broker, topics of this test's own, logs at info."""
    return {**pts_env, "PTS_LOG_LEVEL": "info", "PTS_TOPIC_PREFIX": f"human-{uuid.uuid4().hex[:8]}"}


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    (repo / "src").mkdir(parents=True)
    for args in (("init", "-q"), ("config", "user.email", "ci@example.com"),
                 ("config", "user.name", "CI")):  # fmt: skip
        subprocess.run(["git", "-C", str(repo), *args], check=True)
    (repo / "src" / "calc.py").write_text("def add(a, b):\n    return a + b\n")
    subprocess.run(["git", "-C", str(repo), "add", "."], check=True)
    subprocess.run(["git", "-C", str(repo), "commit", "-q", "-m", "calc"], check=True)
    return repo


def test_topics_says_what_it_created_in_one_sentence(env: dict[str, str]) -> None:
    created = run_pts(env, "topics")
    assert_no_json(created)
    assert created.stdout.startswith("created ") and created.stdout.count("\n") == 1
    again = run_pts({**env, "PTS_TOPIC_PREFIX": env["PTS_TOPIC_PREFIX"] + "-json"},
                    "--log-format", "json", "topics")  # fmt: skip
    assert "topic_created" in events(again)


def test_record_build_and_tests_print_sentences_only(
    env: dict[str, str], repo: Path, tmp_path: Path
) -> None:
    assert run_pts(env, "topics").returncode == 0
    build = run_pts(env, "record", "build", "-p", "shop", "-b", "b1", "--repo", str(repo))
    assert_no_json(build)
    head = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True,
                          text=True, check=True).stdout.strip()  # fmt: skip
    assert build.stderr == (
        f"recorded build b1 of shop: 1 changed file in 1 commit, at commit {head[:12]}\n"
    )
    report = tmp_path / "report.xml"
    report.write_text(REPORT)
    tests = run_pts(env, "record", "tests", "-p", "shop", "-b", "b1", str(report))
    assert_no_json(tests)
    assert tests.stderr == "recorded 2 test results of build b1 from 1 report\n"

    # Asked for, through the global option or the variable, the log lines are there.
    logged = run_pts(env, "--log-format", "json", "record", "tests", "-p", "shop", "-b", "b1",
                     str(report))  # fmt: skip
    assert "events_published" in events(logged)
    logged = run_pts({**env, "PTS_LOG_FORMAT": "json"}, "record", "build", "-p", "shop",
                     "-b", "b1", "--repo", str(repo))  # fmt: skip
    assert "events_published" in events(logged)


def test_replay_prints_its_closing_sentence_only(env: dict[str, str]) -> None:
    assert run_pts(env, "topics").returncode == 0
    replayed = run_pts(env, "replay", "synthetic", "--limit", "3", "--project", "replayed")
    assert_no_json(replayed)
    assert replayed.stderr == "replayed 3 cycles of synthetic-0 into project replayed\n"
    logged = run_pts(env, "--log-format", "json", "replay", "synthetic", "--limit", "3")
    assert "replay_progress" in events(logged)


def test_subset_fallback_is_one_warning_sentence(
    env: dict[str, str], unreachable_bootstrap: str
) -> None:
    down = {**env, "PTS_KAFKA_BOOTSTRAP": unreachable_bootstrap, "PTS_SUBSET_TIMEOUT_S": "2"}
    asked = ["subset", "-p", "shop", "-b", "b9", "--target", "20%"]
    fallback = run_pts(down, *asked, stdin="a\nb\n")
    assert_no_json(fallback)
    assert fallback.stdout == "a\nb\n"
    [warning] = fallback.stderr.splitlines()
    assert warning.startswith("pts: warning: ") and warning.endswith("; running all 2 tests")
    logged = run_pts(down, "--log-format", "json", *asked, stdin="a\nb\n")
    assert "subset_fallback_to_all" in events(logged)
    assert run_pts(down, "--log-format", "off", *asked, stdin="a\n").stderr.startswith(
        "pts: warning: "
    )  # the sentence is no log line: `off` keeps it


def test_eval_prints_its_report_and_no_log_line(env: dict[str, str], tmp_path: Path) -> None:
    asked = ["eval", "synthetic", "--limit", "20", "-r", "random", "--out", str(tmp_path)]
    evaluated = run_pts(env, *asked)
    assert_no_json(evaluated)
    assert "random" in evaluated.stdout
    logged = run_pts(env, "--log-format", "json", *asked)
    assert "evaluation_done" in events(logged)


def test_an_unknown_log_format_is_refused(env: dict[str, str]) -> None:
    refused = run_pts(env, "--log-format", "xml", "topics")
    assert refused.returncode == 2
    assert "--log-format" in refused.stderr
    refused = run_pts({**env, "PTS_LOG_FORMAT": "xml"}, "topics")
    assert refused.returncode == 2
    assert refused.stderr.startswith("pts: error: invalid settings: PTS_LOG_FORMAT: ")
