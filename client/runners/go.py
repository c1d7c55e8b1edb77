"""Go: go-junit-report v1 and v2, and `go test -json`, all to the same ids.

go-junit-report v1 writes the package's last path element as the classname and v2 the whole
import path; both name the testsuite after the whole import path, which is what the id uses,
so upgrading the reporter keeps the history.

A package that failed outside its tests (it did not build, or its TestMain or init exited)
is a result of the package itself, its id the import path: `go test` runs a package by it,
and `go test -list` names the package, on a `FAIL` line, in place of the tests it cannot
list. go-junit-report writes such a failure as a case named `[build failed]` or `Failure`,
`go test -json` as the package's own `fail` with no test failed (and, from Go 1.24, the
compiler's output as `build-output` events).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

from pts.client.runners.base import Candidates, Identity, ReportCase, Runner, _lines, _unique
from pts.core.errors import ReportError
from pts.core.events import Outcome

# `go test -list .` prints the names, then one status line per package, and a bare FAIL (or
# PASS) at the end.
_STATUS = re.compile(r"^(ok|\?|FAIL)\s+(\S+)")
_VERDICT = re.compile(r"^(FAIL|PASS|ok)$")
_NAME = re.compile(r"^(Test|Benchmark|Example|Fuzz)\w*$")
_JSON_OUTCOMES = {"pass": Outcome.PASSED, "fail": Outcome.FAILED, "skip": Outcome.SKIPPED}


class GoTest(Runner):
    """Ids are `import/path::TestName`, the top-level test `-run` selects; a subtest is a
    result of that test, its variant the subtest's path. A package that failed outside its
    tests is the id `import/path`; in a subset, it is one more package to test.

    >>> g = GoTest()
    >>> g.identify(ReportCase("TestDiv/4/2", classname="calc", suite="example.com/m/calc"))
    Identity(test_id='example.com/m/calc::TestDiv', suite='example.com/m/calc', \
name='TestDiv/4/2', variant='4/2')
    >>> g.identify(ReportCase("[build failed]", classname="calc", suite="example.com/m/calc"))
    Identity(test_id='example.com/m/calc', suite='example.com/m/calc', name='', variant='')
    >>> g.candidates("TestAdd\\nTestDiv\\nok  \\texample.com/m/calc\\t0.002s\\n").ids
    ['example.com/m/calc::TestAdd', 'example.com/m/calc::TestDiv']
    >>> g.candidates("FAIL\\texample.com/m/calc [build failed]\\nFAIL\\n").ids
    ['example.com/m/calc']
    >>> g.format(["example.com/m/calc::TestAdd", "example.com/m/calc::TestDiv"])
    '-run=^(TestAdd|TestDiv)$ example.com/m/calc'
    >>> g.format(["example.com/m/parse", "example.com/m/calc::TestAdd"])
    '-run=^(TestAdd)$ example.com/m/parse example.com/m/calc'
    """

    name = "go"
    lists_with = "go test -list . ./..."
    example = "example.com/module/pkg::TestAdd"
    takes_with = "-run=^(A|B)$ and the packages"
    report_suffixes = (".xml", ".json")

    def identify(self, case: ReportCase) -> Identity:
        package = case.suite or case.classname
        top, _, sub = case.name.partition("/")
        if not _NAME.match(top):  # no test's name: the package's own failure
            return Identity(package, package, "")
        return Identity(f"{package}::{top}", package, case.name, sub)

    def candidates(self, text: str) -> Candidates:
        ids, pending, unrecognized = [], [], []
        for line in _lines(text):
            status = _STATUS.match(line)
            if status:
                if status.group(1) == "FAIL" and not pending:
                    ids.append(status.group(2))  # it could not list its tests: the package
                ids += [f"{status.group(2)}::{name}" for name in pending]
                pending = []
            elif _NAME.match(line):
                pending.append(line)
            elif not _VERDICT.match(line):
                unrecognized.append(line)
        # Names without a status line after them: no package is known.
        ids += pending
        return Candidates(_unique(ids), unrecognized)

    def format(self, tests: Sequence[str]) -> str:
        packages, names = [], []
        for test in tests:
            package, _, name = test.rpartition("::")
            if not package and not _NAME.match(name):
                packages.append(name)  # a package that failed outside its tests
                continue
            names.append(name)
            if package:
                packages.append(package)
        # With packages alone, every test of theirs runs; else the named tests run, in every
        # package given (a package that does not build fails whatever -run says).
        run = [f"-run=^({'|'.join(_unique(names))})$"] if names else []
        return " ".join([*run, *_unique(packages)])


def read_go_test_json(path: Path) -> list[ReportCase]:
    """The test cases of a `go test -json` stream in the order they ended, and, where a package
    failed with no test failed, the package's own failure (a case with no name); lines that are
    not JSON (build output before Go 1.24) are skipped."""
    output: dict[tuple[str, str], list[str]] = {}  # by (package, test); test "" the package's
    builds: dict[str, list[str]] = {}  # the compiler's output, by the ImportPath it builds
    with_failed_tests: set[str] = set()
    cases = []
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError as exc:
        raise ReportError(str(path), None, f"cannot read the report: {exc.strerror}") from exc
    for number, line in enumerate(lines, 1):
        if not line.startswith("{"):
            continue
        try:
            event = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ReportError(str(path), number, f"not a go test -json event: {exc.msg}") from exc
        action = event.get("Action")
        if action == "build-output":
            builds.setdefault(event.get("ImportPath", ""), []).append(event.get("Output", ""))
            continue
        test, package = event.get("Test") or "", event.get("Package", "")
        key = (package, test)
        if action == "output":
            output.setdefault(key, []).append(event.get("Output", ""))
        elif action in _JSON_OUTCOMES:
            outcome = _JSON_OUTCOMES[action]
            text = "".join(output.pop(key, []))
            if test and outcome is Outcome.FAILED:
                with_failed_tests.add(package)
            elif not test and (outcome is not Outcome.FAILED or package in with_failed_tests):
                continue  # the package passed, or its failed tests say why it failed
            if test:
                message = _failure_text(text) if outcome is not Outcome.PASSED else ""
            else:
                build = "".join(builds.get(event.get("FailedBuild") or "", []))
                message = _package_failure(package, build, text)
            cases.append(
                ReportCase(
                    name=test,
                    suite=package,
                    report=path,
                    outcome=outcome,
                    duration_s=float(event.get("Elapsed") or 0.0),
                    message=message,
                    line=number,
                )
            )
    return cases


def _failure_text(output: str) -> str:
    kept = [line for line in output.splitlines() if not line.startswith(("=== ", "--- "))]
    return "\n".join(kept).strip()


def _package_failure(package: str, build: str, output: str) -> str:
    """What a package's own failure says: the compiler's output without its `# package`
    heading, else the package's output without its status lines, else those lines.

    >>> _package_failure("example.com/db", "", "no DB_URL\\nFAIL\\texample.com/db\\t0.1s\\n")
    'no DB_URL'
    """
    compiler = [line for line in build.splitlines() if not line.startswith("# ")]
    if any(line.strip() for line in compiler):
        return "\n".join(compiler).strip()
    status = {("FAIL", package), ("ok", package), ("FAIL",), ("PASS",)}
    own = [line for line in output.splitlines() if tuple(line.split()[:2]) not in status]
    return "\n".join(own).strip() or output.strip()
