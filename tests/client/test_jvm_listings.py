"""Maven's and Gradle's candidate listings: the README's recipes, run on the sample trees, and
Maven's testCompile `.lst` files give the classes the runner runs by default; the old
`*Test.java` recipe did not."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from pts.client.runners import runner

ROOT = Path(__file__).resolve().parent.parent.parent
RUNS = ROOT / "tests" / "fixtures" / "runners"
# What Surefire ran on the Maven sample (its reports of `mvn test`, see the end-to-end test):
# the four default name patterns; not the helper Numbers, nor the inner classes.
SUREFIRE_RUNS = {
    "com.acme.CalcTest",
    "com.acme.FlakyTest",
    "com.acme.TestFoo",
    "com.acme.FooTests",
    "com.acme.FooTestCase",
}
# What Gradle runs of its sample: every class that holds a test (JUnit 5, 4, 3, Spock), in
# any JVM language; not the helper Fixtures.
GRADLE_RUNS = {
    "com.acme.BarTest",
    "com.acme.TestFoo",
    "com.acme.FooTests",
    "com.acme.LegacyCase",
    "com.acme.FooTest",
    "com.acme.CalcSpec",
}


def readme_recipe(runner_name: str) -> str:
    """The README's candidate command of a runner: the part before `| pts subset`."""
    readme = (ROOT / "README.md").read_text()
    line = next(
        line
        for line in readme.splitlines()
        if f"--runner {runner_name} > subset.txt" in line and "| pts subset" in line
    )
    return line.split(" | pts subset")[0]


def run_recipe(recipe: str, project: Path) -> str:
    found = subprocess.run(
        ["bash", "-c", recipe], cwd=project, capture_output=True, text=True, timeout=60
    )
    assert found.returncode == 0, found.stderr
    return found.stdout


@pytest.mark.skipif(shutil.which("bash") is None, reason="no bash")
def test_the_maven_recipe_lists_what_surefire_runs() -> None:
    listing = run_recipe(readme_recipe("maven"), RUNS / "maven" / "project")
    assert set(runner("maven").candidates(listing).ids) == SUREFIRE_RUNS
    # the recipe it replaces missed three of them
    old = run_recipe("find src/test/java -name '*Test.java'", RUNS / "maven" / "project")
    assert SUREFIRE_RUNS - set(runner("maven").candidates(old).ids) == {
        "com.acme.TestFoo",
        "com.acme.FooTests",
        "com.acme.FooTestCase",
    }


@pytest.mark.parametrize("listing", ["createdFiles.lst", "inputFiles.lst"])
def test_maven_test_compile_listings_give_what_surefire_runs(listing: str) -> None:
    text = (RUNS / "maven" / "maven-status" / listing).read_text()
    found = runner("maven").candidates(text)
    assert set(found.ids) == SUREFIRE_RUNS
    assert len(found.unrecognized) == 1 and "Numbers" in found.unrecognized[0]  # the helper
    inner = [line for line in text.splitlines() if "$" in line]  # the compiled ones only
    assert not any(line in found.unrecognized for line in inner)  # they run with their outer


def test_surefire_reports_name_no_class_the_listings_miss() -> None:
    reported = {
        re.sub(r"^TEST-|\.xml$", "", p.name).split("$")[0]
        for p in (RUNS / "maven" / "surefire-reports").glob("TEST-*.xml")
    }
    assert reported <= SUREFIRE_RUNS


@pytest.mark.skipif(shutil.which("grep") is None, reason="no grep")
def test_the_gradle_recipe_lists_the_classes_that_hold_tests() -> None:
    listing = run_recipe(readme_recipe("gradle"), RUNS / "gradle" / "project")
    found = runner("gradle").candidates(listing)
    assert set(found.ids) == GRADLE_RUNS
    assert found.unrecognized == []


def test_gradle_takes_compiled_test_classes_whatever_their_name() -> None:
    listing = (
        "build/classes/java/test/com/acme/LegacyCase.class\n"
        "build/classes/kotlin/test/com/acme/FooTest$Inner.class\n"
        "build/classes/groovy/test/com/acme/CalcSpec.class\n"
    )
    assert runner("gradle").candidates(listing).ids == ["com.acme.LegacyCase", "com.acme.CalcSpec"]
