"""Jest, Vitest, Cypress and Playwright: the unit is the spec file, which each takes."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pts.client.runners.base import (
    Candidates,
    Identity,
    ReportCase,
    Runner,
    _lines,
    _unique,
    json_listing,
    relative_path,
)
from pts.core.errors import ReportError

_SPEC_FILE = re.compile(r"\.(c|m)?(j|t)sx?$|\.(vue|svelte|feature|rb)$")
_LOAD_FAILURE = "Test suite failed to run"  # jest-junit's classname for a file that did not load


def _looks_like_file(text: str) -> bool:
    return bool(_SPEC_FILE.search(text.strip()))


class Jest(Runner):
    """Ids are spec files relative to the working directory (`src/sum.test.js`); each test
    in the file is a result, its variant the full title.

    jest-junit's default report holds no file at all (the suite is named after the first
    `describe`), so the file comes from the `file` attribute (`JEST_JUNIT_ADD_FILE_ATTRIBUTE
    =true`) or a suite named `{filepath}` (`JEST_JUNIT_SUITE_NAME`).

    A file that failed to load (a missing import, a syntax error) is a result of the file with
    no name: jest-junit writes it as a case of class "Test suite failed to run" (only with
    `JEST_JUNIT_REPORT_TEST_SUITE_ERRORS=true`: by default it leaves the file out), Vitest as
    a case named after the file.

    >>> Jest().identify(ReportCase(" sometimes fails", file="src/flaky.test.js")).test_id
    'src/flaky.test.js'
    >>> Jest().identify(ReportCase("src/a.test.js", "src/a.test.js"))
    Identity(test_id='src/a.test.js', suite='src/a.test.js', name='', variant='')

    Candidates are `jest --listTests` lines (absolute paths, made relative to the working
    directory, where jest runs) or its `--json` array; Vitest's `vitest list` lines (`file >
    title`) or its `--json` array of `{"file": ...}`.

    >>> Jest().candidates("/nowhere/a.test.js\\nsrc/b.test.ts\\n").ids
    ['/nowhere/a.test.js', 'src/b.test.ts']
    >>> Jest().candidates('["/nowhere/a.test.js", "src/b.test.ts"]').ids
    ['/nowhere/a.test.js', 'src/b.test.ts']
    """

    name = "jest"
    lists_with = "jest --listTests"
    example = "src/sum.test.js"
    listing_documents = ("json",)
    takes_with = "spec files, one per line (xargs -d '\\n' jest --runTestsByPath)"
    needs_file = (
        "jest-junit wrote no test file: set JEST_JUNIT_ADD_FILE_ATTRIBUTE=true "
        "(or JEST_JUNIT_SUITE_NAME='{filepath}')"
    )

    def spec_file(self, case: ReportCase) -> str:
        for candidate in (case.file, case.suite, case.classname):
            if candidate and _looks_like_file(candidate):
                return relative_path(candidate)
        raise ReportError(str(case.report), case.line, self.needs_file)

    def identify(self, case: ReportCase) -> Identity:
        spec = self.spec_file(case)
        title = case.name.strip()
        if case.classname == _LOAD_FAILURE or relative_path(title) == spec:
            return Identity(spec, spec, "")
        return Identity(spec, spec, title, title)

    def candidates(self, text: str) -> Candidates:
        document = json_listing(text)
        if isinstance(document, list):
            # `jest --listTests --json`: paths; `vitest list --json`: {"name", "file"} objects
            specs = [e.get("file", "") if isinstance(e, dict) else str(e) for e in document]
        else:
            # `vitest list` prints `file > title`
            specs = [line.split(" > ", 1)[0].strip() for line in _lines(text)]
        ids, unrecognized = [], []
        for spec in specs:
            (ids if _looks_like_file(spec) else unrecognized).append(relative_path(spec))
        return Candidates(_unique(ids), unrecognized)


class Vitest(Jest):
    """As Jest; Vitest's JUnit reporter names the file in the classname. Candidates are
    `vitest list --filesOnly` (or `vitest list`) lines.

    >>> Vitest().candidates("src/a.test.js > sum > adds\\nsrc/a.test.js > other\\n").ids
    ['src/a.test.js']
    >>> Vitest().candidates('[{"name": "adds", "file": "/nowhere/src/a.test.js"}]').ids
    ['/nowhere/src/a.test.js']
    """

    name = "vitest"
    lists_with = "vitest list --filesOnly"
    takes_with = "spec files, one per line (xargs -d '\\n' vitest run)"
    needs_file = "the report names no test file (vitest --reporter=junit names it)"


class Cypress(Jest):
    """Ids are spec files: mocha-junit-reporter names the file only on the root suite
    (`<testsuite name="Root Suite" file=...>`), which every case inherits here.

    >>> Cypress().format(["cypress/e2e/a.cy.js", "cypress/e2e/b.cy.js"])
    'cypress/e2e/a.cy.js,cypress/e2e/b.cy.js'
    """

    name = "cypress"
    lists_with = "find cypress/e2e -name '*.cy.*'"
    example = "cypress/e2e/login.cy.js"
    takes_with = '--spec a,b (cypress run --spec "$SPEC")'
    listing_documents = ()  # spec files found, one per line
    needs_file = "the report names no spec file (mocha-junit-reporter writes it on Root Suite)"

    def format(self, tests: Sequence[str]) -> str:
        return ",".join(tests)


class Playwright(Jest):
    """Ids are spec files as Playwright names them, relative to its test directory (the
    JUnit report's testsuite and classname, the JSON report's `file`); a test per project is a
    repeat, told apart by the project (Playwright's JUnit reporter writes it as the suite's
    `hostname`; its JSON reporter names it, and each retry). Given to `playwright test`, a spec
    file is a filter on the files' paths, which the path relative to the test directory
    matches.

    Candidates are `playwright test --list` lines, or its JSON form (`--list --reporter=json`:
    the spec files of its suites, and the files that did not load, from its `errors`).

    >>> listing = "  [chromium] › example.spec.ts:3:5 › has title\\nTotal: 1 test in 1 file"
    >>> Playwright().candidates(listing).ids
    ['example.spec.ts']
    """

    name = "playwright"
    lists_with = "playwright test --list"
    example = "example.spec.ts"
    takes_with = "spec files, one per line (xargs -d '\\n' playwright test)"
    needs_file = "the report names no spec file (Playwright's junit reporter names it)"
    # A directory is searched for JUnit reports only: Playwright keeps other JSON files in its
    # output folder (test-results/.last-run.json); its JSON report is given as a file.

    def candidates(self, text: str) -> Candidates:
        document = json_listing(text)
        if isinstance(document, dict):
            return Candidates(_unique(_json_specs(document)))
        ids, unrecognized = [], []
        for line in _lines(text):
            fields = [f.strip() for f in re.split(r" › | > ", line)]
            spec = next(
                (f.rsplit(":", 2)[0] for f in fields if _looks_like_file(f.split(":", 1)[0])),
                None,
            )
            if spec:
                ids.append(relative_path(spec))
            elif not line.startswith(("Total:", "Listing tests:")):
                unrecognized.append(line)
        return Candidates(_unique(ids), unrecognized)


def _json_specs(report: dict[str, Any]) -> list[str]:
    """The spec files of a Playwright JSON report (of `--list`): those with tests, and those
    that did not load (their path relative to the report's rootDir, as the suites' are)."""
    root = Path(str((report.get("config") or {}).get("rootDir") or "."))
    failed = [(e.get("location") or {}).get("file") for e in report.get("errors") or []]
    specs = [relative_path(file, root) for file in failed if file]

    def walk(suite: dict[str, Any]) -> None:
        specs.extend(spec["file"] for spec in suite.get("specs") or [] if spec.get("tests"))
        for child in suite.get("suites") or []:
            walk(child)

    for suite in report.get("suites") or []:
        walk(suite)
    return specs
