"""Go packages as the Launchable CLI names them, by their import path's last element (its
go-test profile keeps `calc` of `example.com/sample/calc`, in `record tests` and in `subset`),
resolved to the full import path the project's own ids use, so that one history grows.

An element resolves when the project's tests named exactly one package with it; with none
(the project's first results, or only ever recorded through the CLI) or several
(`example.com/a/util` and `example.com/b/util`), the short name stays.

>>> known = {"calc": ("example.com/sample/calc",), "util": ("a/util", "b/util")}
>>> full_packages({"calc", "util", "strs"}, lambda element: known.get(element, ()))
{'calc': 'example.com/sample/calc'}
>>> short_packages([[{"type": "class", "name": "calc"}, {"type": "testcase", "name": "TestA"}],
...                 [{"type": "class", "name": "example.com/m/strs"}], "no path"])
{'calc'}
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from pts.gateway.launchable_paths import BadTestPath, components


def short_packages(paths: Iterable[Any]) -> set[str]:
    """The packages go-test paths name by a last element alone (a class without `/`); a path
    that is none is left to whoever reads it (`launchable_paths` refuses it with a reason)."""
    shorts = set()
    for path in paths:
        try:
            package = components(path).get("class", "")
        except BadTestPath:
            continue
        if package and "/" not in package:
            shorts.add(package)
    return shorts


def full_packages(elements: Iterable[str], known: Callable[[str], Sequence[str]]) -> dict[str, str]:
    """Each element that stands for exactly one known package, with that package."""
    resolved = {}
    for element in elements:
        packages = known(element)
        if len(packages) == 1:
            resolved[element] = packages[0]
    return resolved
