"""pytest and Robot Framework."""

from __future__ import annotations

import re
from collections.abc import Sequence

from pts.client.runners.base import (
    Candidates,
    Identity,
    ReportCase,
    Runner,
    _lines,
    _unique,
    xml_listing,
)

# `pytest --collect-only -q` ends with a summary ("9 tests collected in 0.01s", "no tests
# ran", "1 error", "!!! Interrupted: 1 error during collection !!!"); -qq prints "path: count"
# per file.
_PYTEST_SUMMARY = re.compile(
    r"^(=+ .* =+|!+ .* !+|\d+(/\d+)? tests? (collected|deselected)|no tests (ran|collected)|"
    r"\d+ errors?\b|[\w./-]+\.py: \d+$)"
)
_SECTION = re.compile(r"^=+ (.*) =+$")
# A module that failed to collect, in the short summary: "ERROR tests/test_x.py [- reason]".
_COLLECT_ERROR = re.compile(r"^ERROR (\S+)(?: - .*)?$")


class Pytest(Runner):
    """Ids are node ids (`tests/test_calc.py::TestDiv::test_exact[2-1]`), which pytest runs.

    The file comes from the report's `file` attribute (junit_family=legacy or xunit1) or
    else from the dotted classname: the module is the part before the first capitalised
    (class) component.

    A module that failed to collect (it did not import) is a result of the module's node id
    (`tests/test_x.py`): pytest runs the module from it. Its tests are not known while it
    fails: `pytest --collect-only -q` prints `ERROR tests/test_x.py` in their stead, which is
    read as that candidate, so the module's failure ranks it into the next subset.

    >>> p = Pytest()
    >>> p.identify(ReportCase("test_sub", classname="tests.test_ops")).test_id
    'tests/test_ops.py::test_sub'
    >>> p.identify(ReportCase("test_x[a b]", "tests.test_ops.TestOps", "tests/test_ops.py")).test_id
    'tests/test_ops.py::TestOps::test_x[a b]'
    >>> p.identify(ReportCase("tests.test_x", suite="pytest")).test_id  # a collection failure
    'tests/test_x.py'
    """

    name = "pytest"
    lists_with = "pytest --collect-only -q"
    example = "tests/test_calc.py::test_add"
    takes_with = "node ids, one per line (pytest @FILE, pytest 8.2+)"

    def identify(self, case: ReportCase) -> Identity:
        if not case.classname:
            # pytest's JUnit report names a module it could not collect by its dotted path,
            # with no classname (and its file, with junit_family=legacy).
            module = case.file.removeprefix("./")
            if not module.endswith(".py"):
                module = case.name.replace(".", "/") + ".py"
            return Identity(module, module, "")
        parts = case.classname.split(".")
        if case.file.endswith(".py"):
            path = case.file.removeprefix("./")
            module = path.removesuffix(".py").replace("/", ".")
            classes = case.classname.removeprefix(module).strip(".").split(".")
        else:
            first_class = next((i for i, p in enumerate(parts) if p[:1].isupper()), len(parts))
            path = "/".join(parts[:first_class]) + ".py" if first_class else case.suite
            classes = parts[first_class:]
        node = "::".join([path, *[c for c in classes if c], case.name])
        return Identity(node, path, case.name)

    def candidates(self, text: str) -> Candidates:
        ids, unrecognized = [], []
        in_errors = False  # the ERRORS section: tracebacks, whose lines are no ids
        for line in _lines(text):
            section = _SECTION.match(line)
            if section:
                in_errors = section.group(1) == "ERRORS"
            elif in_errors:
                continue
            collect_error = _COLLECT_ERROR.match(line)
            if collect_error:
                ids.append(collect_error.group(1))
            elif "::" in line and not line.startswith(("<", "=")):
                ids.append(line)
            elif not _PYTEST_SUMMARY.match(line):
                unrecognized.append(line)
        return Candidates(_unique(ids), unrecognized)


class Robot(Runner):
    """Ids are `Suite.Sub.Test name` (robot --xunit, and output.xml); the subset is an
    argument file of `--test` options (`robot --argumentfile FILE`), so names may hold blanks.
    The listing is the output.xml (or RF 7's output.json) of `robot --dryrun`, or one
    `Suite.Test` name per line.

    >>> print(Robot().format(["Tests.Calc.Add Numbers", "Tests.Calc.Divide"]))
    --test Tests.Calc.Add Numbers
    --test Tests.Calc.Divide
    """

    name = "robot"
    lists_with = "robot --dryrun --output dryrun.xml (its output), or one Suite.Test per line"
    example = "Tests.Calc.Add Numbers"
    takes_with = "an argument file of --test options (robot --argumentfile FILE)"
    listing_documents = ("xml", "json")

    def identify(self, case: ReportCase) -> Identity:
        suite = case.classname or case.suite
        return Identity(f"{suite}.{case.name}", suite, case.name)

    def candidates(self, text: str) -> Candidates:
        start = text.lstrip("\ufeff \t\r\n")[:1]
        if start == "<":
            return Candidates(_unique(_dryrun_tests(text)))
        if start == "{":
            from pts.client.report_formats.robot import json_test_names

            return Candidates(_unique(json_test_names(text)))
        return super().candidates(text)

    def format(self, tests: Sequence[str]) -> str:
        return "\n".join(f"--test {test}" for test in tests)


def _dryrun_tests(text: str) -> list[str]:
    """The tests of a Robot output.xml given as the listing; any other XML is refused."""
    from pts.client.report_formats.robot import test_names  # report_formats imports runners

    root = xml_listing(
        text, "Robot", "robot", "Robot's output.xml of robot --dryrun, or one Suite.Test per line"
    )
    return test_names(root)
