"""Cucumber's JSON report (cucumber-js `--format json:FILE`, Cucumber-JVM's `json:FILE` plugin).

The report is a list of features (`uri`: the feature file), each with its `elements`: the
scenarios (one per example row of a scenario outline), and, in Cucumber-JVM's report, a
`background` element before each scenario, whose steps run as that scenario's. A scenario is
one result of its feature file: failed if any step or hook failed (or is ambiguous), skipped
if none failed and one was skipped, undefined or pending, passed otherwise; its duration is
its steps' and hooks' (nanoseconds in both runners). The rows of a scenario outline are
repeats of its name, told apart by their ordinal.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pts.client.report_formats.json_text import plain, read_json
from pts.client.runners.base import ReportCase
from pts.client.runners.cucumber import feature_path
from pts.core.errors import ReportError
from pts.core.events import Outcome

FORM = "Cucumber JSON report"
_FAILED = {"failed", "ambiguous"}
_NOT_RUN = {"skipped", "undefined", "pending"}


def sniff(head: str) -> bool:
    start = head.lstrip("\ufeff \t\r\n")
    # A feature's `uri` may come after its elements (cucumber-js), past what is sniffed.
    return start.startswith("[") and all(key in head for key in ('"elements"', '"keyword"'))


def read(path: Path) -> list[ReportCase]:
    features = read_json(path, FORM)
    if not isinstance(features, list):
        raise ReportError(str(path), None, f"not a {FORM}: no list of features")
    cases = []
    for feature in features:
        if not isinstance(feature, dict):
            raise ReportError(str(path), None, f"not a {FORM}: a feature is no object")
        uri = feature_path(str(feature.get("uri") or ""))
        background: list[dict[str, Any]] = []
        for element in feature.get("elements") or []:
            if element.get("type") == "background":
                background = _steps(element)
                continue
            cases.append(_scenario(path, uri, feature, element, background))
            background = []
    return cases


def _steps(element: dict[str, Any]) -> list[dict[str, Any]]:
    hooks = [*(element.get("before") or []), *(element.get("after") or [])]
    return [*hooks, *(element.get("steps") or [])]


def _scenario(
    path: Path,
    uri: str,
    feature: dict[str, Any],
    element: dict[str, Any],
    background: list[dict[str, Any]],
) -> ReportCase:
    results = [step.get("result") or {} for step in [*background, *_steps(element)]]
    statuses = [str(result.get("status") or "") for result in results]
    failed = next((r for r, s in zip(results, statuses, strict=True) if s in _FAILED), None)
    if failed is not None:
        outcome, message = Outcome.FAILED, plain(str(failed.get("error_message") or "failed"))
    elif any(status in _NOT_RUN for status in statuses):
        outcome = Outcome.SKIPPED
        message = next(s for s in statuses if s in _NOT_RUN)
    else:
        outcome, message = Outcome.PASSED, ""
    nanoseconds = sum(max(float(result.get("duration") or 0), 0.0) for result in results)
    return ReportCase(
        name=str(element.get("name") or element.get("id") or ""),
        classname=uri,
        file=uri,
        suite=str(feature.get("name") or uri),
        report=path,
        outcome=outcome,
        duration_s=nanoseconds / 1e9,
        message=message,
    )
