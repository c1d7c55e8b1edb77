"""`pts record tests --runner` and `pts subset --runner` through the real command line, with
no broker: dry runs, and the run-everything answer, in each runner's form."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from tests.conftest import run_pts

RUNS = Path(__file__).resolve().parent.parent / "fixtures" / "runners"


def no_broker_env(unreachable: str, tmp_path: Path) -> dict[str, str]:
    import os

    return {
        **os.environ,
        "PTS_KAFKA_BOOTSTRAP": unreachable,
        "PTS_SUBSET_TIMEOUT_S": "1",
        "PTS_DATA_DIR": str(tmp_path / "data"),
    }


def test_record_go_test_json_dry_run(unreachable_bootstrap: str, tmp_path: Path) -> None:
    env = no_broker_env(unreachable_bootstrap, tmp_path)
    result = run_pts(
        env,
        "record",
        "tests",
        "-p",
        "p",
        "-b",
        "1",
        "--runner",
        "go",
        "--dry-run",
        str(RUNS / "go"),
    )
    assert result.returncode == 0, result.stderr
    results = [json.loads(line) for line in result.stdout.splitlines()]
    # the directory's .xml reports (three) and go-test.json (one): ten cases each; and those
    # of the sample that does not build, under broken/
    sample = Counter(r["report"] for r in results if "/broken/" not in r["report"])
    assert len(sample) == 4 and set(sample.values()) == {10}
    assert {r["report"].rpartition("/")[2] for r in results if "/broken/" in r["report"]} == {
        "go-test.json",
        "go-junit-report-v1.xml",
        "go-junit-report-v2.xml",
    }
    assert {r["test_id"] for r in results} >= {"example.com/sample/calc::TestDiv"}


def test_subset_reads_pytest_collect_only_and_prints_node_ids(
    unreachable_bootstrap: str, tmp_path: Path
) -> None:
    env = no_broker_env(unreachable_bootstrap, tmp_path)
    listing = (RUNS / "pytest/collect-only-q.txt").read_text()
    result = run_pts(
        env, "subset", "-p", "p", "-b", "1", "--target", "20%", "--runner", "pytest", stdin=listing
    )
    assert result.returncode == 0
    assert result.stdout.splitlines() == [line for line in listing.splitlines() if "::" in line]
    assert "candidate line" not in result.stderr  # the summary line is no candidate


def test_lines_that_are_no_test_id_are_warned_of_once(
    unreachable_bootstrap: str, tmp_path: Path
) -> None:
    env = no_broker_env(unreachable_bootstrap, tmp_path)
    listing = "tests.test_ops::test_sub\nWARNING: something\nTestAdd\nok  \tex.com/m\t0.1s\n"
    result = run_pts(
        env, "subset", "-p", "p", "-b", "1", "--target", "20%", "--runner", "go", stdin=listing
    )
    assert result.returncode == 0
    assert result.stdout.strip() == "-run=^(TestAdd)$ ex.com/m"
    warnings = [line for line in result.stderr.splitlines() if "candidate line" in line]
    assert len(warnings) == 1
    assert "'tests.test_ops::test_sub'" in warnings[0] and "go test -list" in warnings[0]


def test_an_unknown_runner_is_a_usage_error(unreachable_bootstrap: str, tmp_path: Path) -> None:
    env = no_broker_env(unreachable_bootstrap, tmp_path)
    result = run_pts(env, "subset", "-p", "p", "-b", "1", "--target", "20%", "--runner", "x")
    assert result.returncode == 2
    assert "--runner must be one of" in result.stderr
