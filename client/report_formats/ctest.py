"""CTest's dashboard report, `Testing/<tag>/Test.xml` (`ctest -T Test`; root `<Site>`).

Each `<Testing>/<Test Status="...">` is a result named by its `<Name>`, as
`ctest --output-junit` names it. `passed` and `failed` are what they say; `notrun` is a
skipped test when CTest skipped it on purpose (its Completion Status is `Disabled`, or
`SKIP_RETURN_CODE=N`/`SKIP_REGULAR_EXPRESSION_MATCHED`) and else an error: CTest counts a
test it could not start (`Unable to find executable`, a failed fixture, missing required
files) among the failed ones. The duration is the `Execution Time` measurement, the message
the Completion Status (or the exit code) of a test that did not pass, the detail its output.

`ctest --show-only=json-v1` is the CTest listing in JSON (`json_v1_names`).
"""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree.ElementTree import Element

from pts.client.messages import MAX_MESSAGE, first_lines, truncated
from pts.client.runners.base import ReportCase
from pts.core.errors import ConfigError, ReportError
from pts.core.events import Outcome

_SKIPPED_ON_PURPOSE = ("Disabled", "SKIP_")


def ctest_cases(root: Element, lines: dict[Element, int], path: Path) -> list[ReportCase]:
    """The tests of a CTest Test.xml, in document order."""
    if root.find("Testing") is None:  # Configure.xml, Build.xml: the dashboard's other files
        reason = "a CTest dashboard file without <Testing>: the tests are in Test.xml"
        raise ReportError(str(path), lines.get(root), reason)
    cases = []
    for test in root.iterfind("Testing/Test"):
        line = lines.get(test)
        name = (test.findtext("Name") or "").strip()
        if not name:
            raise ReportError(str(path), line, "<Test> has no <Name>")
        measured = {
            m.get("name"): (m.findtext("Value") or "").strip()
            for m in test.iterfind("Results/NamedMeasurement")
        }
        completion = measured.get("Completion Status", "")
        outcome = _outcome(test.get("Status"), completion, path, line)
        message = ""
        if outcome is not Outcome.PASSED:
            # a test that ran to its end and failed is "Completed": its exit code says more
            message = measured.get("Exit Code", "") if completion == "Completed" else completion
            if measured.get("Exit Value"):
                message = f"{message} (exit value {measured['Exit Value']})".strip()
        cases.append(
            ReportCase(
                name=name,
                classname=name,
                report=path,
                outcome=outcome,
                duration_s=_seconds(measured.get("Execution Time", ""), path, line),
                message=truncated(message, MAX_MESSAGE),
                line=line,
                detail=first_lines(test.findtext("Results/Measurement/Value") or ""),
            )
        )
    return cases


def json_v1_names(text: str) -> list[str]:
    """The test names of `ctest --show-only=json-v1` output, in its order."""
    try:
        listing = json.loads(text)
    except json.JSONDecodeError as e:
        raise ConfigError(
            f"the CTest listing is not well-formed JSON (line {e.lineno}: {e.msg}): "
            "expected `ctest -N` or `ctest --show-only=json-v1` output"
        ) from e
    if not isinstance(listing, dict) or listing.get("kind") != "ctestInfo":
        raise ConfigError(
            "the CTest listing is a JSON document but not `ctest --show-only=json-v1` output "
            '(no "kind": "ctestInfo"): expected that, or `ctest -N` output'
        )
    tests = listing.get("tests")
    if not isinstance(tests, list) or not all(
        isinstance(t, dict) and isinstance(t.get("name"), str) for t in tests
    ):
        raise ConfigError('the CTest json-v1 listing\'s "tests" is no list of named tests')
    return [test["name"] for test in tests]


def _outcome(status: str | None, completion: str, path: Path, line: int | None) -> Outcome:
    if status == "passed":
        return Outcome.PASSED
    if status == "failed":
        return Outcome.FAILED
    if status == "notrun":
        return Outcome.SKIPPED if completion.startswith(_SKIPPED_ON_PURPOSE) else Outcome.ERROR
    raise ReportError(str(path), line, f"<Test> has Status {status!r}: not passed/failed/notrun")


def _seconds(value: str, path: Path, line: int | None) -> float:
    if not value:
        return 0.0
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds < float("inf"):
        raise ReportError(str(path), line, f"Execution Time {value!r} is not a duration")
    return seconds
