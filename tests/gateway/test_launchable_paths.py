"""Launchable test paths name the tests `pts record tests --runner` names, and back."""

from __future__ import annotations

import pytest

from pts.gateway import launchable_paths as paths
from pts.gateway.launchable_paths import BadTestPath


def part(kind: str, name: str) -> dict[str, str]:
    return {"type": kind, "name": name}


@pytest.mark.parametrize(
    ("path", "profile", "expected"),
    [
        # pytest's JUnit report: legacy (with file) and xunit2 (without); the CLI's candidates
        ([part("file", "tests/test_calc.py"), part("class", "tests.test_calc.TestDivision"),
          part("testcase", "test_exact")], "pytest",
         "tests/test_calc.py::TestDivision::test_exact"),
        ([part("class", "tests.test_calc"), part("testcase", "test_concat[x y-z]")], "pytest",
         "tests/test_calc.py::test_concat[x y-z]"),
        ([part("file", "tests/test_calc.py"), part("class", "tests.test_calc")], "pytest",
         "tests/test_calc.py"),
        # Surefire and Gradle: the class (the CLI drops a nested class's $Inner)
        ([part("class", "com.acme.CalcTest"), part("testcase", "add(int, int)[1]")], "maven",
         "com.acme.CalcTest"),
        ([part("class", "com.acme.CalcTest")], "gradle", "com.acme.CalcTest"),
        # go-test: the CLI sends the package's last element, a subtest apart
        ([part("class", "calc"), part("testcase", "TestDiv"), part("subtest", "4/2")], "go-test",
         "calc::TestDiv"),
        ([part("class", "calc"), part("testcase", "TestAdd")], "go-test", "calc::TestAdd"),
        # jest: the suite named after the file (JEST_JUNIT_SUITE_NAME='{filepath}')
        ([part("file", "src/sum.test.js"), part("testcase", "sum adds")], "jest",
         "src/sum.test.js"),
        ([part("file", "src/sum.test.js")], "jest", "src/sum.test.js"),
        ([part("file", "tests/smoke.sh")], "file", "tests/smoke.sh"),
        # a profile pts has no runner for: the plain JUnit reading
        ([part("class", "Suite"), part("testcase", "case")], "raw", "Suite::case"),
    ],
)  # fmt: skip
def test_a_test_path_names_the_runners_unit(path: list, profile: str, expected: str) -> None:
    assert paths.test_id(path, profile) == expected


@pytest.mark.parametrize(
    ("test_id", "profile"),
    [
        ("tests/test_calc.py::TestDivision::test_exact", "pytest"),
        ("tests/test_calc.py::test_add", "pytest"),
        ("tests/test_calc.py", "pytest"),
        ("com.acme.CalcTest", "maven"),
        ("calc::TestAdd", "go-test"),
        ("src/sum.test.js", "jest"),
        ("tests/smoke.sh", "file"),
        ("Suite::case", "raw"),
    ],
)
def test_the_path_printed_back_names_the_same_test(test_id: str, profile: str) -> None:
    assert paths.test_id(paths.test_path(test_id, profile), profile) == test_id


def test_the_pytest_path_prints_as_the_node_id_the_cli_formats() -> None:
    """The CLI prints `file::Class::case` when the class is more than the module."""
    path = paths.test_path("tests/test_calc.py::TestDivision::test_exact", "pytest")
    named = {p["type"]: p["name"] for p in path}
    assert named == {
        "file": "tests/test_calc.py",
        "class": "tests.test_calc.TestDivision",
        "testcase": "test_exact",
    }


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ([], "non-empty list"),
        ("tests/a.py", "non-empty list"),
        ([{"type": "file"}], "string type and name"),
        (["file"], "must be an object"),
        ([part("testcase", "sum adds")], "needs_file"),
    ],
)
def test_a_path_that_names_no_test_is_refused(path: object, reason: str) -> None:
    with pytest.raises(BadTestPath):
        paths.test_id(path, "jest" if reason == "needs_file" else "pytest")
