"""A cluster that requires SASL: PTS_KAFKA_CONFIG reaches every client, the confluent-kafka
ones (`pts record`, `pts subset`, the history loader) and faust's aiokafka client in the
worker, and refused credentials are named as the cause."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import RunningWorker, free_port, run_pts, running_broker, running_worker

pytestmark = pytest.mark.integration

USER, PASSWORD = "ci", "ci-secret"
REPORT = """<testsuite name="tests.test_sasl" tests="2" failures="1">
<testcase classname="tests.test_sasl" name="test_login" time="0.2"><failure>no</failure></testcase>
<testcase classname="tests.test_sasl" name="test_logout" time="0.1"/>
</testsuite>
"""


def sasl_config(password: str) -> str:
    return json.dumps(
        {
            "security.protocol": "SASL_PLAINTEXT",
            "sasl.mechanism": "PLAIN",
            "sasl.username": USER,
            "sasl.password": password,
        }
    )


@pytest.fixture(scope="module")
def sasl_env(
    pts_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, str]]:
    broker_dir = tmp_path_factory.mktemp("sasl-broker")
    with running_broker(broker_dir, PTS_BROKER_SASL_USERS=f"{USER}:{PASSWORD}") as bootstrap:
        yield {
            **pts_env,
            "PTS_KAFKA_BOOTSTRAP": bootstrap,
            "PTS_KAFKA_CONFIG": sasl_config(PASSWORD),
        }


@pytest.fixture(scope="module")
def sasl_worker(sasl_env: dict[str, str]) -> Iterator[RunningWorker]:
    with running_worker(sasl_env, "sasl-worker.log") as worker:
        yield worker


def test_worker_learns_and_answers_over_sasl(sasl_worker: RunningWorker, tmp_path: Path) -> None:
    env = sasl_worker.env
    report = tmp_path / "report.xml"
    report.write_text(REPORT)
    recorded = run_pts(env, "record", "tests", "-p", "secure", "-b", "1", str(report))
    assert recorded.returncode == 0, recorded.stderr

    answer = run_pts(
        env,
        "subset",
        "-p",
        "secure",
        "-b",
        "2",
        "--target",
        "50%c",
        stdin="tests.test_sasl::test_logout\ntests.test_sasl::test_login\n",
    )
    assert answer.returncode == 0, answer.stderr
    assert answer.stdout.split()[0] == "tests.test_sasl::test_login"  # it failed last time
    assert "(ranker learned@2)" in answer.stderr  # answered by the worker, after learning both
    assert sasl_worker.get("/health")["projects"]["secure"]["results_learned"] == 2


@pytest.fixture(scope="module")
def wrong_password_env(
    sasl_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    """The SASL cluster with a wrong password, short timeouts, and ports of its own (the
    module's worker holds the others)."""
    return {
        **sasl_env,
        "PTS_KAFKA_CONFIG": sasl_config("wrong"),
        "PTS_RECORD_TIMEOUT_S": "3",
        "PTS_SUBSET_TIMEOUT_S": "3",
        "PTS_WORKER_HTTP_PORT": str(free_port()),
        "PTS_LOADER_HTTP_PORT": str(free_port()),
        "PTS_DATA_DIR": str(tmp_path_factory.mktemp("wrong-password-data")),
    }


@pytest.mark.parametrize(
    "command",
    [
        "topics",
        "record tests -p secure -b 3 {tmp}/report.xml",
        "dead-letters",
        "replay synthetic:1 --limit 2 --project secure",
        "status",
        "loader",
        "worker",
        "eval synthetic:1 --through-broker -r random --limit 3 --out {tmp}",
    ],
    ids=lambda command: command.split()[0],
)
def test_refused_credentials_are_named_by_every_command(
    wrong_password_env: dict[str, str], tmp_path: Path, command: str
) -> None:
    (tmp_path / "report.xml").write_text(REPORT)
    done = run_pts(wrong_password_env, *command.format(tmp=tmp_path).split(), timeout=60)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 3, done.stderr
    assert len(lines) == 1, done.stderr  # one line, no traceback
    assert lines[0].startswith("pts: error: "), done.stderr
    assert "refused the credentials in PTS_KAFKA_CONFIG" in lines[0]
    assert "Invalid username or password" in lines[0]  # librdkafka's reason


def test_refused_credentials_are_named_and_nothing_blocks(
    wrong_password_env: dict[str, str],
) -> None:
    env = wrong_password_env
    answer = run_pts(env, "subset", "-p", "secure", "-b", "3", "--target", "10%", stdin="a\nb\n")
    assert answer.returncode == 0
    assert answer.stdout.split() == ["a", "b"]  # the whole list: a build is never blocked
    assert "refused the credentials in PTS_KAFKA_CONFIG" in answer.stderr
    assert "Traceback" not in answer.stderr


def test_worker_refuses_a_mechanism_its_client_cannot_use(sasl_env: dict[str, str]) -> None:
    config = {**json.loads(sasl_config(PASSWORD)), "sasl.mechanism": "GSSAPI"}
    started = run_pts({**sasl_env, "PTS_KAFKA_CONFIG": json.dumps(config)}, "worker", timeout=60)
    assert started.returncode == 2
    assert "sasl.mechanism='GSSAPI' is not supported by the stream worker" in started.stderr


def test_sasl_settings_against_a_plaintext_listener_say_so(
    pts_env: dict[str, str], tmp_path: Path
) -> None:
    env = {**pts_env, "PTS_KAFKA_CONFIG": sasl_config(PASSWORD), "PTS_RECORD_TIMEOUT_S": "3"}
    report = tmp_path / "report.xml"
    report.write_text(REPORT)
    recorded = run_pts(env, "record", "tests", "-p", "secure", "-b", "4", str(report))
    assert recorded.returncode == 3
    assert "does not offer SASL on this listener" in recorded.stderr
