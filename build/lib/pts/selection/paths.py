"""How test ids and changed file paths relate: names, subjects and directories.

>>> test_location("org/apache/commons/compress/ArchiveReadTest.java")
Location(directories=('org', 'apache', 'commons', 'compress'), stem='ArchiveReadTest')
>>> test_location("org.example.FooTest::testBar").stem
'FooTest'
>>> test_location("tests/unit/test_parser.py::TestX::test_ok")
Location(directories=('tests', 'unit'), stem='test_parser')
>>> subject_of("X5455_ExtendedTimestampTest"), subject_of("test_parser"), subject_of("sum.test")
('X5455_ExtendedTimestamp', 'parser', 'sum')
>>> sorted(name_tokens("ZipArchiveInputStream"))
['archive', 'input', 'stream', 'zip']
>>> is_test_file("src/test/java/org/Foo.java"), is_test_file("src/main/java/org/FooTest.java")
(True, True)
>>> is_test_file("src/main/java/org/Foo.java"), is_test_file("pom.xml")
(False, False)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

_SOURCE_SUFFIXES = (
    ".java",
    ".py",
    ".kt",
    ".scala",
    ".go",
    ".js",
    ".jsx",
    ".ts",
    ".tsx",
    ".rb",
    ".cs",
    ".cpp",
    ".cc",
    ".c",
    ".h",
    ".rs",
    ".php",
    ".groovy",
    ".swift",
)
# Directories that say where code lives, not what it is about.
_ROOTS = frozenset(
    {
        "src",
        "main",
        "test",
        "tests",
        "java",
        "kotlin",
        "scala",
        "python",
        "lib",
        "resources",
        "testing",
        "it",
        "spec",
        "specs",
        "__tests__",
        "pkg",
        "internal",
        "com",
        "org",
        "net",
        "io",
        "apache",
        "commons",
    }
)
_TEST_AFFIXES = re.compile(
    r"(^tests?_|^Tests?(?=[A-Z])|_?tests?$|_?TestCase$|Tests?$|IT$|"
    r"\.(test|spec)$|_spec$)"
)
_TEST_DIRECTORIES = frozenset({"test", "tests", "testing", "__tests__", "spec", "specs"})
_TOKEN = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")


@dataclass(frozen=True, slots=True)
class Location:
    directories: tuple[str, ...]
    stem: str


def _strip_suffix(name: str) -> str:
    for suffix in _SOURCE_SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


@lru_cache(maxsize=65536)
def test_location(test_id: str) -> Location:
    """Where a test lives, from its id: a file path, a dotted class name, or 'suite::name'."""
    suite = test_id.split("::", 1)[0]
    if "/" in suite or suite.endswith(_SOURCE_SUFFIXES):
        parts = suite.split("/")
        parts[-1] = _strip_suffix(parts[-1])
    else:
        parts = suite.split(".")
    parts = [p for p in parts if p]
    if not parts:
        return Location((), test_id)
    return Location(tuple(parts[:-1]), parts[-1])


@lru_cache(maxsize=65536)
def file_location(path: str) -> Location:
    """Where a changed file lives: its directories and its name without the extension."""
    parts = path.split("/")
    return Location(tuple(parts[:-1]), _strip_suffix(parts[-1]))


@lru_cache(maxsize=65536)
def is_test_file(path: str) -> bool:
    """Whether a changed file is test code: under a test directory, or named like a test."""
    location = file_location(path)
    if any(d.lower() in _TEST_DIRECTORIES for d in location.directories):
        return True
    return subject_of(location.stem) != location.stem


@lru_cache(maxsize=65536)
def subject_of(test_stem: str) -> str:
    """The name of what a test tests: its stem without Test/test_/.spec affixes."""
    subject = _TEST_AFFIXES.sub("", test_stem)
    return subject or test_stem


@lru_cache(maxsize=65536)
def name_tokens(name: str) -> frozenset[str]:
    """The lower-cased words of a camelCase, snake_case or dotted name."""
    return frozenset(t.lower() for t in _TOKEN.findall(name))


@lru_cache(maxsize=65536)
def topic_directories(directories: tuple[str, ...]) -> frozenset[str]:
    """Directories that say what the code is about (source roots left out)."""
    return frozenset(d.lower() for d in directories if d.lower() not in _ROOTS)


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)
