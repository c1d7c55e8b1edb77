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
# A compiled test class: a line of Maven's testCompile listing (createdFiles.lst,
# `com/acme/CalcTest.class`), or a path under Maven's or Gradle's test classes.
_CLASS_FILE = re.compile(
    r"^(?:.*?/(?:test-classes|classes/(?:java|kotlin|groovy|scala)/test)/)?"
    r"((?:[\w$]+/)*[\w$]+)\.class$"
)
# Surefire's default <includes> (**/Test*.java, **/*Test.java, **/*Tests.java, **/*TestCase.java)
# and <excludes> (**/*$*: inner classes, which run with their outer class).
_SUREFIRE_DEFAULT = re.compile(r"^(?:Test\w*|\w*(?:Test|Tests|TestCase))$")


def _outer_class(classname: str) -> str:
    """The top-level class: a JUnit 5 `@Nested` class runs with it.

    >>> _outer_class("com.acme.CalcTest$Negative")
    'com.acme.CalcTest'
    """
    return classname.split("$", 1)[0]


class Surefire(Runner):
    """Ids are the test class (`com.acme.CalcTest`); each method (parameterized runs and
    nested classes included) is a result of its own, its variant the method's name.

    Candidates are class names, test source paths (`find src/test/java -name '*.java'`), or
    compiled test classes (Maven's `createdFiles.lst` of testCompile); of the paths and
    compiled classes, those Surefire runs by default (`Test*`, `*Test`, `*Tests`,
    `*TestCase`, no inner class), as it would.

    A class that failed outside its cases (an exception in @BeforeAll or a static
    initializer) is a result of the class with no name (a nested class's, its variant).

    >>> Surefire().identify(ReportCase("add(int, int)[1]", "com.acme.CalcTest$Negative"))
    Identity(test_id='com.acme.CalcTest', suite='com.acme.CalcTest', name='add(int, int)[1]', \
variant='Negative.add(int, int)[1]')
    >>> Surefire().identify(ReportCase("", "com.acme.DatabaseTest"))
    Identity(test_id='com.acme.DatabaseTest', suite='com.acme.DatabaseTest', name='', variant='')
    >>> Surefire().candidates("src/test/java/com/acme/CalcTest.java\\ncom.acme.FooTest").ids
    ['com.acme.CalcTest', 'com.acme.FooTest']
    >>> Surefire().candidates("com/acme/TestFoo.class\\ncom/acme/TestFoo$1.class\\ncom/U.class")
    Candidates(ids=['com.acme.TestFoo'], unrecognized=['com/U.class'])
    >>> Surefire().format(["com.acme.CalcTest", "com.acme.FooTest"])
    '-Dtest=com.acme.CalcTest,com.acme.FooTest'
    """

    name = "maven"
    lists_with = (
        "find src/test/java -name '*.java', Maven's testCompile createdFiles.lst, or class "
        "names; of the files, those Surefire runs by default (Test*, *Test, *Tests, *TestCase)"
    )
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
            path = line.replace("\\", "/")
            source, compiled = _SOURCE_ROOT.search(path), _CLASS_FILE.match(path)
            if source or compiled:
                found = (source or compiled).group(1).replace("/", ".")
                if "$" in found:
                    continue  # an inner class: it runs with its outer class, listed too
                if self.runs_by_default(found):
                    ids.append(found)
                else:
                    unrecognized.append(line)
            elif _CLASS.match(line):
                ids.append(_outer_class(line))
            else:
                unrecognized.append(line)
        return Candidates(_unique(ids), unrecognized)

    def runs_by_default(self, classname: str) -> bool:
        """Whether the runner runs a test source or compiled class of this name without
        being told: Surefire's default includes.

        >>> [Surefire().runs_by_default(f"com.acme.{n}") for n in ("TestFoo", "FooTests", "Util")]
        [True, True, False]
        """
        return bool(_SUREFIRE_DEFAULT.match(classname.rpartition(".")[2]))

    def format(self, tests: Sequence[str]) -> str:
        return "-Dtest=" + ",".join(tests)


class Gradle(Surefire):
    """As Surefire, printed as `--tests Class` filters: no blank or bracket of a
    parameterized name reaches the shell.

    >>> Gradle().format(["com.acme.BarTest", "com.acme.FooTest"])
    '--tests com.acme.BarTest --tests com.acme.FooTest'
    """

    name = "gradle"
    lists_with = "the test sources that hold tests (grep -rlE '@Test|...' src/test), or class names"
    takes_with = "--tests Class --tests Class"

    def runs_by_default(self, classname: str) -> bool:
        """Gradle finds tests by what a class holds, not by its name: every listed file."""
        return True

    def format(self, tests: Sequence[str]) -> str:
        return " ".join(f"--tests {test}" for test in tests)
