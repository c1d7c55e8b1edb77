"""Go: go-junit-report v1 and v2, and `go test -json`, all to the same ids.

go-junit-report v1 writes the package's last path element as the classname and v2 the whole
import path; both name the testsuite after the whole import path, which is what the id uses,
so upgrading the reporter keeps the history.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

from pts.client.runners.base import Candidates, Identity, ReportCase, Runner, _lines, _unique
from pts.core.errors import ReportError
from pts.core.events import Outcome

# `go test -list .` prints the names, then one status line per package.
_STATUS = re.compile(r"^(ok|\?|FAIL)\s+(\S+)")
_NAME = re.compile(r"^(Test|Benchmark|Example|Fuzz)\w*$")
_JSON_OUTCOMES = {"pass": Outcome.PASSED, "fail": Outcome.FAILED, "skip": Outcome.SKIPPED}


class GoTest(Runner):
    """Ids are `import/path::TestName`, the top-level test `-run` selects; a subtest is a
    result of that test, its variant the subtest's path.

    >>> g = GoTest()
    >>> g.identify(ReportCase("TestDiv/4/2", classname="calc", suite="example.com/m/calc"))
    Identity(test_id='example.com/m/calc::TestDiv', suite='example.com/m/calc', \
name='TestDiv/4/2', variant='4/2')
    >>> g.candidates("TestAdd\\nTestDiv\\nok  \\texample.com/m/calc\\t0.002s\\n").ids
    ['example.com/m/calc::TestAdd', 'example.com/m/calc::TestDiv']
    >>> g.format(["example.com/m/calc::TestAdd", "example.com/m/calc::TestDiv"])
    '-run=^(TestAdd|TestDiv)$ example.com/m/calc'
    """

    name = "go"
    lists_with = "go test -list . ./..."
    example = "example.com/module/pkg::TestAdd"
    takes_with = "-run=^(A|B)$ and the packages"
    report_suffixes = (".xml", ".json")

    def identify(self, case: ReportCase) -> Identity:
        package = case.suite or case.classname
        top, _, sub = case.name.partition("/")
        return Identity(f"{package}::{top}", package, case.name, sub)

    def candidates(self, text: str) -> Candidates:
        ids, pending, unrecognized = [], [], []
        for line in _lines(text):
            status = _STATUS.match(line)
            if status:
                ids += [f"{status.group(2)}::{name}" for name in pending]
                pending = []
            elif _NAME.match(line):
                pending.append(line)
            else:
                unrecognized.append(line)
        # Names without a status line after them: no package is known.
        ids += pending
        return Candidates(_unique(ids), unrecognized)

    def format(self, tests: Sequence[str]) -> str:
        packages, names = [], []
        for test in tests:
            package, _, name = test.rpartition("::")
            names.append(name)
            if package:
                packages.append(package)
        return " ".join([f"-run=^({'|'.join(_unique(names))})$", *_unique(packages)])


def read_go_test_json(path: Path) -> list[ReportCase]:
    """The test cases of a `go test -json` stream, in the order they ended; lines that are not
    JSON (build output) are skipped."""
    output: dict[tuple[str, str], list[str]] = {}
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
        test, package = event.get("Test"), event.get("Package", "")
        if not test:
            continue
        key = (package, test)
        if event.get("Action") == "output":
            output.setdefault(key, []).append(event.get("Output", ""))
        elif event.get("Action") in _JSON_OUTCOMES:
            outcome = _JSON_OUTCOMES[event["Action"]]
            text = "".join(output.pop(key, []))
            cases.append(
                ReportCase(
                    name=test,
                    suite=package,
                    report=path,
                    outcome=outcome,
                    duration_s=float(event.get("Elapsed") or 0.0),
                    message=_failure_text(text) if outcome is not Outcome.PASSED else "",
                    line=number,
                )
            )
    return cases


def _failure_text(output: str) -> str:
    kept = [line for line in output.splitlines() if not line.startswith(("=== ", "--- "))]
    return "\n".join(kept).strip()
