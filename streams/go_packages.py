"""The Go packages each owned project's test ids have named, by last path element, and the
`go-packages` records to publish when an element gains a package.

A record holds every package known for its element, so publishing it again (a replay after a
crash, a restore after a rebalance) writes the same. The book is derived from the tests the
project's history knows, so a restored project's book is rebuilt from its history, and its
records are published again: what a crash kept from reaching the topic reaches it then.

>>> book = GoPackageBook()
>>> book.learn("shop", ["example.com/a/util::TestX", "example.com/a/util::TestY"])
[PackagesOf(project='shop', element='util', packages=('example.com/a/util',))]
>>> book.learn("shop", ["example.com/a/util::TestZ", "tests/test_calc.py::test_add"])
[]
>>> [r.packages for r in book.learn("shop", ["example.com/b/util"])]
[('example.com/a/util', 'example.com/b/util')]
"""

from __future__ import annotations

from collections.abc import Iterable

from pts.core.go_packages import PackagesOf, go_packages, last_element


class GoPackageBook:
    """Per project: last element -> the full import paths seen with it."""

    def __init__(self) -> None:
        self._known: dict[str, dict[str, set[str]]] = {}

    def learn(self, project: str, test_ids: Iterable[str]) -> list[PackagesOf]:
        """Note the packages `test_ids` name; the records of the elements that gained one."""
        known = self._known.setdefault(project, {})
        gained: set[str] = set()
        for package in go_packages(test_ids):
            element = last_element(package)
            packages = known.setdefault(element, set())
            if package not in packages:
                packages.add(package)
                gained.add(element)
        return [self._record(project, element) for element in sorted(gained)]

    def restore(self, project: str, test_ids: Iterable[str]) -> list[PackagesOf]:
        """The project's book rebuilt from the tests its history knows; every record of it."""
        self.forget(project)
        self.learn(project, test_ids)
        return [self._record(project, element) for element in sorted(self._known[project])]

    def forget(self, project: str) -> None:
        self._known.pop(project, None)

    def _record(self, project: str, element: str) -> PackagesOf:
        return PackagesOf(project, element, tuple(sorted(self._known[project][element])))
