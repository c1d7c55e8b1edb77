"""Android CTS and the other Tradefed suites (`cts-tradefed run cts`): the unit is a test class
of a module, `module class`, as `--include-filter` takes it.

Why the class: it is what the JVM runners select too; a test (`module class#test`) would make
a subset of CTS's two million tests a command line of hundreds of thousands of filters, and a
module (hours for some) leaves too little to choose. A module that did not finish is a result
of the module alone, which `--include-filter` runs as well.
"""

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

_ABI = re.compile(r"^(?:arm64-v8a|armeabi-v7a|armeabi|x86_64|x86|riscv64|mips64|mips)$")
_CLASS = re.compile(r"^[\w$.\-]+$")


class Cts(Runner):
    """Ids are `module class` (`CtsAccountManagerTestCases android.accounts.cts.AccountTest`);
    each test is a result, its variant the test's name (and its ABI where the module ran for
    two). The subset is one `--include-filter=module class` argument per line.

    >>> Cts().format(["CtsFoo android.foo.BarTest"])
    '--include-filter=CtsFoo android.foo.BarTest'
    >>> Cts().candidates("arm64-v8a CtsFoo android.foo.BarTest#testA\\nCtsFoo").ids
    ['CtsFoo android.foo.BarTest']
    """

    name = "cts"
    lists_with = "a test_result.xml of an earlier run, or `module class` lines"
    example = "CtsFoo android.foo.cts.BarTest"
    takes_with = "--include-filter=module class (one per line)"
    listing_documents = ("xml",)

    def identify(self, case: ReportCase) -> Identity:
        unit = case.classname
        module = case.file or unit.split(" ", 1)[0]
        if not case.name:  # the module did not finish
            return Identity(unit, module, "")
        return Identity(unit, module, case.name, case.name)

    def candidates(self, text: str) -> Candidates:
        if text.lstrip("\ufeff \t\r\n").startswith("<"):
            return Candidates(_result_units(text))
        ids, unrecognized = [], []
        for line in _lines(text):
            words = line.split()
            if words and _ABI.match(words[0]):
                words = words[1:]
            if len(words) == 2 and _CLASS.match(words[1].split("#", 1)[0]):
                ids.append(f"{words[0]} {words[1].split('#', 1)[0]}")
            else:
                unrecognized.append(line)
        return Candidates(_unique(ids), unrecognized)

    def format(self, tests: Sequence[str]) -> str:
        return "\n".join(f"--include-filter={test}" for test in tests)


def _result_units(text: str) -> list[str]:
    """The `module class` units of a test_result.xml, in file order, each once; and a module
    that did not finish, as its results name it."""
    root = xml_listing(text, "cts", "Result", "a Tradefed test_result.xml (<Result>)")
    units = []
    for module in root.findall("Module"):
        name = module.get("name") or ""
        units.extend(f"{name} {testcase.get('name')}" for testcase in module.findall("TestCase"))
        if module.get("done") == "false" and module.find("Reason") is not None:
            units.append(name)  # it did not finish: the module is a unit of its own
    return _unique(units)
