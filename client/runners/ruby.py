"""RSpec and minitest: the unit is the spec or test file."""

from __future__ import annotations

from pts.client.runners.base import ReportCase
from pts.client.runners.javascript import Jest
from pts.core.errors import ReportError


class RSpec(Jest):
    """Ids are spec files from rspec_junit_formatter's `file` attribute (`./spec/x_spec.rb`
    becomes `spec/x_spec.rb`), never its dotted classname; each example is a result.

    >>> RSpec().identify(ReportCase("Calc adds", "spec.calc_spec", "./spec/calc_spec.rb")).test_id
    'spec/calc_spec.rb'
    """

    name = "rspec"
    lists_with = "find spec -name '*_spec.rb'"
    example = "spec/models/user_spec.rb"
    takes_with = "spec files, one per line (xargs -d '\\n' bundle exec rspec)"
    needs_file = "the report names no spec file (rspec_junit_formatter writes file=)"
    listing_documents = ()  # files, one per line: no JSON listing as Jest's

    def spec_file(self, case: ReportCase) -> str:
        if case.file.endswith(".rb"):
            return super().spec_file(case)
        raise ReportError(str(case.report), case.line, self.needs_file)


class Minitest(RSpec):
    """Ids are test files (minitest-reporters' JUnitReporter writes `file=`)."""

    name = "minitest"
    lists_with = "find test -name '*_test.rb'"
    example = "test/models/user_test.rb"
    takes_with = "test files, one per line (xargs -d '\\n' bin/rails test)"
    needs_file = "the report names no test file (minitest-reporters' JUnitReporter writes file=)"
