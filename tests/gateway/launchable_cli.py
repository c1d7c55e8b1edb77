"""What the Launchable CLI 1.125.3 sends for a JUnit report (`record tests`), after its code
(`commands/record/case_event.py` and the runner profiles; /work/shared/launchable_api.md §4),
and the candidates it sends for a `go test -list` listing (`test_runners/go_test.py`), so that
the mapping is checked on every fixture without the CLI; the end-to-end test
(tests/end_to_end/test_launchable_cli.py) runs the CLI itself."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from xml.etree import ElementTree

RERUN_TAGS = ("rerunFailure", "rerunError")
FLAKY_TAGS = ("flakyFailure", "flakyError")


def cli_events(report: Path, profile: str) -> list[dict[str, Any]]:
    root = ElementTree.parse(report).getroot()
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    events = []
    for suite in suites:
        for case in suite.findall("testcase"):
            path = _path(case, suite, profile)
            final = _final(case)
            reruns = [c for c in case if c.tag in RERUN_TAGS]
            flaky = [c for c in case if c.tag in FLAKY_TAGS]
            attempt = {"status": 0, "duration": 0.0, "stderr": ""}
            if reruns:
                attempts = [final] + [attempt] * len(reruns)
            elif flaky:
                attempts = [attempt] * len(flaky) + [final]
            else:
                attempts = [final]
            events += [{"type": "case", "testPath": path, **a} for a in attempts]
    return events


def _final(case: ElementTree.Element) -> dict[str, Any]:
    status, stderr = 1, ""
    for child in case:
        if child.tag in ("failure", "error"):
            status, stderr = 0, child.text or child.get("message", "")
            break
        if child.tag == "skipped":
            status = 2
    return {"status": status, "duration": float(case.get("time") or 0), "stderr": stderr}


def _path(case: ElementTree.Element, suite: ElementTree.Element, profile: str) -> list:
    classname = case.get("classname") or suite.get("classname")
    if profile == "jest":
        path = [{"type": "file", "name": suite.get("name")}]
        if case.get("classname"):
            path.append({"type": "class", "name": case.get("classname")})
        return [*path, {"type": "testcase", "name": case.get("name")}]
    file = case.get("file") or suite.get("filepath")
    path = [{"type": "file", "name": file}] if file else []
    if classname:
        if profile in ("maven", "gradle"):
            classname = classname.split("$")[0]
        if profile == "go-test":
            classname = classname.split("/")[-1]
        path.append({"type": "class", "name": classname})
    name = case.get("name")
    if profile == "go-test" and "/" in name:
        name, sub = name.split("/", 1)
        return [*path, {"type": "testcase", "name": name}, {"type": "subtest", "name": sub}]
    return [*path, {"type": "testcase", "name": name}]


def go_list_paths(listing: str) -> list[list[dict[str, str]]]:
    """The test paths the go-test profile's `subset` sends for `go test -list ./...` output: each
    name before a package's status line, with the package's last path element."""
    paths, names = [], []
    for line in listing.splitlines():
        if " " not in line:
            names.append(line)
            continue
        parts = line.split()
        if len(parts) >= 2:
            package = parts[1].split("/")[-1]
            paths += [[{"type": "class", "name": package}, {"type": "testcase", "name": name}]
                      for name in names]  # fmt: skip
        names = []
    return paths
