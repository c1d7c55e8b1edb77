"""The pytest plugin (entry point `pytest11`): `pytest --pts-target 20% --pts-project P
--pts-build B` collects, asks pts for the subset, deselects the rest, and records every result
when the session ends. Ids are pytest node ids, as `pts record tests --runner pytest` records.

The safety nets of `pts subset` travel with the request (`--pts-must-run GLOB` on node ids,
`--pts-starve-after-builds N`, `--pts-starve-after-days D`, `--pts-full-run`,
`--pts-full-run-every N`, `--pts-full-run-on BRANCH`); the terminal says how many tests they
added, and why.

With pytest-xdist, the first worker to finish collecting asks, and the others read its answer
from a file the controller names, so every worker runs the same subset; the controller alone
records. When pts cannot answer, every test runs and the terminal says why: the build is never
blocked, and never fails because of pts, unless `--pts-fallback fail` asks it to stop the
session (no test runs, and pytest exits with 2, interrupted).

A module that fails to collect (it does not import) is recorded as an error of the module's
node id (`tests/test_x.py`), with the first lines of the error, as pytest's JUnit report has it.

The build itself is recorded too, as `pts record build` records it: the commit at HEAD of the
rootdir's git repository and the files it changes (against `--pts-base`'s merge base, else the
first parent), before pts is asked, so that the change-aware candidates know them;
`--pts-no-record-build` leaves that to `pts record build`.

The plugin writes to the terminal only through pytest's reporter. pts's own log lines become
records of the standard `logging` loggers under `pts` (unless structlog was configured
already), which pytest's logging plugin shows where it shows other logs (`--log-cli-level`,
captured-log sections).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import math
import shutil
import tempfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from pts.core.events import SAFETY_NET_REASONS, Outcome, TestResult

PLUGIN = "pts-session"
FALLBACKS = ("run-all", "fail")


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
    group.addoption(
        "--pts-must-run",
        action="append",
        default=[],
        metavar="GLOB",
        help="Always run the tests whose node id matches (repeatable; * ? [..]), besides the "
        "project's own list on the worker.",
    )
    group.addoption(
        "--pts-starve-after-builds",
        metavar="N",
        help="Run a test with no result in N of the project's builds (default: the project's "
        "setting, else 50; 0: off).",
    )
    group.addoption(
        "--pts-starve-after-days",
        metavar="D",
        help="Run a test with no result in D days (default: the project's setting, else 14; "
        "0: off).",
    )
    group.addoption("--pts-full-run", action="store_true", help="Run every test in this build.")
    group.addoption(
        "--pts-full-run-every",
        metavar="N",
        help="Run every test every N builds of the project (default: the project's setting, "
        "else never; 0: never).",
    )
    group.addoption(
        "--pts-full-run-on",
        action="append",
        default=[],
        metavar="BRANCH",
        help="Run every test when the build's branch matches this glob (repeatable); the "
        "branch is --pts-branch, else the CI's (GITHUB_REF_NAME, ...), else git's.",
    )
    group.addoption("--pts-branch", help="The branch the build tests (for --pts-full-run-on).")
    group.addoption(
        "--pts-no-record-build",
        action="store_true",
        help="Do not record the build (its commit and changed files, from git): `pts record "
        "build` records it.",
    )
    group.addoption(
        "--pts-base",
        metavar="REF",
        help="Branch build: its changed files are the diff against the merge base with REF, "
        "as `pts record build --base` (default: the commit's first parent).",
    )
    group.addoption(
        "--pts-fallback",
        default="run-all",
        metavar="run-all|fail",
        help="When pts cannot answer (no worker, no broker): run-all runs every test; fail "
        "stops the session before any test runs (exit status 2).",
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
    fallback = config.getoption("pts_fallback")
    if fallback not in FALLBACKS:
        raise pytest.UsageError(
            f"pts: --pts-fallback must be one of {', '.join(FALLBACKS)}, not {fallback!r}"
        )
    _keep_logs_off_the_terminal()
    config.pluginmanager.register(PtsSession(config, requested_nets(config)), PLUGIN)


def _keep_logs_off_the_terminal() -> None:
    """pts's log lines (and librdkafka's, which pts logs) as `logging` records, for pytest's
    logging plugin; unconfigured, structlog would print them wherever the terminal's cursor is.
    A project that configured structlog itself keeps its own configuration."""
    import structlog

    from pts.core.logs import configure_into_stdlib

    if not structlog.is_configured():
        configure_into_stdlib()


def requested_nets(config: pytest.Config) -> dict[str, Any]:
    """The safety nets the options ask for, as SubsetRequest fields (-1: not asked, so the
    project's setting, else the default). A bad number is a usage error."""
    from pts.client.branches import branch_matches

    full_run_on = config.getoption("pts_full_run_on")
    return {
        "must_run": tuple(config.getoption("pts_must_run")),
        "starve_after_builds": int(_number(config, "pts_starve_after_builds", whole=True)),
        "starve_after_days": _number(config, "pts_starve_after_days", whole=False),
        "full_run_every": int(_number(config, "pts_full_run_every", whole=True)),
        "full_run": config.getoption("pts_full_run")
        or branch_matches(full_run_on, config.getoption("pts_branch")),
    }


def _number(config: pytest.Config, option: str, whole: bool) -> float:
    """The option's number, 0 or more; -1 when the option is not given."""
    text = config.getoption(option)
    if text is None:
        return -1
    try:
        number = int(text) if whole else float(text)
    except ValueError:
        number = -1
    if not 0 <= number < math.inf:
        kind = "a whole number" if whole else "a number"
        raise pytest.UsageError(
            f"pts: --{option.replace('_', '-')} must be {kind}, 0 or more (0: off), not {text!r}"
        )
    return number


def added_by_nets(reasons: Sequence[str]) -> str:
    """What the safety nets added to a subset, from the reasons of its tests.

    >>> added_by_nets(["model", "must-run", "starved", "starved"])
    '; 3 added by safety nets: must-run 1, starved 2'
    >>> added_by_nets(["model", "failed-last-run"])
    ''
    """
    added = Counter(reason for reason in reasons if reason in SAFETY_NET_REASONS)
    if not added:
        return ""
    kinds = ", ".join(f"{reason} {n}" for reason, n in added.items())
    return f"; {sum(added.values())} added by safety nets: {kinds}"


class PtsSession:
    """One pytest session's subset and results."""

    def __init__(self, config: pytest.Config, nets: dict[str, Any]) -> None:
        self.config = config
        self.nets = nets  # SubsetRequest fields
        self.fallback: str = config.getoption("pts_fallback")
        self.project: str = config.getoption("pts_project")
        self.build: str = config.getoption("pts_build")
        self.target: str | None = config.getoption("pts_target")
        self.flavors: list[str] = config.getoption("pts_flavor")
        self.observe: bool = config.getoption("pts_observe")
        self.records_build = not config.getoption("pts_no_record_build")
        self.base: str | None = config.getoption("pts_base")
        self.results: dict[str, list[pytest.TestReport]] = {}
        self.collect_failures: dict[str, pytest.CollectReport] = {}  # by module node id
        self.answer: dict[str, Any] | None = None
        self.recorded: list[str] | None = None
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
        if not self.target:
            return
        answer = self._shared_answer([item.nodeid for item in items])
        if "error" in answer and self.fallback == "fail":
            self._stop(session, items, f"pts: no subset: {answer['error']} (--pts-fallback fail)")
        if "error" in answer or "empty" in answer or answer["observe"]:
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

    def _stop(self, session: pytest.Session, items: list[pytest.Item], reason: str) -> None:
        """Stop the session before any test runs: pytest exits with 2 (interrupted), and says
        why. xdist takes a worker that exits for a crashed one and starts another, so a worker
        keeps no test and sets `shouldfail`, which the controller turns into the interruption."""
        if not self.is_xdist_worker:
            pytest.exit(reason, returncode=pytest.ExitCode.INTERRUPTED)
        session.shouldfail = reason
        items.clear()

    def _notes(self) -> list[str]:
        """What the terminal says about the build and the subset (under xdist, from the
        workers' answer)."""
        answer = self.answer
        if answer is None and self.answer_file is not None and self.answer_file.exists():
            answer = json.loads(self.answer_file.read_text() or "null")
        if answer is None:
            return []
        return [*answer.get("build_notes", []), self._subset_note(answer)]

    def _subset_note(self, answer: dict[str, Any]) -> str:
        failing = self.fallback == "fail"
        if "empty" in answer:
            nothing = (
                "no test was collected (or all were deselected): pts was not asked for a subset"
            )
            if failing:
                return f"pts: error: {nothing} (--pts-fallback fail)"
            return f"pts: warning: {nothing}"
        if "error" in answer:
            if failing:
                return (
                    f"pts: error: could not choose a subset ({answer['error']}); no test ran "
                    "(--pts-fallback fail)"
                )
            return (
                f"pts: could not choose a subset ({answer['error']}); "
                f"running all {answer['candidates']} tests"
            )
        added = added_by_nets(answer["reasons"][: len(answer["subset"])])
        if answer["observe"]:
            return (
                f"pts: observing: running all {len(answer['ranked'])} tests; the subset would "
                f"have been {len(answer['subset'])}{added}"
            )
        return (
            f"pts: running {len(answer['subset'])} of {len(answer['ranked'])} tests "
            f"({answer['summary']}){added}"
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
        """The build recorded (unless told not to), then the answer for these candidates."""
        build_notes: list[str] = []
        if self.records_build:
            try:
                build_notes = self._record_build()
            except Exception as exc:  # noqa: BLE001 - the broker is down: no answer either
                return {"error": _reason(exc), "candidates": len(candidates)}
        answer = self._answer(candidates)
        return {**answer, "build_notes": build_notes}

    def _answer(self, candidates: list[str]) -> dict[str, Any]:
        """pts's answer for these candidates, or why there is none."""
        from pts.client.subset_client import ask, new_request
        from pts.core.events import Target
        from pts.core.flavors import flavored, parse_flavors
        from pts.core.settings import settings

        if not candidates:  # an empty subset is never chosen in silence
            return {"empty": True}
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
                **self.nets,
            )
            response = ask(settings(), request)  # over PTS_URL's gateway when it is set
        except Exception as exc:  # noqa: BLE001 - whatever it is, the tests still run
            return {"error": _reason(exc), "candidates": len(candidates)}
        return {
            "ranked": [by_request.get(t.test_id, t.test_id) for t in response.ranked],
            "subset": [by_request.get(t, t) for t in response.subset],
            "reasons": [t.reason for t in response.ranked],
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
        for note in (*self._notes(), *self._record_once()):
            terminalreporter.write_line(note)

    def _record_once(self) -> list[str]:
        if (self.results or self.collect_failures) and self.recorded is None:
            notes: list[str] = []
            try:
                count = self._record(notes)
                notes.append(
                    f"pts: recorded {_counted(count, 'test result')} of build {self.build}"
                )
            except Exception as exc:  # noqa: BLE001 - recording never fails the tests
                notes.append(f"pts: warning: the results were not recorded: {_reason(exc)}")
            self.recorded = notes
        return self.recorded or []

    def _record_build(self, with_results: Sequence[Any] = ()) -> list[str]:
        """Publish the build read from git (with `with_results`, batches of its results);
        returns what the terminal should say of it. A repository git cannot read is a
        warning, and the results go alone; a broker that does not answer raises."""
        from pts.client.git_changes import read_build
        from pts.client.publisher import publish
        from pts.core.errors import GitError
        from pts.core.settings import settings

        notes: list[str] = []
        try:
            build, commits = read_build(
                self.config.rootpath, self.project, self.build, "HEAD", self.base,
                settings().record_author_emails, warn=notes.append,
            )  # fmt: skip
        except GitError as exc:
            if with_results:
                publish(settings(), batches=with_results)
            return [
                f"pts: warning: the build was not recorded ({exc}), so its changed files stay "
                "unknown to pts; run pytest in the git repository, or record the build with "
                "`pts record build` and give --pts-no-record-build"
            ]
        publish(settings(), build=build, commits=commits, batches=with_results)
        return [
            *notes,
            f"pts: recorded build {self.build} at {build.commit_sha[:12]}: "
            f"{_counted(len(build.changed_files), 'changed file')}",
        ]

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        if not self.is_xdist_worker and self.answer_file is not None:
            shutil.rmtree(self.answer_file.parent, ignore_errors=True)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if not self.is_xdist_worker:
            self._record_once()  # also when no terminal reports (-p no:terminal)

    def _record(self, notes: list[str]) -> int:
        """Publish the results (and the build, when no subset was asked for); the terminal's
        notes about the build go to `notes`."""
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
        if self.records_build and not self.target:  # with a target, it went before the ask
            notes += self._record_build(with_results=batches)
        else:
            publish(settings(), batches=batches)
        return len(results)


def _reason(exc: Exception) -> str:
    return str(exc) or type(exc).__name__


def _counted(n: int, noun: str) -> str:
    # As pts.options.counted, which the plugin does not import: it would import typer.
    return f"{n} {noun if n == 1 else noun + 's'}"


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
