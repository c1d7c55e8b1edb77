"""`pts record build`, `pts record tests` and `pts subset` over HTTP (PTS_URL, PTS_TOKEN) to a
real `pts gateway` in front of a real broker and worker, with no other PTS_* setting than a
PTS_KAFKA_BOOTSTRAP where no broker listens.

What it proves: the CI side needs no Kafka; the worker learns the same results as from the
same commands through Kafka, and answers the same subset; a wrong token, a token of another
project or no gateway end as a Kafka outage does (`pts record` fails with one line, `pts
subset` runs every test unless --fallback fail).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from pts.client.junit_reports import parse_report
from tests.conftest import (
    FIXTURES_JUNIT,
    RunningWorker,
    free_port,
    run_pts,
    run_pytest,
    running_worker,
    wait_until,
)
from tests.end_to_end.test_launchable_cli import git, ok, running_gateway

pytestmark = pytest.mark.integration

OVER_HTTP, THROUGH_KAFKA = "over-http", "through-kafka"
REPORT = FIXTURES_JUNIT / "pytest.xml"
RESULTS = parse_report(REPORT)
CANDIDATES = "\n".join([*(r.test_id for r in RESULTS), "tests.test_new::test_new"]) + "\n"


@dataclass
class Stack:
    env: dict[str, str]  # the broker's, for the worker, the gateway and `pts record` via Kafka
    worker: RunningWorker
    url: str
    token: str
    repo: Path
    client_dir: Path

    def over_http(
        self, *args: str, url: str = "", token: str = "", stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """`pts` with PTS_URL and PTS_TOKEN and no Kafka: a CI job's settings."""
        env = {key: value for key, value in os.environ.items() if not key.startswith("PTS_")}
        env |= {
            "PTS_URL": url or self.url,
            "PTS_TOKEN": token or self.token,
            "PTS_KAFKA_BOOTSTRAP": f"127.0.0.1:{free_port()}",  # nothing listens there
            "PTS_DATA_DIR": str(self.client_dir),
            "PTS_RECORD_TIMEOUT_S": "3",
            "PTS_SUBSET_TIMEOUT_S": "20",
            "PTS_LOG_LEVEL": "warning",
        }
        return run_pts(env, *args, stdin=stdin)

    def learned(self, project: str) -> int:
        return self.worker.get("/health")["projects"].get(project, {}).get("results_learned", -1)


@pytest.fixture(scope="module")
def stack(pts_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    env = {**pts_env, "PTS_GATEWAY_PORT": str(free_port())}
    ok(run_pts(env, "topics"))
    repo = tmp_path_factory.mktemp("ci-repo")
    git(repo, "init", "-q")
    (repo / "calc.py").write_text("def add(a, b):\n    return a + b\n")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "root")
    (repo / "calc.py").write_text("def add(a, b):\n    return b + a\n")
    git(repo, "commit", "-qam", "the build's commit")
    log = Path(env["PTS_DATA_DIR"]) / "gateway.log"
    with running_worker(env) as worker, running_gateway(env, log) as url:
        token = ok(run_pts(env, "token", "create", "--project", OVER_HTTP)).stdout
        client_dir = tmp_path_factory.mktemp("ci-client")
        yield Stack(env, worker, url, token.strip().splitlines()[-1], repo, client_dir)


def one_line_error(result: subprocess.CompletedProcess[str], code: int) -> str:
    assert result.returncode == code, f"{result.args}:\n{result.stdout}\n{result.stderr}"
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("pts: error: ")
    return line


def test_record_and_subset_over_http_as_through_kafka(stack: Stack) -> None:
    repo = str(stack.repo)
    for build in ("b1", "b2"):
        ok(run_pts(stack.env, "record", "build", "-p", THROUGH_KAFKA, "-b", build, "--repo", repo))
        recorded = ok(stack.over_http("record", "build", "-p", OVER_HTTP, "-b", build,
                                      "--repo", repo))  # fmt: skip
        assert f"recorded build {build} of {OVER_HTTP}: 1 changed file" in recorded.stderr
        if build == "b1":
            ok(run_pts(stack.env, "record", "tests", "-p", THROUGH_KAFKA, "-b", "b1", str(REPORT)))
            recorded = ok(stack.over_http("record", "tests", "-p", OVER_HTTP, "-b", "b1",
                                          str(REPORT)))  # fmt: skip
            assert f"recorded {len(RESULTS)} test results of build b1" in recorded.stderr
    expected = sum(result.ran for result in RESULTS)
    for project in (THROUGH_KAFKA, OVER_HTTP):
        assert wait_until(lambda p=project: stack.learned(p) == expected, 90), project

    through_kafka = ok(run_pts(stack.env, "subset", "-p", THROUGH_KAFKA, "-b", "b2", "--target",
                               "50%", stdin=CANDIDATES))  # fmt: skip
    over_http = ok(stack.over_http("subset", "-p", OVER_HTTP, "-b", "b2", "--target", "50%",
                                   "--fallback", "fail", stdin=CANDIDATES))  # fmt: skip
    assert over_http.stdout.splitlines() == through_kafka.stdout.splitlines()
    assert 0 < len(over_http.stdout.splitlines()) < len(CANDIDATES.splitlines())
    assert "warning" not in over_http.stderr, over_http.stderr
    assert f"of {len(CANDIDATES.splitlines())} tests" in over_http.stderr
    assert f"@{expected})" in over_http.stderr  # the model of the results recorded over HTTP


def test_a_wrong_token_runs_every_test_and_fails_a_record(stack: Stack) -> None:
    org_project, _, secret = stack.token.rpartition(":")
    wrong = f"{org_project}:{secret[:-1]}{'A' if secret[-1] != 'A' else 'B'}"
    subset = ok(stack.over_http("subset", "-p", OVER_HTTP, "-b", "b1", "--target", "50%",
                                token=wrong, stdin=CANDIDATES))  # fmt: skip
    assert subset.stdout.splitlines() == CANDIDATES.splitlines()
    assert "unknown, wrong or revoked (HTTP 401); running all 8 tests" in subset.stderr
    record = stack.over_http("record", "build", "-p", OVER_HTTP, "-b", "w1", "--repo",
                             str(stack.repo), token=wrong)  # fmt: skip
    assert "refused the events: the token (PTS_TOKEN) is unknown" in one_line_error(record, 2)

    elsewhere = ok(run_pts(stack.env, "token", "create", "--project", "elsewhere")).stdout
    record = stack.over_http("record", "tests", "-p", OVER_HTTP, "-b", "w1", str(REPORT),
                             token=elsewhere.strip().splitlines()[-1])  # fmt: skip
    line = one_line_error(record, 2)
    assert "the token is of project elsewhere, not over-http (the results of build w1 from" in line


def test_no_gateway_is_a_kafka_outage(stack: Stack) -> None:
    down = f"http://127.0.0.1:{free_port()}"
    record = stack.over_http("record", "build", "-p", OVER_HTTP, "-b", "d1", "--repo",
                             str(stack.repo), url=down)  # fmt: skip
    assert f"no gateway answers at {down} (PTS_URL)" in one_line_error(record, 3)
    subset = ok(stack.over_http("subset", "-p", OVER_HTTP, "-b", "d1", "--target", "50%",
                                url=down, stdin=CANDIDATES))  # fmt: skip
    assert subset.stdout.splitlines() == CANDIDATES.splitlines()
    assert "no gateway answers" in subset.stderr and "running all 8 tests" in subset.stderr
    failed = stack.over_http("subset", "-p", OVER_HTTP, "-b", "d1", "--target", "50%",
                             "--fallback", "fail", url=down, stdin=CANDIDATES)  # fmt: skip
    assert failed.returncode == 1 and "no gateway answers" in failed.stderr


def test_the_pytest_plugin_records_its_build_through_the_gateway(
    stack: Stack, tmp_path: Path
) -> None:
    project = tmp_path / "plugged"
    git(project.parent, "init", "-q", project.name)
    (project / "pytest.ini").write_text("[pytest]\naddopts = -p no:cacheprovider\n")
    (project / "test_calc.py").write_text("def test_add():\n    assert 1 + 1 == 2\n")
    git(project, "add", ".")
    git(project, "commit", "-q", "-m", "root")
    (project / "calc.py").write_text("def add(a, b):\n    return a + b\n")
    git(project, "add", ".")
    git(project, "commit", "-q", "-m", "the build's commit")
    env = {key: value for key, value in os.environ.items() if not key.startswith("PTS_")}
    env |= {"PTS_URL": stack.url, "PTS_TOKEN": stack.token, "PTS_RECORD_TIMEOUT_S": "3",
            "PTS_KAFKA_BOOTSTRAP": f"127.0.0.1:{free_port()}"}  # fmt: skip
    result = run_pytest(project, env, "--pts-project", OVER_HTTP, "--pts-build", "plugin-1",
                        "--pts-target", "100%")  # fmt: skip
    assert "pts: recorded build plugin-1 at " in result.stdout, result.stdout
    assert "pts: recorded 1 test result of build plugin-1" in result.stdout
    sql = (
        "SELECT changed_files FROM pts.builds FINAL "
        f"WHERE project = '{OVER_HTTP}' AND build_id = 'plugin-1'"
    )
    assert wait_until(lambda: "calc.py" in ok(run_pts(stack.env, "query", sql)).stdout, 90)
