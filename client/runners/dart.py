"""Dart and Flutter (`dart test`, `flutter test`): the unit is the test file."""

from __future__ import annotations

from pts.client.runners.base import (
    Candidates,
    Identity,
    ReportCase,
    Runner,
    _lines,
    _unique,
    relative_path,
)


class DartTest(Runner):
    """Ids are test files (`test/calc_test.dart`), which `dart test` and `flutter test` take;
    each test is a result, its variant the test's full name (its groups' names first). A file
    that did not load, or whose `setUpAll` threw, is the file's own failure.

    The results are the test package's JSON reporter's (`dart test --reporter json`,
    `flutter test --machine`), saved to a file; candidates are the test files, one per line.

    >>> DartTest().identify(ReportCase("sum adds", file="test/calc_test.dart")).variant
    'sum adds'
    >>> DartTest().candidates("test/calc_test.dart\\nREADME.md\\n")
    Candidates(ids=['test/calc_test.dart'], unrecognized=['README.md'])
    """

    name = "dart"
    lists_with = "find test -name '*_test.dart'"
    example = "test/calc_test.dart"
    takes_with = "test files, one per line (xargs -d '\\n' dart test)"
    report_suffixes = (".json", ".jsonl")

    def identify(self, case: ReportCase) -> Identity:
        file = relative_path(case.file or case.classname)
        if not case.name:
            return Identity(file, file, "")
        return Identity(file, file, case.name, case.name)

    def candidates(self, text: str) -> Candidates:
        ids, unrecognized = [], []
        for line in _lines(text):
            (ids if line.endswith(".dart") else unrecognized).append(relative_path(line))
        return Candidates(_unique(ids), unrecognized)


class FlutterTest(DartTest):
    """As Dart: `flutter test --machine > report.json` writes the same JSON reporter's events.

    >>> FlutterTest().takes_with
    "test files, one per line (xargs -d '\\\\n' flutter test)"
    """

    name = "flutter"
    takes_with = "test files, one per line (xargs -d '\\n' flutter test)"
