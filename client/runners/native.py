"""Bazel, CTest and Google Test."""

from __future__ import annotations

import re
from collections.abc import Sequence

from pts.client.runners.base import Candidates, Identity, ReportCase, Runner, _lines, _unique
from pts.core.errors import ReportError

_LABEL = re.compile(r"^(@[\w.-]*)?//[\w./@+-]*(:[\w./@+=,~-]+)?$")
# bazel-testlogs/<package>/<target>/[shard_1_of_3/][run_1_of_2/][attempt_1/]test.xml
_TESTLOG = re.compile(
    r"(?:^|/)bazel-testlogs/(.+?)(?:/(?:shard|run)_\d+_of_\d+|/attempt_\d+)*/test\.xml$"
)
_GTEST_MAIN = re.compile(r"^Running main\(\) from ")  # gtest_main's greeting
_CTEST_LIST = re.compile(r"^Test\s+#\d+:\s+(.+?)(?: \(Disabled\))?$")


def _regex_escape(name: str) -> str:
    return re.sub(r"([\\.^$|?*+()\[\]{}])", r"\\\1", name)


class Bazel(Runner):
    """Ids are target labels (`//pkg/calc:calc_test`), from where the report lies
    (`bazel-testlogs/pkg/calc/calc_test/test.xml`, shards and attempts included), never the
    Java classes inside; each case is a result, its variant `class::name`. From the Build
    Event Protocol (`--build_event_json_file`), each attempt of a target is a result.

    >>> Bazel().identify(ReportCase("testAdd", "com.acme.CalcTest", report=__import__("pathlib")
    ...     .Path("bazel-testlogs/pkg/calc/calc_test/shard_1_of_2/test.xml"))).test_id
    '//pkg/calc:calc_test'
    """

    name = "bazel"
    lists_with = "bazel query 'tests(//...)'"
    example = "//pkg/calc:calc_test"
    takes_with = "target labels, one per line (xargs -d '\\n' bazel test)"

    def identify(self, case: ReportCase) -> Identity:
        if _LABEL.match(case.classname):  # a target's attempt in the Build Event Protocol
            return Identity(case.classname, case.classname, case.name)
        found = _TESTLOG.search(case.report.as_posix())
        if not found:
            raise ReportError(
                str(case.report), None, "not under bazel-testlogs/<package>/<target>/test.xml"
            )
        package, _, target = found.group(1).rpartition("/")
        label = f"//{package}:{target}"
        inner = f"{case.classname}::{case.name}" if case.classname else case.name
        return Identity(label, label, case.name, inner)

    def candidates(self, text: str) -> Candidates:
        ids, unrecognized = [], []
        for line in _lines(text):
            (ids if _LABEL.match(line) else unrecognized).append(line)
        return Candidates(_unique(ids), unrecognized)


class CTest(Runner):
    """Ids are CTest's test names (`ctest --output-junit`, and the `Testing/<tag>/Test.xml` of
    `ctest -T Test`); candidates `ctest -N` (a disabled test included, it is still a test) or
    `ctest --show-only=json-v1`; the subset is `-R ^(a|b)$`.

    >>> CTest().candidates("Test project /b\\n  Test #1: calc_add\\n  Test #2: calc.div\\n").ids
    ['calc_add', 'calc.div']
    >>> CTest().candidates("  Test #3: net_fetch (Disabled)\\n").ids
    ['net_fetch']
    >>> CTest().format(["calc_add", "calc.div"])
    '-R ^(calc_add|calc\\\\.div)$'
    """

    name = "ctest"
    lists_with = "ctest -N, or ctest --show-only=json-v1"
    example = "calc_add"
    takes_with = "-R ^(a|b)$"
    listing_documents = ("json",)

    def identify(self, case: ReportCase) -> Identity:
        return Identity(case.name, case.classname or case.name, case.name)

    def candidates(self, text: str) -> Candidates:
        if text.lstrip("\ufeff \t\r\n").startswith(("{", "[")):
            from pts.client.report_formats.ctest import json_v1_names  # it imports runners

            return Candidates(_unique(json_v1_names(text)))
        ids, unrecognized = [], []
        for line in _lines(text):
            listed = _CTEST_LIST.match(line)
            if listed:
                ids.append(listed.group(1).strip())
            elif not line.startswith(("Test project", "Total Tests:")):
                unrecognized.append(line)
        return Candidates(_unique(ids), unrecognized)

    def format(self, tests: Sequence[str]) -> str:
        return f"-R ^({'|'.join(_regex_escape(t) for t in tests)})$"


class GoogleTest(Runner):
    """Ids are Google Test's full names, `Suite.Test` (`CalcTest.Add`, `Small/EvenTest.IsEven/0`),
    from its XML or JSON report (`--gtest_output=xml:FILE` or `json:FILE`); candidates
    `--gtest_list_tests`; the subset is one `--gtest_filter`. Through CTest
    (`gtest_discover_tests`), use the ctest profile: CTest names the tests itself.

    >>> GoogleTest().candidates("Calc.\\n  Add\\nSmall/Even.\\n  Is/0  # GetParam() = 2").ids
    ['Calc.Add', 'Small/Even.Is/0']
    >>> GoogleTest().format(["CalcTest.Add", "CalcTest.Divide"])
    '--gtest_filter=CalcTest.Add:CalcTest.Divide'
    """

    name = "gtest"
    lists_with = "TEST_BINARY --gtest_list_tests"
    example = "CalcTest.Add"
    takes_with = "--gtest_filter=Suite.Test:Suite.Test"
    report_suffixes = (".xml", ".json")

    def identify(self, case: ReportCase) -> Identity:
        suite = case.classname or case.suite
        if not case.name:  # the suite's own failure (SetUpTestSuite): `Suite.*` runs it again
            return Identity(f"{suite}.*", suite, "")
        return Identity(f"{suite}.{case.name}", suite, case.name)

    def candidates(self, text: str) -> Candidates:
        ids, unrecognized = [], []
        suite = None
        for raw in text.splitlines():
            line = raw.split("  #", 1)[0].rstrip()  # "  # GetParam() = 2", "  # TypeParam = int"
            if not line.strip() or _GTEST_MAIN.match(line):
                continue
            if not line[0].isspace() and line.endswith("."):
                suite = line
            elif line[0].isspace() and suite is not None:
                ids.append(suite + line.strip())
            else:
                unrecognized.append(raw.strip())
        return Candidates(_unique(ids), unrecognized)

    def format(self, tests: Sequence[str]) -> str:
        return "--gtest_filter=" + ":".join(tests)
