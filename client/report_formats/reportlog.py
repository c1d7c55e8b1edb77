"""pytest-reportlog's JSON lines (`pytest --report-log=FILE`).

Each test runs in three phases, each a `TestReport` line (`when`: setup, call, teardown); a
teardown ends one attempt of the test, which is one result, in the order the attempts ended
(under pytest-xdist the lines of several tests interleave). The first phase that did not pass
decides the outcome: a setup or teardown that failed is an error, a call that failed a
failure, a skip (a skip mark, `pytest.skip`, an xfail) is skipped. pytest-rerunfailures writes
the failed phase of an attempt it reruns as `rerun`: that attempt is a result too, and the
repeats are told apart as pytest's JUnit report's are. The duration is the phases' sum, as in
pytest's JUnit report.

A `CollectReport` that failed (a module that did not import) is the module's own failure, a
case with no name in that module, as pytest's JUnit report states it (its "collection
failure"), so the pytest profile names it by the module's node id.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pts.client.messages import first_lines
from pts.client.report_formats.json_text import json_lines, sniff_lines
from pts.client.runners.base import ReportCase
from pts.core.events import Outcome

FORM = "pytest-reportlog"
_FAILED_PHASE = {"setup": Outcome.ERROR, "call": Outcome.FAILED, "teardown": Outcome.ERROR}


def sniff(head: str) -> bool:
    return sniff_lines(head, '"$report_type"')


@dataclass
class _Attempt:
    line: int
    outcome: Outcome = Outcome.PASSED
    duration_s: float = 0.0
    message: str = ""
    phases: list[str] = field(default_factory=list)


def read(path: Path) -> list[ReportCase]:
    cases, open_attempts = [], {}
    for number, event in json_lines(path, FORM):
        kind, nodeid = event.get("$report_type"), event.get("nodeid") or ""
        if kind == "CollectReport" and event.get("outcome") == "failed":
            cases.append(_collect_failure(path, number, nodeid, event))
        if kind != "TestReport":
            continue
        attempt = open_attempts.setdefault(nodeid, _Attempt(number))
        _add_phase(attempt, event)
        if event.get("when") == "teardown":
            cases.append(_case(path, nodeid, open_attempts.pop(nodeid)))
    # A test whose teardown never came (the run, or an xdist worker, crashed in it).
    cases += [_case(path, nodeid, attempt) for nodeid, attempt in open_attempts.items()]
    return cases


def _add_phase(attempt: _Attempt, event: dict[str, Any]) -> None:
    when, outcome = event.get("when", ""), event.get("outcome")
    attempt.phases.append(when)
    attempt.duration_s += max(float(event.get("duration") or 0.0), 0.0)
    if attempt.outcome is not Outcome.PASSED:
        return  # the first phase that did not pass decides
    if outcome in ("failed", "rerun"):
        attempt.outcome = _FAILED_PHASE.get(when, Outcome.ERROR)
        attempt.message = _crash_message(event.get("longrepr"))
    elif outcome == "skipped":
        attempt.outcome = Outcome.SKIPPED
        attempt.message = _crash_message(event.get("longrepr"))


def _case(path: Path, nodeid: str, attempt: _Attempt) -> ReportCase:
    """A case the pytest profile names `nodeid`: the module's file, and the classes as a dotted
    classname after the module's dotted path, as pytest's JUnit report writes them."""
    base, bracket, parameters = nodeid.partition("[")
    file, *classes, name = base.split("::")
    module = file.removesuffix(".py").replace("/", ".")
    return ReportCase(
        name=name + bracket + parameters,
        classname=".".join([module, *classes]),
        file=file,
        report=path,
        outcome=attempt.outcome,
        duration_s=round(attempt.duration_s, 6),
        message=attempt.message,
        line=attempt.line,
    )


def _collect_failure(path: Path, line: int, nodeid: str, event: dict[str, Any]) -> ReportCase:
    text = _longrepr_text(event.get("longrepr"))
    # As pytest's JUnit report names it: a module by its file; a directory (whose conftest.py
    # did not import) by its dotted path, as the case's name.
    module = nodeid if nodeid.endswith(".py") else ""
    return ReportCase(
        name="" if module else nodeid.replace("/", "."),
        file=module,
        suite=nodeid,
        report=path,
        outcome=Outcome.ERROR,
        message=first_lines(text, lines=1),
        line=line,
        detail=first_lines(text),
    )


def _crash_message(longrepr: Any) -> str:
    """What a phase's report says went wrong: the crash line of a failure, the reason of a
    skip (pytest writes it as [path, line, "Skipped: reason"])."""
    if isinstance(longrepr, dict):
        crash = longrepr.get("reprcrash") or {}
        return str(crash.get("message") or "") or first_lines(_longrepr_text(longrepr), lines=1)
    if isinstance(longrepr, list) and longrepr:
        return str(longrepr[-1])
    return first_lines(str(longrepr or ""), lines=1)


def _longrepr_text(longrepr: Any) -> str:
    if isinstance(longrepr, str):
        return longrepr
    if isinstance(longrepr, dict):
        lines = [
            line
            for entry in (longrepr.get("reprtraceback") or {}).get("reprentries") or []
            for line in (entry.get("data") or {}).get("lines") or []
        ]
        crash = (longrepr.get("reprcrash") or {}).get("message") or ""
        return "\n".join([*lines, crash]).strip()
    return str(longrepr or "")
