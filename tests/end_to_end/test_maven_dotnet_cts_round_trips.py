"""Round trips of Maven, dotnet and Android CTS on the real broker and worker.

Maven (installed here): the README's candidate recipe and Maven's own testCompile listing both
give exactly the classes Surefire runs (`Test*`, `*Test`, `*Tests`, `*TestCase`, no inner
class, no helper); a subset of them, given to `mvn test` as the profile prints it, runs exactly
those classes, and their results are recorded.

dotnet and CTS (their tools are not installable here): a report written by the tool is
recorded, the tool's own listing gives candidates that all match recorded ids, the subset is
printed as the runner takes it, and another format of the same run records under the same ids.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from pts.client.junit_reports import parse_report
from pts.client.runners import runner
from tests.conftest import RunningWorker, run_pts

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parent.parent.parent
RUNS = ROOT / "tests" / "fixtures" / "runners"
SAMPLE = RUNS / "maven" / "project"
CREATED = Path("target/maven-status/maven-compiler-plugin/testCompile/default-testCompile")
CREATED /= "createdFiles.lst"
MAVEN = runner("maven")


def mvn(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        ["mvn", "-B", "-q", *args], cwd=project, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stdout[-3000:]  # the sample ignores its test failures
    return done


def reports(project: Path) -> list[Path]:
    return sorted((project / "target" / "surefire-reports").glob("TEST-*.xml"))


def cases_in(paths: list[Path]) -> int:
    """The test cases of Surefire's reports, counted from their text."""
    return sum(len(re.findall(r"<testcase\b", path.read_text())) for path in paths)


def readme_recipe() -> str:
    readme = (ROOT / "README.md").read_text()
    line = next(line for line in readme.splitlines() if "--runner maven > subset.txt" in line)
    return line.split(" | pts subset")[0]


def record(env: dict[str, str], build: str, project: Path) -> str:
    done = run_pts(env, "record", "tests", "-p", "rt-maven", "-b", build, "--runner", "maven",
                   "target/surefire-reports", cwd=project)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stderr


def explained(stderr: str) -> dict[str, str]:
    """--explain lines: test id -> reason."""
    return {
        line.split(None, 4)[4]: line.split(None, 4)[3]
        for line in stderr.splitlines()
        if line.startswith(("run ", "skip "))
    }


def chosen_in(stderr: str) -> list[str]:
    return [line.split(None, 4)[4] for line in stderr.splitlines() if line.startswith("run ")]


@pytest.mark.skipif(shutil.which("mvn") is None, reason="no Maven on this machine")
def test_maven_round_trip(pts_worker: RunningWorker, tmp_path: Path) -> None:
    env = pts_worker.env
    project = tmp_path / "maven"
    shutil.copytree(SAMPLE, project)
    mvn(project, "test")
    ran = {
        r.test_id for path in reports(project) for r in parse_report(path, runner=MAVEN)
    }  # what Surefire ran by default
    assert ran == {
        "com.acme.CalcTest",
        "com.acme.FlakyTest",
        "com.acme.TestFoo",
        "com.acme.FooTests",
        "com.acme.FooTestCase",
    }
    assert f"recorded {cases_in(reports(project))} test results" in record(env, "b1", project)

    recipe = subprocess.run(
        ["bash", "-c", readme_recipe()], cwd=project, capture_output=True, text=True, check=True
    ).stdout
    compiled = (project / CREATED).read_text()
    assert set(MAVEN.candidates(recipe).ids) == ran
    assert set(MAVEN.candidates(compiled).ids) == ran

    answer = run_pts(env, "subset", "-p", "rt-maven", "-b", "b2", "--target", "50%", "--runner",
                     "maven", "--explain", str(project / CREATED), cwd=project)  # fmt: skip
    assert answer.returncode == 0, answer.stderr
    reasons = explained(answer.stderr)
    assert set(reasons) == ran and "new" not in reasons.values()
    chosen = chosen_in(answer.stderr)
    assert 0 < len(chosen) < len(ran)
    [argument] = answer.stdout.split()  # one word through an unquoted $(...)
    assert argument == "-Dtest=" + ",".join(chosen)

    shutil.rmtree(project / "target" / "surefire-reports")
    mvn(project, "test", argument, "-Dsurefire.failIfNoSpecifiedTests=false")
    second = reports(project)
    assert {r.test_id for p in second for r in parse_report(p, runner=MAVEN)} == set(chosen)
    assert f"recorded {cases_in(second)} test result" in record(env, "b2", project)


def wait_for_rows(env: dict[str, str], sql: str, expected: list[dict]) -> list[dict]:
    """The query's rows once they are `expected`, or the last ones after 90 s."""
    rows: list[dict] = []
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        done = run_pts(env, "query", sql)
        assert done.returncode == 0, done.stderr
        rows = [json.loads(line) for line in done.stdout.splitlines()]
        if rows == expected:
            break
        time.sleep(1)
    return rows


def record_file(env: dict[str, str], project: str, build: str, name: str, report: Path) -> str:
    done = run_pts(env, "record", "tests", "-p", project, "-b", build, "--runner", name,
                   str(report))  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stderr


def test_dotnet_round_trip(pts_worker: RunningWorker) -> None:
    env, dotnet = pts_worker.env, RUNS / "dotnet"
    assert "recorded 4 test results" in record_file(env, "rt-dotnet", "b1", "dotnet",
                                                    dotnet / "nunit3.xml")  # fmt: skip
    answer = run_pts(env, "subset", "-p", "rt-dotnet", "-b", "b2", "--target", "10%", "--runner",
                     "dotnet", "--explain", str(dotnet / "explore.xml"))  # fmt: skip
    assert answer.returncode == 0, answer.stderr
    reasons = explained(answer.stderr)
    assert set(reasons) == {"Acme.Tests.CalcTests", "Acme.Tests.StrTests"}
    assert reasons["Acme.Tests.CalcTests"] == "failed-last-run"  # Add(2,2,5) failed
    chosen = chosen_in(answer.stderr)
    assert answer.stdout.strip() == "--filter " + "|".join(
        f"FullyQualifiedName~{test}." for test in chosen
    )
    # the same suite as the TRX logger writes it: the same ids, one history
    assert "recorded 4 test results" in record_file(env, "rt-dotnet", "b2", "dotnet",
                                                    dotnet / "nunit-adapter.trx")  # fmt: skip
    expected = [
        {"test_id": "Acme.Tests.CalcTests", "builds": 2, "n": 6},
        {"test_id": "Acme.Tests.StrTests", "builds": 2, "n": 2},
    ]
    rows = wait_for_rows(
        env,
        "SELECT test_id, uniqExact(build_id) AS builds, count() AS n FROM pts.test_results "
        "WHERE project = 'rt-dotnet' GROUP BY test_id ORDER BY test_id",
        expected,
    )
    assert rows == expected


def test_cts_round_trip(pts_worker: RunningWorker) -> None:
    env, cts = pts_worker.env, RUNS / "cts"
    report = cts / "test_result_abis.xml"
    assert "recorded 9 test results" in record_file(env, "rt-cts", "b1", "cts", report)
    answer = run_pts(env, "subset", "-p", "rt-cts", "-b", "b2", "--target", "10%", "--runner",
                     "cts", "--explain", str(report))  # fmt: skip
    assert answer.returncode == 0, answer.stderr
    reasons = explained(answer.stderr)
    assert set(reasons) == {
        "CtsAbiOverrideHostTestCases android.abioverride.cts.AbiOverrideTest",
        "CtsAccountManagerTestCases android.accounts.cts.AbstractAuthenticatorTests",
        "CtsAccountManagerTestCases android.accounts.cts.AccountManagerTest",
        "CtsAccountManagerTestCases",  # the module that did not finish
    }
    assert "new" not in reasons.values()
    chosen = chosen_in(answer.stderr)
    assert chosen and answer.stdout.splitlines() == [f"--include-filter={t}" for t in chosen]
    assert "recorded 11 test results" in record_file(env, "rt-cts", "b2", "cts",
                                                     cts / "test_result.xml")  # fmt: skip
