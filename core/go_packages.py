"""Go packages named in test ids, by their import path's last element, and the record of the
compacted topic `go-packages` that tells the gateway which full import paths a project's
element stands for (the Launchable CLI's go-test profile names a package by its last element
alone: `calc`, where pts's ids say `example.com/sample/calc`).

>>> go_package("example.com/sample/calc::TestAdd")
'example.com/sample/calc'
>>> go_package("example.com/sample/parse [os=linux]")  # a package that failed to build
'example.com/sample/parse'
>>> go_package("tests/test_calc.py::test_add"), go_package("com.acme.CalcTest")
(None, None)
>>> record = PackagesOf("shop", "calc", ("example.com/sample/calc",))
>>> PackagesOf.from_json(record.to_json()) == record, record.key
(True, b'["shop", "calc"]')
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass

# A top-level test `go test -run` selects, as pts's Go runner names them (pts.client.runners.go).
_GO_TEST_STARTS = ("Test", "Benchmark", "Example", "Fuzz")
_GO_TEST = re.compile(rf"^({'|'.join(_GO_TEST_STARTS)})\w*$")
# An import path of at least two elements: a one-element package is named in full anyway.
_IMPORT_PATH = re.compile(r"^[\w.~+-]+(/[\w.~+-]+)+$")


def go_package(test_id: str) -> str | None:
    """The Go package a test id names: the part before `::` when a Go test's name follows it,
    or the whole id when it is an import path whose last element has no `.` (a package that
    failed outside its tests; a file path has a `.`). None for any other id. A flavor suffix
    (` [key=value]`) is not part of it."""
    head = test_id.split(" [", 1)[0]
    package, separator, name = head.partition("::")
    if separator:
        if not _GO_TEST.match(name):
            return None
    elif "." in last_element(package):
        return None
    return package if _IMPORT_PATH.match(package) else None


def go_packages(test_ids: Iterable[str]) -> set[str]:
    """The Go packages `test_ids` name (`go_package` of each, asked once per package).

    >>> sorted(go_packages(["a.io/m/calc::TestAdd", "a.io/m/calc::TestDiv", "a.io/m/x", "t"]))
    ['a.io/m/calc', 'a.io/m/x']
    """
    found: set[str] = set()
    for test_id in test_ids:
        # Cheap necessary conditions first: most ids of other runners are out at once.
        if "/" not in test_id:
            continue
        head, separator, name = test_id.partition("::")
        if head in found or (separator and not name.startswith(_GO_TEST_STARTS)):
            continue
        package = go_package(test_id)
        if package is not None:
            found.add(package)
    return found


def last_element(package: str) -> str:
    """What the Launchable CLI keeps of an import path.

    >>> last_element("example.com/sample/calc"), last_element("calc")
    ('calc', 'calc')
    """
    return package.rsplit("/", 1)[-1]


@dataclass(frozen=True, slots=True)
class PackagesOf:
    """Every full import path a project's tests have named with this last element."""

    project: str
    element: str
    packages: tuple[str, ...]  # sorted

    @property
    def key(self) -> bytes:
        return json.dumps([self.project, self.element]).encode()

    def to_json(self) -> bytes:
        return json.dumps(
            {"project": self.project, "element": self.element, "packages": list(self.packages)}
        ).encode()

    @classmethod
    def from_json(cls, value: bytes) -> PackagesOf:
        """The record; ValueError when `value` is not one."""
        record = json.loads(value)
        if not isinstance(record, dict):
            raise ValueError("a go-packages record must be a JSON object")
        project, element, packages = (record.get(k) for k in ("project", "element", "packages"))
        if not (
            isinstance(project, str)
            and isinstance(element, str)
            and isinstance(packages, list)
            and all(isinstance(p, str) for p in packages)
        ):
            raise ValueError("a go-packages record needs project, element and packages")
        return cls(project, element, tuple(sorted(packages)))
