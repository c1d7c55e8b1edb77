"""Maven Surefire and Gradle: the unit is the test class, which both runners filter by."""

from __future__ import annotations

import re
from collections.abc import Sequence

from pts.client.runners.base import Candidates, Identity, ReportCase, Runner, _lines, _unique

# What Surefire and Gradle name the case of a class that failed before (or after) its cases:
# Surefire 3 no name, Surefire 2 the class's own; JUnit 4 and Gradle "initializationError"
# ("executionError" once cases ran), Gradle with JUnit 4 or TestNG "classMethod".
_CLASS_FAILURES = ("", "initializationError", "executionError", "classMethod")
_SOURCE_ROOT = re.compile(r"(?:^|/)(?:java|kotlin|groovy|scala)/(.+)\.(?:java|kt|groovy|scala)$")
_CLASS = re.compile(r"^[\w$]+(\.[\w$]+)*$")


def _outer_class(classname: str) -> str:
    """The top-level class: a JUnit 5 `@Nested` class runs with it.

    >>> _outer_class("com.acme.CalcTest$Negative")
    'com.acme.CalcTest'
    """
    return classname.split("$", 1)[0]


class Surefire(Runner):
    """Ids are the test class (`com.acme.CalcTest`); each method (parameterized runs and
    nested classes included) is a result of its own, its variant the method's name.

    Candidates are class names, or test source paths (`find src/test/java -name '*Test.java'`).

    A class that failed outside its cases (an exception in @BeforeAll or a static
    initializer) is a result of the class with no name (a nested class's, its variant).

    >>> Surefire().identify(ReportCase("add(int, int)[1]", "com.acme.CalcTest$Negative"))
    Identity(test_id='com.acme.CalcTest', suite='com.acme.CalcTest', name='add(int, int)[1]', \
variant='Negative.add(int, int)[1]')
    >>> Surefire().identify(ReportCase("", "com.acme.DatabaseTest"))
    Identity(test_id='com.acme.DatabaseTest', suite='com.acme.DatabaseTest', name='', variant='')
    >>> Surefire().candidates("src/test/java/com/acme/CalcTest.java\\ncom.acme.FooTest").ids
    ['com.acme.CalcTest', 'com.acme.FooTest']
    >>> Surefire().format(["com.acme.CalcTest", "com.acme.FooTest"])
    '-Dtest=com.acme.CalcTest,com.acme.FooTest'
    """

    name = "maven"
    lists_with = "find src/test/java -name '*Test.java' (or class names)"
    example = "com.acme.CalcTest"
    takes_with = "-Dtest=Class,Class"

    def identify(self, case: ReportCase) -> Identity:
        classname = case.classname or case.suite
        unit = _outer_class(classname)
        inner = classname[len(unit) + 1 :].replace("$", ".")
        if case.name in _CLASS_FAILURES or case.name == classname:
            return Identity(unit, unit, "", inner)
        return Identity(unit, unit, case.name, f"{inner}.{case.name}" if inner else case.name)

    def candidates(self, text: str) -> Candidates:
        ids, unrecognized = [], []
        for line in _lines(text):
            source = _SOURCE_ROOT.search(line.replace("\\", "/"))
            if source:
                ids.append(_outer_class(source.group(1).replace("/", ".")))
            elif _CLASS.match(line):
                ids.append(_outer_class(line))
            else:
                unrecognized.append(line)
        return Candidates(_unique(ids), unrecognized)

    def format(self, tests: Sequence[str]) -> str:
        return "-Dtest=" + ",".join(tests)


class Gradle(Surefire):
    """As Surefire, printed as `--tests Class` filters: no blank or bracket of a
    parameterized name reaches the shell.

    >>> Gradle().format(["com.acme.BarTest", "com.acme.FooTest"])
    '--tests com.acme.BarTest --tests com.acme.FooTest'
    """

    name = "gradle"
    lists_with = "find src/test -name '*Test.java' -o -name '*Test.kt' (or class names)"
    takes_with = "--tests Class --tests Class"

    def format(self, tests: Sequence[str]) -> str:
        return " ".join(f"--tests {test}" for test in tests)
