"""Launchable test paths as pts test ids, and back.

The Launchable CLI names a test by a *test path*, a list of `{"type", "name"}` components
(`file`, `class`, `testcase`, `subtest`) that its runner profile built from the report or the
runner's listing. The gateway turns each into the case a JUnit report would have stated and
lets pts's own runner profile (`pts.client.runners`) name it, so that a result recorded through
the gateway has the id `pts record tests --runner` gives the same report, and one history
grows whichever way CI records.

>>> test_id([{"type": "file", "name": "tests/test_calc.py"},
...          {"type": "class", "name": "tests.test_calc.TestDiv"},
...          {"type": "testcase", "name": "test_exact[4-2]"}], "pytest")
'tests/test_calc.py::TestDiv::test_exact[4-2]'
>>> test_id([{"type": "class", "name": "com.acme.CalcTest"},
...          {"type": "testcase", "name": "add(int, int)[1]"}], "maven")
'com.acme.CalcTest'
>>> test_path("tests/test_calc.py::TestDiv::test_exact[4-2]", "pytest")[1]
{'type': 'class', 'name': 'tests.test_calc.TestDiv'}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

from pts.client.runners import Identity, ReportCase, Runner
from pts.client.runners import runner as pts_runner
from pts.core.errors import PtsError
from pts.gateway.errors import BadInput

TestPath = list[dict[str, str]]

# The Launchable CLI's runner profile -> pts's; a profile not named here is read the plain
# JUnit way (`class::testcase`).
PROFILES = {
    "pytest": "pytest",
    "maven": "maven",
    "gradle": "gradle",
    "go-test": "go",
    "jest": "jest",
    "vitest": "vitest",
    "cypress": "cypress",
    "playwright": "playwright",
    "rspec": "rspec",
    "minitest": "minitest",
    "robot": "robot",
    "ctest": "ctest",
}
FILE_PROFILE = "file"  # Launchable's `file` profile: the test is a file, its path the id
NO_PACKAGES: Mapping[str, str] = MappingProxyType({})


class BadTestPath(BadInput):
    """A test path the gateway cannot name a test by."""


PLAIN = pts_runner(None)


def profile_of(launchable_runner: str) -> Runner:
    """pts's runner profile for the Launchable CLI's `testRunner`."""
    return pts_runner(PROFILES[launchable_runner]) if launchable_runner in PROFILES else PLAIN


def components(path: Any) -> dict[str, str]:
    """The names in a test path by type (the first of each type); BadTestPath if it is no
    list of {"type", "name"} strings."""
    if not isinstance(path, list) or not path:
        raise BadTestPath(f"a testPath must be a non-empty list of components, not {path!r:.80}")
    named: dict[str, str] = {}
    for part in path:
        if not isinstance(part, Mapping):
            raise BadTestPath(f"a testPath component must be an object, not {part!r:.80}")
        kind, name = part.get("type"), part.get("name")
        if not isinstance(kind, str) or not isinstance(name, str):
            raise BadTestPath(f"a testPath component needs a string type and name: {part!r:.80}")
        named.setdefault(kind, name)
    return named


def report_case(
    path: Any, launchable_runner: str, go_packages: Mapping[str, str] = NO_PACKAGES
) -> ReportCase:
    """The case a JUnit report states for `path`, as pts's reader would have read it;
    `go_packages`: the full import path of a Go package the CLI named by its last element.

    >>> report_case([{"type": "class", "name": "calc"}, {"type": "testcase", "name": "TestA"}],
    ...             "go-test", {"calc": "example.com/m/calc"}).suite
    'example.com/m/calc'
    """
    parts = components(path)
    case, cls, file = parts.get("testcase", ""), parts.get("class", ""), parts.get("file", "")
    if launchable_runner == "go-test":
        cls = go_packages.get(cls, cls)
        # go-junit-report's `TestX/sub` is split into testcase and subtest by the CLI.
        name = f"{case}/{parts['subtest']}" if parts.get("subtest") else case
        return ReportCase(name=name, classname=cls, suite=cls)
    if launchable_runner in ("jest", "vitest", "cypress", "playwright"):
        return ReportCase(name=case, classname=cls, file=file, suite=file)
    return ReportCase(name=case, classname=cls, file=file)


def identity(
    path: Any, launchable_runner: str, go_packages: Mapping[str, str] = NO_PACKAGES
) -> Identity:
    """What pts's runner profile calls the test at `path` (`go_packages`: as `report_case`)."""
    if launchable_runner == FILE_PROFILE:
        file = components(path).get("file") or _joined(path)
        return Identity(file, file, "")
    case = report_case(path, launchable_runner, go_packages)
    if not (case.classname or case.file or case.suite):
        if launchable_runner in PROFILES:
            raise BadTestPath(f"testPath {path!r:.120} names no class or file")
        joined = _joined(path)
        return Identity(joined, joined, "")
    try:
        found = profile_of(launchable_runner).identify(case)
    except PtsError as exc:  # e.g. a Jest test path that names no spec file
        raise BadTestPath(f"testPath {path!r:.120}: {exc}") from exc
    if not found.test_id:
        raise BadTestPath(f"testPath {path!r:.120} names no test")
    if launchable_runner == "pytest" and not case.name:
        # A candidate that is a whole module (`pytest --collect-only` listed only its file).
        module = case.file or found.suite
        return Identity(module, module, "")
    return found


def test_id(path: Any, launchable_runner: str, go_packages: Mapping[str, str] = NO_PACKAGES) -> str:
    """The pts test id of the test at `path` (`go_packages`: as `report_case`)."""
    return identity(path, launchable_runner, go_packages).test_id


def test_path(test_id: str, launchable_runner: str) -> TestPath:
    """The test path the Launchable CLI prints `test_id` from (the inverse of `test_id` on the
    CLI's candidate paths: its formatter gives back the runner's own id).

    >>> test_path("example.com/m/calc::TestDiv", "go-test")
    [{'type': 'class', 'name': 'example.com/m/calc'}, {'type': 'testcase', 'name': 'TestDiv'}]
    >>> test_path("tests/test_ops.py::test_sub", "pytest")[1]["name"]
    'tests.test_ops'
    """
    if launchable_runner == "pytest":
        file, *classes = test_id.split("::")
        module = file.removesuffix(".py").replace("/", ".")
        if not classes:
            return [_part("file", file), _part("class", module)]
        *nested, case = classes
        return [
            _part("file", file),
            _part("class", ".".join([module, *nested])),
            _part("testcase", case),
        ]
    if launchable_runner in ("maven", "gradle"):
        return [_part("class", test_id)]
    if launchable_runner == "go-test":
        package, _, name = test_id.rpartition("::")
        if not package:
            return [_part("class", name)]
        return [_part("class", package), _part("testcase", name)]
    if launchable_runner in ("jest", "vitest", "cypress", "playwright", FILE_PROFILE):
        return [_part("file", test_id)]
    suite, _, name = test_id.partition("::")
    return [_part("class", suite), _part("testcase", name)] if name else [_part("class", suite)]


def printable(test_id: str, launchable_runner: str) -> bool:
    """Whether the CLI's formatter for `launchable_runner` can print the test path `test_id`
    gives: a project's recent tests (`--get-tests-from-previous-sessions`) may hold ids of its
    other runners, and a pytest module's own failure has no test case to print.

    >>> printable("tests/test_a.py::test_x", "pytest"), printable("com.acme.CalcTest", "pytest")
    (True, False)
    >>> printable("example.com/m/calc::TestAdd", "go-test"), printable("a/b::c", "maven")
    (True, False)
    """
    file, _, case = test_id.partition("::")
    if launchable_runner == "pytest":
        return file.endswith(".py") and bool(case)
    if launchable_runner == "go-test":
        return bool(case)
    if launchable_runner in ("maven", "gradle"):
        return not case and "/" not in test_id
    return True


def _part(kind: str, name: str) -> dict[str, str]:
    return {"type": kind, "name": name}


def _joined(path: Sequence[Mapping[str, str]]) -> str:
    return "::".join(part["name"] for part in path if part.get("name"))
