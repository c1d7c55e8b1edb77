"""Maven round trip on the real Maven, broker and worker: the README's candidate recipe and
Maven's own testCompile listing both give exactly the classes Surefire runs (`Test*`, `*Test`,
`*Tests`, `*TestCase`, no inner class, no helper); a subset of them, given to `mvn test` as the
profile prints it, runs exactly those classes, and their results are recorded."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from pts.client.junit_reports import parse_report
from pts.client.runners import runner
from tests.conftest import RunningWorker, run_pts

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("mvn") is None, reason="no Maven on this machine"),
]

ROOT = Path(__file__).resolve().parent.parent.parent
SAMPLE = ROOT / "tests" / "fixtures" / "runners" / "maven" / "project"
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
    reasons = {
        line.split(None, 4)[4]: line.split(None, 4)[3]
        for line in answer.stderr.splitlines()
        if line.startswith(("run ", "skip "))
    }
    assert set(reasons) == ran and "new" not in reasons.values()
    chosen = [
        line.split(None, 4)[4] for line in answer.stderr.splitlines() if line.startswith("run ")
    ]
    assert 0 < len(chosen) < len(ran)
    [argument] = answer.stdout.split()  # one word through an unquoted $(...)
    assert argument == "-Dtest=" + ",".join(chosen)

    shutil.rmtree(project / "target" / "surefire-reports")
    mvn(project, "test", argument, "-Dsurefire.failIfNoSpecifiedTests=false")
    second = reports(project)
    assert {r.test_id for p in second for r in parse_report(p, runner=MAVEN)} == set(chosen)
    assert f"recorded {cases_in(second)} test result" in record(env, "b2", project)
