"""A list of test ids written the way a test runner takes it (`pts subset --format`).

Ids are `suite::name`, or the suite alone when recorded with `--level suite`.

>>> tests = ["org.x.FooTest::testA", "org.x.BarTest"]
>>> print(format_tests(tests, "lines"))
org.x.FooTest::testA
org.x.BarTest
>>> format_tests(tests, "maven")
'-Dtest=org.x.FooTest#testA,org.x.BarTest'
>>> format_tests(tests, "gradle")
'--tests org.x.FooTest.testA --tests org.x.BarTest'
>>> format_tests(["com.acme.BarTest::add(int, int)[1]", "com.acme.BarTest::add(int, int)[2]"],
...              "gradle")
'--tests com.acme.BarTest.add'
>>> format_tests(tests, "comma")
'org.x.FooTest::testA,org.x.BarTest'
>>> format_tests([], "maven")  # nothing to select: no -Dtest= that would select nothing
''
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from pts.core.errors import ConfigError


def _maven(tests: Sequence[str]) -> str:
    # Surefire's -Dtest takes Class#method, comma-separated.
    return "-Dtest=" + ",".join(test.replace("::", "#", 1) for test in tests)


def _gradle(tests: Sequence[str]) -> str:
    # Gradle's --tests filter takes the class, or class.method: a parameterized run's name
    # (`add(int, int)[1]`) is cut to its method, so no blank or bracket meets the shell.
    filters = (re.split(r"[(\[]", test.replace("::", ".", 1), maxsplit=1)[0] for test in tests)
    return " ".join(f"--tests {f}" for f in dict.fromkeys(filters))


FORMATS: dict[str, Callable[[Sequence[str]], str]] = {
    "lines": "\n".join,
    "comma": ",".join,
    "maven": _maven,
    "gradle": _gradle,
}


def check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise ConfigError(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")


def format_tests(tests: Sequence[str], fmt: str) -> str:
    """`tests` in the format `fmt` (see FORMATS); empty when there are none."""
    check_format(fmt)
    return FORMATS[fmt](tests) if tests else ""
