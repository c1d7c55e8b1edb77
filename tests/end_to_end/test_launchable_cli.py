"""The unmodified Launchable CLI (1.125.3, from PyPI, in `.venv-launchable` as ops/install.sh
makes it) against a real broker, worker and `pts gateway`: verify, record build, session and
tests (pytest, maven, go-test), subset by --target, --time and --confidence with --rest,
split-subset and inspect subset.

What it proves: the results recorded through the gateway are learned as the same reports
recorded with `pts record tests --runner` (the same count), and the subsets the CLI prints are
the ones `pts subset` prints for the same history and build; go-test results and candidates,
which the CLI names by the package's last path element, get the ids pts records once the
worker has seen the project's packages.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from pts.client.junit_reports import parse_report
from pts.client.runners import runner
from pts.core import wire
from pts.core.events import Build
from tests.conftest import REPO, RunningWorker, free_port, run_pts, running_worker, wait_until

pytestmark = pytest.mark.integration

LAUNCHABLE = REPO / ".venv-launchable" / "bin" / "launchable"
SAMPLES = REPO / "tests" / "fixtures" / "runners"
REPORTS = {  # Launchable profile: (pts runner, the fixture reports)
    "pytest": ("pytest", [SAMPLES / "pytest" / "pytest-xunit2.xml"]),
    "maven": ("maven", sorted((SAMPLES / "maven" / "surefire-reports").glob("*.xml"))),
    "go-test": ("go", [SAMPLES / "go" / "go-junit-report-v1.xml"]),
}
LISTING = (SAMPLES / "pytest" / "collect-only-q.txt").read_text()
FLAVOR = "os=linux"


@dataclass
class Stack:
    env: dict[str, str]
    worker: RunningWorker
    gateway_url: str
    token: str
    repo: Path  # a git repository whose HEAD changes nothing (both ways record no change)
    sha: str

    def launchable(
        self,
        *args: str,
        token: str | None = None,
        stdin: str | None = None,
        cwd: Path | None = None,
    ) -> subprocess.CompletedProcess[str]:
        env = {key: value for key, value in os.environ.items() if not key.startswith("LAUNCHABLE_")}
        env |= {
            "LAUNCHABLE_BASE_URL": self.gateway_url,
            "LAUNCHABLE_TOKEN": token or self.token,
            "LAUNCHABLE_SKIP_TIMEOUT_RETRY": "1",
        }
        return subprocess.run(
            [str(LAUNCHABLE), *args], cwd=cwd or self.repo, env=env, input=stdin,
            capture_output=True, text=True, timeout=240, check=False,
        )  # fmt: skip

    def learned(self, project: str) -> int:
        return self.worker.get("/health")["projects"].get(project, {}).get("results_learned", -1)


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, f"{result.args}:\n{result.stdout}\n{result.stderr}"
    return result


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.email=ci@example.com", "-c", "user.name=ci", *args],
        cwd=repo, capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip


@contextmanager
def running_gateway(env: dict[str, str], log: Path, scheme: str = "http") -> Iterator[str]:
    """`pts gateway` as a real process with `env`; yields its URL once it answers."""
    port = env["PTS_GATEWAY_PORT"]
    with log.open("ab") as out:
        gateway = subprocess.Popen(
            [sys.executable, "-m", "pts.cli", "gateway"], env=env, stdout=out, stderr=out
        )
    try:
        if scheme == "http":
            health = f"http://127.0.0.1:{port}/health"
            assert wait_until(lambda: _answers(health), 90), log.read_text()
        yield f"{scheme}://127.0.0.1:{port}"
    finally:
        gateway.terminate()
        gateway.wait(timeout=30)


@pytest.fixture(scope="module")
def stack(pts_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    assert LAUNCHABLE.exists(), f"no Launchable CLI at {LAUNCHABLE}: run ops/install.sh"
    env = {**pts_env, "PTS_GATEWAY_PORT": str(free_port())}
    ok(run_pts(env, "topics"))
    repo = tmp_path_factory.mktemp("ci-repo")
    git(repo, "init", "-q")
    git(repo, "commit", "-q", "--allow-empty", "-m", "root")
    git(repo, "commit", "-q", "--allow-empty", "-m", "the build's commit: no change")
    log = Path(env["PTS_DATA_DIR"]) / "gateway.log"
    with running_worker(env) as worker, running_gateway(env, log) as url:
        token = ok(run_pts(env, "token", "create", "--project", "lc-cli")).stdout
        sha = git(repo, "rev-parse", "HEAD")
        yield Stack(env, worker, url, token.strip().splitlines()[-1], repo, sha)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return answer.status == 200
    except (urllib.error.URLError, ConnectionError):
        return False


def test_verify_passes_with_the_token_and_fails_without_a_good_one(stack: Stack) -> None:
    assert "successfully verified" in ok(stack.launchable("verify")).stdout
    org_ws, _, secret = stack.token.rpartition(":")
    wrong_secret = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    for bad in (f"{org_ws}:{wrong_secret}", f"{org_ws}:0123456789abcdef.guess", "v1:pts/other:x"):
        refused = stack.launchable("verify", token=bad)
        assert refused.returncode != 0, refused.stdout
        assert "Authentication failed" in refused.stderr + refused.stdout


def test_a_revoked_token_is_refused(stack: Stack) -> None:
    created = ok(run_pts(stack.env, "token", "create", "--project", "lc-revoked"))
    token = created.stdout.strip().splitlines()[-1]
    token_id = token.rpartition(":")[2].partition(".")[0]
    ok(stack.launchable("verify", token=token))
    listed = ok(run_pts(stack.env, "token", "list", "--project", "lc-revoked")).stdout
    assert f"{token_id}  lc-revoked" in listed and "active" in listed
    assert secret_of(token) not in listed
    ok(run_pts(stack.env, "token", "revoke", token_id))
    assert wait_until(lambda: stack.launchable("verify", token=token).returncode != 0, 60)
    assert "revoked" in ok(run_pts(stack.env, "token", "list", "-p", "lc-revoked")).stdout


def secret_of(token: str) -> str:
    return token.rpartition(".")[2]


def test_an_unknown_build_is_not_found(stack: Stack) -> None:
    session = stack.launchable("record", "session", "--build", "no-such-build")
    assert session.returncode == 1
    assert "no-such-build was not found" in session.stderr + session.stdout


def ran_results(pts_runner: str, reports: list[Path]) -> int:
    return sum(
        result.ran
        for report in reports
        for result in parse_report(report, runner=runner(pts_runner))
    )


def test_the_cli_records_and_subsets_as_pts_does(stack: Stack, tmp_path: Path) -> None:
    # The same reports, through the gateway (project lc-cli) and with `pts record` (lc-pts).
    ok(stack.launchable("record", "build", "--name", "b1", "--no-commit-collection",
                        "--commit", f".={stack.sha}"))  # fmt: skip
    session = ok(stack.launchable("record", "session", "--build", "b1", "--flavor", FLAVOR)).stdout
    assert session.startswith("builds/b1/test_sessions/")
    ok(run_pts(stack.env, "record", "build", "-p", "lc-pts", "-b", "b1", "--repo", str(stack.repo)))
    for profile, (pts_runner, reports) in REPORTS.items():
        # Fresh copies: the CLI skips reports older than the build.
        copies = tmp_path / profile
        copies.mkdir()
        for report in reports:
            shutil.copy(report, copies / report.name)
        recorded = ok(
            stack.launchable("record", "tests", "--session", session, profile, str(copies))
        )
        assert "recorded tests for build b1" in recorded.stdout
        ok(run_pts(stack.env, "record", "tests", "-p", "lc-pts", "-b", "b1", "--runner",
                   pts_runner, "--flavor", FLAVOR, str(copies)))  # fmt: skip
    expected = sum(ran_results(pts_runner, reports) for pts_runner, reports in REPORTS.values())
    assert wait_until(lambda: stack.learned("lc-pts") == expected, 90), stack.learned("lc-pts")
    assert wait_until(lambda: stack.learned("lc-cli") == expected, 90), stack.learned("lc-cli")
    # And the same rows in ClickHouse, outcome by outcome (go-test's ids differ: lc-cli never
    # saw its packages' import paths; test_go_tests_recorded_by_pts_and_by_the_cli_are_...).
    # The CLI sends a JUnit error as a failure (its status has no error): counted as one.
    rows = ("SELECT if(outcome = 'error', 'failed', outcome) AS o, count() AS n "
            "FROM pts.test_results WHERE project = '{}' GROUP BY o ORDER BY o")  # fmt: skip

    def stored(project: str) -> str:
        return ok(run_pts(stack.env, "query", rows.format(project))).stdout

    assert wait_until(lambda: stored("lc-cli") == stored("lc-pts") != "", 90), (
        stored("lc-cli"), stored("lc-pts"),
    )  # fmt: skip

    # The next build asks for subsets both ways: the same tests, in the same order.
    ok(stack.launchable("record", "build", "--name", "b2", "--no-commit-collection",
                        "--commit", f".={stack.sha}"))  # fmt: skip
    ok(run_pts(stack.env, "record", "build", "-p", "lc-pts", "-b", "b2", "--repo", str(stack.repo)))
    session = ok(stack.launchable("record", "session", "--build", "b2", "--flavor", FLAVOR)).stdout
    for launchable_goal, pts_target in (
        (["--target", "50%"], "50%"),
        (["--time", "1s"], "1s"),
        (["--confidence", "90%"], "90%c"),
    ):
        rest_cli, rest_pts = tmp_path / "rest-cli.txt", tmp_path / "rest-pts.txt"
        chosen = ok(stack.launchable("subset", "--session", session, *launchable_goal,
                                     "--rest", str(rest_cli), "pytest", stdin=LISTING))  # fmt: skip
        expected_subset = ok(run_pts(stack.env, "subset", "-p", "lc-pts", "-b", "b2", "--target",
                                     pts_target, "--runner", "pytest", "--flavor", FLAVOR,
                                     "--rest", str(rest_pts), stdin=LISTING))  # fmt: skip
        assert chosen.stdout.splitlines() == expected_subset.stdout.splitlines(), pts_target
        assert chosen.stdout.strip()
        assert rest_cli.read_text().split("\n") == rest_pts.read_text().rstrip("\n").split("\n")
        assert len(chosen.stdout.splitlines()) + len(rest_cli.read_text().splitlines()) == 9

    # --get-tests-from-previous-sessions: no candidates given; the workspace's recorded tests.
    previous = ok(stack.launchable("subset", "--session", session, "--target", "100%",
                                   "--get-tests-from-previous-sessions", "pytest"))  # fmt: skip
    recorded = {line for line in LISTING.splitlines() if "::" in line}
    assert recorded <= set(previous.stdout.splitlines()), previous.stdout
    known = ok(run_pts(stack.env, "subset", "-p", "lc-pts", "-b", "b2", "--target", "100%",
                       "--known-tests", "--runner", "pytest", "--flavor", FLAVOR))  # fmt: skip
    # The same tests but those the CLI cannot print as pytest's (the maven and go ones).
    printable = [line for line in known.stdout.splitlines() if ".py::" in line]
    assert sorted(previous.stdout.splitlines()) == sorted(printable)

    # Split across two shards, and inspected.
    split = ok(stack.launchable("subset", "--session", session, "--target", "50%", "--split",
                                "pytest", stdin=LISTING))  # fmt: skip
    subset_id = split.stdout.strip()
    assert subset_id.startswith("subset/")
    bins = [
        ok(
            stack.launchable("split-subset", "--subset-id", subset_id, "--bin", f"{i}/2", "pytest")
        ).stdout.split()
        for i in (1, 2)
    ]
    whole = ok(stack.launchable("subset", "--session", session, "--target", "50%", "pytest",
                                stdin=LISTING)).stdout.split()  # fmt: skip
    assert sorted(bins[0] + bins[1]) == sorted(whole) and all(bins)
    inspected = ok(stack.launchable("inspect", "subset", "--subset-id", subset_id.split("/")[1]))
    assert inspected.stdout.count("testcase=") == 9
    unknown = stack.launchable("inspect", "subset", "--subset-id", "0.99999.pytest.sx")
    assert unknown.returncode == 1

    # go-test: the candidates `go test -list` prints name the recorded tests (none is new).
    go_listing = (SAMPLES / "go" / "go-test-list.txt").read_text()
    go_subset = ok(stack.launchable("subset", "--session", session, "--target", "100%",
                                    "go-test", stdin=go_listing))  # fmt: skip
    assert "^TestFlaky$" in go_subset.stdout.split("|")
    inspected = ok(stack.launchable("inspect", "subset", "--subset-id", _last_subset_id(go_subset)))
    assert "| Yes " not in inspected.stdout  # the New column


def test_go_tests_recorded_by_pts_and_by_the_cli_are_one_history(
    stack: Stack, tmp_path: Path
) -> None:
    """The CLI names a Go package by its last element (`calc`); once the worker has learned
    the project's packages from `pts record tests --runner go`, the gateway records and lists
    the CLI's tests under the ids pts gives them."""
    project, report = "lc-go", SAMPLES / "go" / "go-junit-report-v1.xml"
    created = ok(run_pts(stack.env, "token", "create", "--project", project))
    token = created.stdout.strip().splitlines()[-1]
    ok(run_pts(stack.env, "record", "build", "-p", project, "-b", "b1", "--repo", str(stack.repo)))
    ok(run_pts(stack.env, "record", "tests", "-p", project, "-b", "b1", "--runner", "go",
               str(report)))  # fmt: skip
    read_go_packages(
        stack.env,
        project,
        {"calc": ["example.com/sample/calc"], "strs": ["example.com/sample/strs"]},
    )

    ok(stack.launchable("record", "build", "--name", "b2", "--no-commit-collection",
                        "--commit", f".={stack.sha}", token=token))  # fmt: skip
    session = ok(stack.launchable("record", "session", "--build", "b2", token=token)).stdout
    listing = (SAMPLES / "go" / "go-test-list.txt").read_text()
    chosen = ok(stack.launchable("subset", "--session", session, "--target", "100%", "go-test",
                                 stdin=listing, token=token))  # fmt: skip
    listed = [line for line in listing.splitlines() if " " not in line]
    assert sorted(chosen.stdout.strip().split("|")) == sorted(f"^{name}$" for name in listed)
    inspected = ok(stack.launchable("inspect", "subset", "--subset-id",
                                    _last_subset_id(chosen), token=token))  # fmt: skip
    assert inspected.stdout.count("example.com/sample/") == len(listed), inspected.stdout
    assert "| Yes " not in inspected.stdout  # the New column: every candidate is known

    copies = tmp_path / "go"
    copies.mkdir()
    shutil.copy(report, copies / report.name)  # fresh: the CLI skips reports older than b2
    ok(stack.launchable("record", "tests", "--session", session, "go-test", str(copies),
                        token=token))  # fmt: skip
    rows = ("SELECT test_id, variant, if(outcome = 'error', 'failed', outcome) AS o "
            "FROM pts.test_results WHERE project = '{}' AND build_id = '{}' "
            "ORDER BY test_id, variant")  # fmt: skip

    def stored(build: str) -> str:
        return ok(run_pts(stack.env, "query", rows.format(project, build))).stdout

    assert wait_until(lambda: stored("b2") == stored("b1") != "", 90), (stored("b1"), stored("b2"))
    assert "example.com/sample/calc::TestAdd" in stored("b2")


def test_a_go_package_only_listed_is_known_and_an_ambiguous_one_stays_short(
    stack: Stack, tmp_path: Path
) -> None:
    """`pts subset --runner go` candidates name packages too; an element two packages share
    (`calc` of example.com/sample and of example.com/broken) stays short through the CLI."""
    project, go = "lc-go-list", SAMPLES / "go"
    created = ok(run_pts(stack.env, "token", "create", "--project", project))
    token = created.stdout.strip().splitlines()[-1]
    ok(run_pts(stack.env, "record", "build", "-p", project, "-b", "b1", "--repo", str(stack.repo)))
    for listing in (go / "go-test-list.txt", go / "broken" / "go-test-list.txt"):
        ok(run_pts(stack.env, "subset", "-p", project, "-b", "b1", "--target", "100%",
                   "--runner", "go", stdin=listing.read_text()))  # fmt: skip
    read_go_packages(stack.env, project, {
        "calc": ["example.com/broken/calc", "example.com/sample/calc"],
        "strs": ["example.com/sample/strs"],
        "parse": ["example.com/broken/parse"],  # it did not build: listed as the package
    })  # fmt: skip

    ok(stack.launchable("record", "build", "--name", "b2", "--no-commit-collection",
                        "--commit", f".={stack.sha}", token=token))  # fmt: skip
    session = ok(stack.launchable("record", "session", "--build", "b2", token=token)).stdout
    copies = tmp_path / "go"
    copies.mkdir()
    shutil.copy(go / "go-junit-report-v1.xml", copies)
    ok(stack.launchable("record", "tests", "--session", session, "go-test", str(copies),
                        token=token))  # fmt: skip
    query = (f"SELECT DISTINCT test_id FROM pts.test_results WHERE project = '{project}' "
             "AND build_id = 'b2' ORDER BY test_id")  # fmt: skip

    def stored() -> list[str]:
        return [json.loads(line)["test_id"]
                for line in ok(run_pts(stack.env, "query", query)).stdout.splitlines()]  # fmt: skip

    assert wait_until(lambda: len(stored()) == 6, 90), stored()
    assert stored() == [
        "calc::TestAdd", "calc::TestDiv", "calc::TestFlaky", "calc::TestSkipped",
        "example.com/sample/strs::TestSplit", "example.com/sample/strs::TestUpper",
    ]  # fmt: skip


def read_go_packages(
    env: dict[str, str], project: str, expected: dict[str, list[str]]
) -> dict[str, list[str]]:
    """The packages the worker published for `project` (pts.go-packages), once the newest
    record of each element of `expected` lists its packages."""
    topic = f"{env['PTS_TOPIC_PREFIX']}.go-packages"
    group = f"test-{uuid.uuid4().hex[:8]}"
    consumer = Consumer({"bootstrap.servers": env["PTS_KAFKA_BOOTSTRAP"], "group.id": group})
    found: dict[str, list[str]] = {}
    try:
        consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])

        def all_read() -> bool:
            message = consumer.poll(0.5)
            if message is not None and not message.error():
                record = json.loads(message.value())
                if record["project"] == project:
                    found[record["element"]] = record["packages"]
            return all(found.get(element) == packages for element, packages in expected.items())

        assert wait_until(all_read, 90, every_s=0), found
        return found
    finally:
        consumer.close()


def _last_subset_id(result: subprocess.CompletedProcess[str]) -> str:
    for word in (result.stdout + result.stderr).split():
        if word.count(".") >= 3 and word.split(".")[2] == "go-test":
            return word
    raise AssertionError(f"no subset id in:\n{result.stdout}\n{result.stderr}")


@pytest.mark.skipif(shutil.which("java") is None, reason="the commit jar needs Java")
def test_commits_collected_by_the_jar_give_the_build_its_changes(
    stack: Stack, tmp_path: Path
) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / "calc.py").write_text("def add(a, b):\n    return a + b\n")
    (repo / "old.py").write_text("gone = True\n")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "first")
    (repo / "calc.py").write_text("def add(a, b):\n    return b + a\n\n\nZERO = 0\n")
    git(repo, "rm", "-q", "old.py")
    git(repo, "commit", "-qam", "the build's commit")
    recorded = ok(stack.launchable("record", "build", "--name", "c1", cwd=repo))
    assert "transferred" in recorded.stdout  # the jar sent the commits
    ok(run_pts(stack.env, "record", "build", "-p", "lc-pts", "-b", "c1", "--repo", str(repo)))
    builds = read_builds(stack.env, {("lc-cli", "c1"), ("lc-pts", "c1")})
    through_gateway, through_pts = builds[("lc-cli", "c1")], builds[("lc-pts", "c1")]
    # The same files; their line counts are the jar's (JGit counts a changed line's
    # neighbours, and no line of a deleted file), which git's --numstat need not match.
    assert [f.path for f in through_gateway.changed_files] == ["calc.py", "old.py"]
    assert [f.path for f in through_pts.changed_files] == ["calc.py", "old.py"]
    assert (through_gateway.commit_sha, through_gateway.base_sha, through_gateway.commits) == (
        through_pts.commit_sha, through_pts.base_sha, through_pts.commits,
    )  # fmt: skip


def read_builds(env: dict[str, str], wanted: set[tuple[str, str]]) -> dict[tuple[str, str], Build]:
    """The builds on the builds topic, by project and build id, once all `wanted` are there."""
    topic = f"{env['PTS_TOPIC_PREFIX']}.builds"
    group = f"test-{uuid.uuid4().hex[:8]}"
    consumer = Consumer({"bootstrap.servers": env["PTS_KAFKA_BOOTSTRAP"], "group.id": group})
    try:
        partitions = consumer.list_topics(topic, timeout=30).topics[topic].partitions
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        found: dict[tuple[str, str], Build] = {}

        def all_read() -> bool:
            message = consumer.poll(0.5)
            if message is not None and not message.error():
                build = Build.from_record(wire.decode(message.value(), expected="Build")[1])
                found[(build.project, build.build_id)] = build
            return wanted <= found.keys()

        assert wait_until(all_read, 60, every_s=0), sorted(found)
        return found
    finally:
        consumer.close()


def test_an_observation_session_runs_every_test(stack: Stack) -> None:
    ok(stack.launchable("record", "build", "--name", "o1", "--no-commit-collection",
                        "--commit", f".={stack.sha}"))  # fmt: skip
    session = ok(stack.launchable("record", "session", "--build", "o1", "--observation")).stdout
    printed = ok(stack.launchable("subset", "--session", session, "--target", "10%", "pytest",
                                  stdin=LISTING))  # fmt: skip
    assert sorted(printed.stdout.splitlines()) == sorted(
        line for line in LISTING.splitlines() if "::" in line
    )


def test_the_gateway_refuses_plain_http_beyond_loopback(stack: Stack) -> None:
    refused = run_pts({**stack.env, "PTS_GATEWAY_HOST": "0.0.0.0"}, "gateway", timeout=60)
    assert refused.returncode == 2
    assert "PTS_GATEWAY_TLS_CERT" in refused.stderr and "Traceback" not in refused.stderr


@pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl to make a certificate")
def test_the_cli_verifies_over_https(stack: Stack, tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
         "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    env = {**stack.env, "PTS_GATEWAY_PORT": str(free_port()), "PTS_GATEWAY_HOST": "0.0.0.0",
           "PTS_GATEWAY_TLS_CERT": str(cert), "PTS_GATEWAY_TLS_KEY": str(key)}  # fmt: skip
    with running_gateway(env, tmp_path / "gateway.log", scheme="https") as url:
        https = Stack(stack.env, stack.worker, url, stack.token, stack.repo, stack.sha)

        def verified() -> bool:  # --skip-cert-verification: the certificate is self-signed
            result = https.launchable("--skip-cert-verification", "verify")
            return result.returncode == 0 and "successfully verified" in result.stdout

        assert wait_until(verified, 90), (tmp_path / "gateway.log").read_text()


def test_any_replica_serves_what_another_recorded(stack: Stack, tmp_path: Path) -> None:
    """Builds, sessions and subsets live on the topics and in their ids, not in a replica."""
    env = {**stack.env, "PTS_GATEWAY_PORT": str(free_port())}
    with running_gateway(env, tmp_path / "gateway.log") as url:
        other = Stack(stack.env, stack.worker, url, stack.token, stack.repo, stack.sha)
        ok(stack.launchable("record", "build", "--name", "r1", "--no-commit-collection",
                            "--commit", f".={stack.sha}"))  # fmt: skip
        session = ok(other.launchable("record", "session", "--build", "r1")).stdout
        copies = tmp_path / "reports"
        copies.mkdir()
        shutil.copy(REPORTS["pytest"][1][0], copies)
        recorded = ok(other.launchable("record", "tests", "--session", session, "pytest",
                                       str(copies)))  # fmt: skip
        assert "recorded tests for build r1" in recorded.stdout
        split = ok(stack.launchable("subset", "--session", session, "--target", "50%",
                                    "--split", "pytest", stdin=LISTING))  # fmt: skip
        subset_id = split.stdout.strip()
        bins = [
            ok(other.launchable("split-subset", "--subset-id", subset_id, "--bin", f"{i}/2",
                                "pytest")).stdout.split()
            for i in (1, 2)
        ]  # fmt: skip
        assert all(bins) and not set(bins[0]) & set(bins[1])
        inspected = ok(other.launchable("inspect", "subset", "--subset-id",
                                        subset_id.split("/")[1]))  # fmt: skip
        assert inspected.stdout.count("testcase=") == 9


def test_json_the_cli_cannot_send_is_refused_with_a_reason(stack: Stack) -> None:
    url = f"{stack.gateway_url}/intake/organizations/pts/workspaces/lc-cli/builds"
    request = urllib.request.Request(
        url, data=b"{not json", method="POST",
        headers={"Authorization": f"Bearer {stack.token}", "Content-Type": "application/json"},
    )  # fmt: skip
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code == 400
    assert "not JSON" in json.loads(refused.value.read())["reason"]
