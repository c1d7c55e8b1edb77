"""What a runner profile is: how a report's test case maps to an id the runner can run, how
the runner lists its tests, and how it takes a subset.

The id of a result is the *unit* the runner can be told to run: a pytest node id, a Go
package's top-level test, a Java class, a JavaScript or Ruby spec file, a Bazel target. The
cases within a unit stay results of their own, told apart by their `variant` (the case's
name within the unit), so every test case of a report is recorded.

A failure outside test cases (a pytest module that did not import, a Go package that did not
build, a Java class whose @BeforeAll threw, a spec file that did not load) is a result of the
unit the runner can run to see it again, the module, package, class or file, with no name: it
is learned and stored as any failure, so that the next subset runs that unit.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from pts.core.errors import ConfigError
from pts.core.events import Outcome


@dataclass(frozen=True, slots=True)
class ReportCase:
    """One test case as a report states it, before any runner names it."""

    name: str
    classname: str = ""
    file: str = ""  # the case's file attribute, else the nearest enclosing suite's
    suite: str = ""  # the nearest enclosing testsuite's name
    report: Path = Path()
    outcome: Outcome = Outcome.PASSED
    duration_s: float = 0.0
    message: str = ""
    line: int | None = None
    detail: str = ""  # the failure's body (a traceback, build output), beside its message


@dataclass(frozen=True, slots=True)
class Identity:
    """What a runner calls a case: the unit it runs (the test id), and the case within it; no
    name when the report's entry is the unit's own failure, outside any of its cases."""

    test_id: str
    suite: str
    name: str
    variant: str = ""

    @property
    def whole_unit(self) -> bool:
        return not self.name


@dataclass(frozen=True, slots=True)
class Candidates:
    """The test ids read from a runner's listing, and the lines that were not ids."""

    ids: list[str]
    unrecognized: list[str] = field(default_factory=list)


class Runner:
    """A runner profile; subclasses override what differs from the plain JUnit reading."""

    name = "junit"
    lists_with = "one test id per line"  # the command whose output `candidates` reads
    example = "org.example.FooTest::testAdd"  # an id in the form the profile expects
    takes_with = "one id per line"
    report_suffixes: tuple[str, ...] = (".xml",)  # what a directory of reports is searched for
    # The documents `candidates` reads as a listing besides lines ("xml", "json": Robot's
    # --dryrun output, NUnit's --explore, ctest --show-only=json-v1); any other document given
    # as a listing is refused before `candidates` sees it.
    listing_documents: tuple[str, ...] = ()

    def identify(self, case: ReportCase) -> Identity:
        suite = case.classname or case.suite or case.file
        if not case.name:  # the suite failed outside its cases
            return Identity(suite, suite, "")
        return Identity(f"{suite}::{case.name}", suite, case.name)

    def candidates(self, text: str) -> Candidates:
        ids = []
        for line in _lines(text):
            ids.append(line)
        return Candidates(_unique(ids))

    def format(self, tests: Sequence[str]) -> str:
        """The subset as the runner takes it; empty when there is nothing to run."""
        return "\n".join(tests)


def _lines(text: str) -> list[str]:
    """The non-blank lines of a listing, without `#` comments."""
    stripped = (line.strip() for line in text.splitlines())
    return [line for line in stripped if line and not line.startswith("#")]


def json_listing(text: str) -> Any | None:
    """The JSON document a listing is (`jest --listTests --json`, `vitest list --json`), or
    None when it is lines.

    >>> json_listing('["/src/a.test.js"]'), json_listing("[chromium] › a.spec.ts:3:1 › t")
    (['/src/a.test.js'], None)
    """
    if not text.lstrip("\ufeff \t\r\n").startswith(("[", "{")):
        return None
    try:
        return json.loads(text.lstrip("\ufeff"))
    except ValueError:
        return None


def xml_listing(text: str, runner: str, root_tag: str, expected: str) -> Element:
    """The root of the XML document a listing is, when its root element is `root_tag`; a
    `ConfigError` that names `expected` (the form the runner lists in) otherwise.

    >>> xml_listing("<test-run/>", "dotnet", "test-run", "NUnit's --explore").tag
    'test-run'
    >>> xml_listing("<foo/>", "cts", "Result", "Tradefed's")
    Traceback (most recent call last):
    pts.core.errors.ConfigError: the cts listing is an XML document with root <foo>, not Tradefed's
    """
    try:
        root = fromstring(text.encode())
    except (DefusedXmlException, SyntaxError) as e:  # expat's ParseError is a SyntaxError
        raise ConfigError(
            f"the {runner} listing is not well-formed XML ({e}): expected {expected}"
        ) from e
    if root.tag != root_tag:
        tag = root.tag.rpartition("}")[2]
        raise ConfigError(
            f"the {runner} listing is an XML document with root <{tag}>, not {expected}"
        )
    return root


def _unique(ids: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(ids))


def shell_safe(token: str) -> bool:
    """Whether an unquoted `$(...)` passes the token on as one unchanged word: no blank (word
    splitting) and no glob character (pathname expansion).

    >>> shell_safe("-Dtest=com.acme.FooTest"), shell_safe("add(int, int)[1]")
    (True, False)
    """
    return not re.search(r"[\s*?\[]", token)


def relative_path(path: str, base: Path | None = None) -> str:
    """`path` relative to `base` (the working directory) when under it, with forward slashes
    and no leading `./`.

    >>> relative_path("./spec/calc_spec.rb")
    'spec/calc_spec.rb'
    """
    posix = path.replace("\\", "/")
    if posix.startswith("/"):
        root = (base or Path.cwd()).resolve().as_posix().rstrip("/") + "/"
        if posix.startswith(root):
            posix = posix[len(root) :]
    while posix.startswith("./"):
        posix = posix[2:]
    return posix
