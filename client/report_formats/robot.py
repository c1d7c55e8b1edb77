"""Robot Framework's `output.xml` (root `<robot>`, RF 3 to 7) and `output.json` (RF 7's
`--output output.json`).

Each `<test>` is a result, named as `robot --xunit` names it: its classname the dotted names of
the suites around it (`Tests.Calc`), its name the test's, so the Robot profile's id
(`Tests.Calc.Add Numbers`) is the same whichever file recorded it. The outcome is the test's
own `<status>` (its last direct child; the keywords' statuses are nested in them): PASS, FAIL,
SKIP (RF 4+), NOT RUN (a test left out by `--exitonfailure`, or any test of a `--dryrun`).
The duration is `elapsed` (RF 7) or `endtime - starttime` (RF 3 to 6). A suite setup that
fails is no result of its own: Robot writes each test of the suite as failed ("Parent suite
setup failed: ..."), and those are the results.

The JSON output is the same tree (`suite`, its `suites` and `tests`, each test's `status`,
`message` and `elapsed_time`), read the same way.

The same tree is the Robot listing: `robot --dryrun --output dryrun.xml` (or `dryrun.json`)
names every test the run would run (`test_names`, `json_test_names`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element

from pts.client.messages import MAX_MESSAGE, truncated
from pts.client.report_formats.json_text import read_json
from pts.client.runners.base import ReportCase
from pts.core.errors import ConfigError, ReportError
from pts.core.events import Outcome

_OUTCOMES = {
    "PASS": Outcome.PASSED,
    "FAIL": Outcome.FAILED,
    "SKIP": Outcome.SKIPPED,
    "NOT RUN": Outcome.SKIPPED,
}
_RF6_TIME = "%Y%m%d %H:%M:%S.%f"  # starttime="20240514 09:14:02.412"
_JSON_HEAD = re.compile(r'^\ufeff?\s*\{\s*"generator"\s*:\s*"Robot ')  # {"generator":"Robot 7.5 ...


def robot_cases(root: Element, lines: dict[Element, int], path: Path) -> list[ReportCase]:
    """The `<test>`s of an output.xml, in document order."""
    return [_case(test, suite, lines.get(test), path) for test, suite in _tests(root)]


def test_names(root: Element) -> list[str]:
    """`Suite.Sub.Test name` of every test of an output.xml (a --dryrun's, or a run's)."""
    return [f"{suite}.{test.get('name', '')}" for test, suite in _tests(root)]


def _tests(root: Element) -> list[tuple[Element, str]]:
    """Each `<test>` with the dotted names of its suites, in document order."""
    found: list[tuple[Element, str]] = []

    def walk(suite: Element, prefix: str) -> None:
        name = f"{prefix}.{suite.get('name', '')}" if prefix else suite.get("name", "")
        for child in suite:
            if child.tag == "test":
                found.append((child, name))
            elif child.tag == "suite":
                walk(child, name)

    for suite in root.findall("suite"):
        walk(suite, "")
    return found


def _case(test: Element, suite: str, line: int | None, path: Path) -> ReportCase:
    name = test.get("name") or ""
    if not name:
        raise ReportError(str(path), line, "<test> has no name attribute")
    statuses = test.findall("status")
    if not statuses:
        raise ReportError(str(path), line, f"test {name!r} has no <status>")
    status = statuses[-1]
    outcome = _OUTCOMES.get(status.get("status") or "")
    if outcome is None:
        raise ReportError(
            str(path), line, f"test {name!r} has status {status.get('status')!r}: not a Robot one"
        )
    return ReportCase(
        name=name,
        classname=suite,
        suite=suite,
        report=path,
        outcome=outcome,
        duration_s=_duration(status, path, line),
        message=truncated((status.text or "").strip(), MAX_MESSAGE),
        line=line,
    )


def _duration(status: Element, path: Path, line: int | None) -> float:
    elapsed = status.get("elapsed")
    try:
        if elapsed is not None:  # RF 7
            return max(float(elapsed), 0.0)
        start, end = status.get("starttime"), status.get("endtime")
        if not start or not end or "N/A" in (start, end):  # a test that never started
            return 0.0
        seconds = datetime.strptime(end, _RF6_TIME) - datetime.strptime(start, _RF6_TIME)
        return max(seconds.total_seconds(), 0.0)
    except ValueError as e:
        reason = f"the test's <status> has no time Robot writes: {e}"
        raise ReportError(str(path), line, reason) from e


def is_robot_json(head: str) -> bool:
    """Whether a file's first characters are a Robot Framework output.json's."""
    return _JSON_HEAD.match(head) is not None


def robot_json_cases(path: Path) -> list[ReportCase]:
    """The tests of an output.json (RF 7), in file order."""
    output = read_json(path, "well-formed Robot output.json")
    cases = []
    for test, suite in _json_tests(output, path):
        name = test.get("name")
        outcome = _OUTCOMES.get(test.get("status") or "")
        if not isinstance(name, str) or not name or outcome is None:
            raise ReportError(
                str(path), None, f"test {name!r} of {suite} has no name or no Robot status"
            )
        elapsed = test.get("elapsed_time", 0.0)
        if not isinstance(elapsed, int | float) or elapsed < 0:
            raise ReportError(str(path), None, f"test {name!r} has elapsed_time {elapsed!r}")
        cases.append(
            ReportCase(
                name=name,
                classname=suite,
                suite=suite,
                report=path,
                outcome=outcome,
                duration_s=float(elapsed),
                message=truncated(str(test.get("message") or "").strip(), MAX_MESSAGE),
            )
        )
    return cases


def json_test_names(text: str) -> list[str]:
    """`Suite.Test name` of every test of an output.json given as the listing."""
    try:
        output = json.loads(text)
    except json.JSONDecodeError as e:
        raise ConfigError(f"the Robot listing is not well-formed JSON (line {e.lineno})") from e
    if not isinstance(output, dict) or not str(output.get("generator", "")).startswith("Robot "):
        raise ConfigError(
            "the Robot listing is a JSON document but not Robot's output.json: expected the "
            "output of robot --dryrun, or one Suite.Test name per line"
        )
    try:
        return [f"{suite}.{test.get('name', '')}" for test, suite in _json_tests(output, None)]
    except ReportError as e:
        raise ConfigError(f"the Robot listing: {e.reason}") from e


def _json_tests(output: Any, path: Path | None) -> Iterator[tuple[dict[str, Any], str]]:
    def walk(suite: Any, prefix: str) -> Iterator[tuple[dict[str, Any], str]]:
        if not isinstance(suite, dict):
            raise ReportError(str(path), None, f"a suite that is no object: {suite!r:.60}")
        name = f"{prefix}.{suite.get('name', '')}" if prefix else str(suite.get("name", ""))
        for test in suite.get("tests", []):
            if not isinstance(test, dict):
                raise ReportError(str(path), None, f"a test of {name} that is no object")
            yield test, name
        for child in suite.get("suites", []):
            yield from walk(child, name)

    if not isinstance(output, dict) or "suite" not in output:
        raise ReportError(str(path), None, 'a Robot output.json without "suite"')
    yield from walk(output["suite"], "")
