"""Flavors: one test run in several environments (`--flavor os=linux --flavor py=3.11`).

A flavored test is a test of its own to the model and in the history: its id carries the
flavor as a canonical suffix, keys sorted, so `os=linux,py=3.11` and `py=3.11,os=linux` are
one flavor. The runner never sees the suffix: candidates get it on the way in, and the
subset loses it on the way out.

>>> flavor = parse_flavors(["py=3.11", "os=linux"])
>>> flavor
'os=linux,py=3.11'
>>> flavored("tests/test_a.py::test_x[1]", flavor)
'tests/test_a.py::test_x[1] [os=linux,py=3.11]'
>>> unflavored(flavored("tests/test_a.py::test_x[1]", flavor), flavor)
'tests/test_a.py::test_x[1]'
>>> flavored("t", "")
't'
>>> of_flavor("t [os=linux]", "os=linux"), of_flavor("t [os=linux]", ""), of_flavor("t", "")
(True, False, True)
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from pts.core.errors import ConfigError

_SUFFIX = re.compile(r" \[[A-Za-z0-9_.-]+=[^\]]*\]$")
_PART = re.compile(r"^([A-Za-z0-9_.-]+)=([^,=\[\]\s]+)$")


def parse_flavors(options: Sequence[str]) -> str:
    """The canonical flavor of `--flavor key=value` options; empty for none."""
    pairs: dict[str, str] = {}
    for option in options:
        found = _PART.match(option.strip())
        if not found:
            raise ConfigError(
                f"--flavor must be key=value (letters, digits, _.- in the key; no blank, comma, "
                f"= or bracket in the value), not {option!r}"
            )
        key, value = found.groups()
        if pairs.get(key, value) != value:
            raise ConfigError(f"--flavor {key} is given twice: {pairs[key]!r} and {value!r}")
        pairs[key] = value
    return ",".join(f"{key}={pairs[key]}" for key in sorted(pairs))


def suffix(flavor: str) -> str:
    return f" [{flavor}]" if flavor else ""


def flavored(test_id: str, flavor: str) -> str:
    """The id the model and the history know the test by in this flavor."""
    return test_id + suffix(flavor)


def unflavored(test_id: str, flavor: str) -> str:
    """The id the runner knows."""
    return test_id.removesuffix(suffix(flavor)) if flavor else test_id


def of_flavor(test_id: str, flavor: str) -> bool:
    """Whether the id is a test of this flavor (of no flavor, for '')."""
    if flavor:
        return test_id.endswith(suffix(flavor))
    return not _SUFFIX.search(test_id)
