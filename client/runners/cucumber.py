"""Cucumber (cucumber-js and Cucumber-JVM): the unit is the feature file."""

from __future__ import annotations

import re

from pts.client.runners.base import (
    Candidates,
    Identity,
    ReportCase,
    Runner,
    _lines,
    _unique,
    json_listing,
    relative_path,
)

_FEATURE = re.compile(r"^(.+\.feature)(:\d+)*$")


class Cucumber(Runner):
    """Ids are feature files (`features/calc.feature`); each scenario is a result, its
    variant the scenario's name (the rows of a scenario outline: `Multiplying #1`, `#2`).

    Why the file and not a scenario: `features/calc.feature:12` runs one scenario in
    cucumber-js and Cucumber-JVM alike, but its line moves whenever the file is edited above
    it, and its history would be lost with it; a scenario's name is no way to run it (`--name`
    is a pattern over every feature). The file is what both runners take, with a stable name.

    Candidates are feature files, one per line (`find features -name '*.feature'`; a
    `file.feature:LINE` is its file), or the JSON report of a dry run (cucumber-js
    `--dry-run --format json`), whose features are the candidates.

    >>> c = Cucumber()
    >>> c.identify(ReportCase("Adding", file="features/calc.feature"))
    Identity(test_id='features/calc.feature', suite='features/calc.feature', name='Adding', \
variant='Adding')
    >>> c.candidates("features/calc.feature:3\\nfeatures/history.feature\\n").ids
    ['features/calc.feature', 'features/history.feature']
    """

    name = "cucumber"
    lists_with = "find features -name '*.feature'"
    example = "features/calc.feature"
    takes_with = "feature files, one per line (xargs -d '\\n' cucumber-js)"
    report_suffixes = (".json",)
    listing_documents = ("json",)

    def identify(self, case: ReportCase) -> Identity:
        feature = relative_path(case.file or case.classname)
        if not case.name:
            return Identity(feature, feature, "")
        return Identity(feature, feature, case.name, case.name)

    def candidates(self, text: str) -> Candidates:
        document = json_listing(text)
        if isinstance(document, list):
            uris = [f.get("uri", "") for f in document if isinstance(f, dict)]
            return Candidates(_unique([feature_path(uri) for uri in uris if uri]))
        ids, unrecognized = [], []
        for line in _lines(text):
            feature = _FEATURE.match(line)
            if feature:
                ids.append(relative_path(feature.group(1)))
            else:
                unrecognized.append(line)
        return Candidates(_unique(ids), unrecognized)


def feature_path(uri: str) -> str:
    """The feature file a runner is given, from the report's `uri` (Cucumber-JVM writes
    `file:` and `classpath:` URIs; `classpath:` ones stay, as Cucumber-JVM takes them).

    >>> feature_path("file:src/test/resources/x.feature"), feature_path("features/y.feature")
    ('src/test/resources/x.feature', 'features/y.feature')
    """
    if uri.startswith("file:"):
        uri = uri.removeprefix("file:").removeprefix("//")
    return relative_path(uri)
