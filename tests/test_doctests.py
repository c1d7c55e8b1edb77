"""Every module's doctests, imported under its real `pts.…` name.

pytest's `--doctest-modules` would import `streams/app.py` as `streams.app`, a second copy
beside `pts.streams.app`; this runs each module's examples once, as users import it.
"""

from __future__ import annotations

import doctest
import importlib

import pytest

from tests.layout import modules

MODULES = modules()


@pytest.mark.parametrize("module_name", [m.name for m in MODULES])
def test_doctests_pass(module_name: str) -> None:
    module = importlib.import_module(module_name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in finder.find(module, module_name):
        runner.run(test)
    results = runner.summarize(verbose=False)
    assert results.failed == 0, f"{results.failed} of {results.attempted} examples failed"


def test_every_package_is_covered() -> None:
    packages = {m.name.rsplit(".", 1)[0] for m in MODULES if m.name.count(".") > 1}
    for expected in ("pts.core", "pts.streams", "pts.ops", "pts.sinks", "pts.client"):
        assert expected in packages
    examples = 0
    for module in MODULES:
        found = doctest.DocTestFinder(exclude_empty=True).find(importlib.import_module(module.name))
        examples += sum(len(test.examples) for test in found)
    assert examples >= 20  # the helpers' examples are found, not silently skipped
