"""The pytest plugin (entry point `pytest11`): `pytest --pts-target 20% --pts-project P
--pts-build B` collects, asks pts for the subset, deselects the rest, and records every result
when the session ends. Ids are pytest node ids, as `pts record tests --runner pytest` records.

With pytest-xdist, the first worker to finish collecting asks, and the others read its answer
from a file the controller names, so every worker runs the same subset; the controller alone
records. When pts cannot answer, every test runs and the terminal says why: the build is never
blocked, and never fails because of pts.

A module that fails to collect (it does not import) is recorded as an error of the module's
node id (`tests/test_x.py`), with the first lines of the error, as pytest's JUnit report has it.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from pts.core.events import Outcome, TestResult

PLUGIN = "pts-session"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("pts", "predictive test selection (pts)")
    group.addoption(
        "--pts-target",
        help="Run only the subset pts chooses: 20%% of the expected time, 5m, or 90%%c.",
    )
    group.addoption("--pts-project", help="The pts project (repository or CI workspace).")
    group.addoption("--pts-build", help="The CI build id, unique in the project.")
    group.addoption(
        "--pts-record",
        action="store_true",
        help="Record the results at the end (implied by --pts-target).",
    )
    group.addoption(
        "--pts-flavor",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="The environment the tests run in (repeatable); history is kept per flavor.",
    )
    group.addoption(
        "--pts-observe",
        action="store_true",
        help="Run every test, but record the subset pts would have chosen.",
    )


def pytest_configure(config: pytest.Config) -> None:
    wanted = config.getoption("pts_target") or config.getoption("pts_record")
    if not wanted:
        return
    from pts.core.errors import ConfigError
    from pts.core.events import Target
    from pts.core.flavors import parse_flavors

    for option in ("pts_project", "pts_build"):
        if not config.getoption(option):
            raise pytest.UsageError(f"--{option.replace('_', '-')} is needed with --pts-target")
    try:  # usage errors stop the session before it starts, as pts subset's do
        parse_flavors(config.getoption("pts_flavor"))
        if config.getoption("pts_target"):
            Target.parse(config.getoption("pts_target"))
    except ConfigError as exc:
        raise pytest.UsageError(f"pts: {exc}") from exc
    config.pluginmanager.register(PtsSession(config), PLUGIN)


class PtsSession:
    """One pytest session's subset and results."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.project: str = config.getoption("pts_project")
        self.build: str = config.getoption("pts_build")
        self.target: str | None = config.getoption("pts_target")
        self.flavors: list[str] = config.getoption("pts_flavor")
        self.observe: bool = config.getoption("pts_observe")
        self.results: dict[str, list[pytest.TestReport]] = {}
        self.collect_failures: dict[str, pytest.CollectReport] = {}  # by module node id
        self.answer: dict[str, Any] | None = None
        self.recorded: str | None = None
        worker_input = getattr(config, "workerinput", None)
        self.is_xdist_worker = worker_input is not None
        self.answer_file = Path(worker_input["pts_answer"]) if worker_input else None
        if not self.is_xdist_worker and config.pluginmanager.hasplugin("xdist"):
            folder = Path(tempfile.mkdtemp(prefix="pts-xdist-"))
            self.answer_file = folder / "answer.json"

    # xdist: tell each worker where the one answer is kept
    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        if self.answer_file is not None:
            node.workerinput["pts_answer"] = str(self.answer_file)

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(
        self, session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        if not self.target or not items:
            return
        answer = self._shared_answer([item.nodeid for item in items])
        if "error" in answer or answer.get("observe"):
            return
        order = {test: i for i, test in enumerate(answer["ranked"])}
        chosen = set(answer["subset"])
        kept = sorted((i for i in items if i.nodeid in chosen), key=lambda i: order[i.nodeid])
        if not kept:  # nothing chosen: run everything rather than nothing
            return
        rest = [i for i in items if i.nodeid not in chosen]
        if rest:
            config.hook.pytest_deselected(items=rest)
        items[:] = kept

    def _note(self) -> str | None:
        """What the terminal says about the subset (under xdist, from the workers' answer)."""
        answer = self.answer
        if answer is None and self.answer_file is not None and self.answer_file.exists():
            answer = json.loads(self.answer_file.read_text() or "null")
        if answer is None:
            return None
        if "error" in answer:
            return (
                f"pts: could not choose a subset ({answer['error']}); "
                f"running all {answer['candidates']} tests"
            )
        if answer.get("observe"):
            return (
                f"pts: observing: running all {len(answer['ranked'])} tests; the subset would "
                f"have been {len(answer['subset'])}"
            )
        return (
            f"pts: running {len(answer['subset'])} of {len(answer['ranked'])} tests "
            f"({answer['summary']})"
        )

    def _shared_answer(self, candidates: list[str]) -> dict[str, Any]:
        """The answer for these candidates; under xdist, one answer for every worker."""
        if self.answer_file is None:
            self.answer = self._ask(candidates)
            return self.answer
        with self.answer_file.open("a+") as shared:
            fcntl.flock(shared, fcntl.LOCK_EX)
            shared.seek(0)
            text = shared.read()
            if text:
                return json.loads(text)
            answer = self._ask(candidates)
            shared.write(json.dumps(answer))
            return answer

    def _ask(self, candidates: list[str]) -> dict[str, Any]:
        from pts.client.subset_client import SubsetClient, new_request
        from pts.core.events import Target
        from pts.core.flavors import flavored, parse_flavors
        from pts.core.settings import settings

        try:
            flavors = parse_flavors(self.flavors)
            requested = [flavored(test, flavors) for test in candidates]
            by_request = dict(zip(requested, candidates, strict=True))
            request = replace(
                new_request(
                    settings(), self.project, self.build, requested, Target.parse(self.target)
                ),
                flavor=flavors,
                observe=self.observe,
            )
            client = SubsetClient(settings())
            try:
                response = client.request(request)
            finally:
                client.close()
        except Exception as exc:  # noqa: BLE001 - whatever it is, the tests still run
            return {"error": str(exc) or type(exc).__name__, "candidates": len(candidates)}
        return {
            "ranked": [by_request.get(t.test_id, t.test_id) for t in response.ranked],
            "subset": [by_request.get(t, t) for t in response.subset],
            "observe": self.observe,
            "summary": f"{response.expected_share_of_time:.0%} of the expected time, "
            f"model {response.model}",
        }

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if not self.is_xdist_worker:
            self.results.setdefault(report.nodeid, []).append(report)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        # Under xdist, the controller hears of each failed collection once, from a worker.
        if report.failed and not self.is_xdist_worker:
            self.collect_failures.setdefault(report.nodeid, report)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.is_xdist_worker:
            return
        for note in (self._note(), self._record_once()):
            if note:
                terminalreporter.write_line(note)

    def _record_once(self) -> str | None:
        if (self.results or self.collect_failures) and self.recorded is None:
            try:
                count = self._record()
                self.recorded = f"pts: recorded {count} test results of build {self.build}"
            except Exception as exc:  # noqa: BLE001 - recording never fails the tests
                self.recorded = f"pts: warning: the results were not recorded: {exc}"
        return self.recorded

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        if not self.is_xdist_worker and self.answer_file is not None:
            shutil.rmtree(self.answer_file.parent, ignore_errors=True)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if not self.is_xdist_worker:
            self._record_once()  # also when no terminal reports (-p no:terminal)

    def _record(self) -> int:
        from pts.client.junit_reports import slice_results
        from pts.client.publisher import batches_of, publish
        from pts.core.flavors import flavored, parse_flavors
        from pts.core.settings import settings

        flavors = parse_flavors(self.flavors)
        results = [
            _collect_failure(flavored(nodeid, flavors), nodeid, report)
            for nodeid, report in self.collect_failures.items()
        ]
        results += [
            _result(flavored(nodeid, flavors), reports) for nodeid, reports in self.results.items()
        ]
        digest = hashlib.sha256(
            json.dumps([(r.test_id, r.outcome.value, r.duration_s) for r in results]).encode()
        ).hexdigest()[:16]
        batches = batches_of(
            self.project, self.build, "pytest-plugin", slice_results(results), digest
        )
        batches = [replace(batch, flavor=flavors) for batch in batches]
        publish(settings(), batches=batches)
        return len(results)


def _collect_failure(test_id: str, module: str, report: pytest.CollectReport) -> TestResult:
    """A module that failed to collect, as an error of the module (no test name, no time)."""
    from pts.client.messages import first_lines

    return TestResult(
        test_id=test_id,
        suite=module,
        name="",
        outcome=Outcome.ERROR,
        duration_s=0.0,
        message=first_lines(str(report.longrepr or "")),
    )


def _result(test_id: str, reports: list[pytest.TestReport]) -> TestResult:
    """One node's result from its setup, call and teardown reports."""
    outcome, message = Outcome.PASSED, ""
    for report in reports:
        if report.failed:
            outcome = Outcome.FAILED if report.when == "call" else Outcome.ERROR
            message = str(report.longrepr)[-4000:] if report.longrepr else ""
            break
        if report.skipped:
            outcome = Outcome.SKIPPED
    file, _, name = test_id.partition("::")
    return TestResult(
        test_id=test_id,
        suite=file,
        name=name,
        outcome=outcome,
        duration_s=round(sum(r.duration for r in reports), 6),
        message=message,
    )
