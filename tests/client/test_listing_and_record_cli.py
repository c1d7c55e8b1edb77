"""`pts subset` refusing input that is no listing, and `pts record tests` on bad and empty
results files, through the real command line with no broker."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from tests.conftest import run_pts

RUNS = Path(__file__).resolve().parent.parent / "fixtures" / "runners"


def no_broker(unreachable: str, tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PTS_KAFKA_BOOTSTRAP": unreachable,
        "PTS_SUBSET_TIMEOUT_S": "1",
        "PTS_RECORD_TIMEOUT_S": "1",
        "PTS_DATA_DIR": str(tmp_path / "data"),
    }


def subset(env: dict[str, str], *args: str, stdin: str | None = None):
    return run_pts(env, "subset", "-p", "p", "-b", "1", "--target", "20%", *args, stdin=stdin)


def test_a_report_given_as_the_listing_is_a_one_line_error(
    unreachable_bootstrap: str, tmp_path: Path
) -> None:
    env = no_broker(unreachable_bootstrap, tmp_path)
    report = RUNS / "pytest/pytest-xunit2.xml"
    result = subset(env, "--runner", "pytest", str(report))
    assert result.returncode == 2 and result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith(f"pts: error: {report}: an XML document, not a listing of pytest")
    assert "`pytest --collect-only -q`" in line


def test_binary_input_is_refused_even_with_fallback_run_all(
    unreachable_bootstrap: str, tmp_path: Path
) -> None:
    env = no_broker(unreachable_bootstrap, tmp_path)
    binary = tmp_path / "list.txt"
    binary.write_bytes(b"src/a.test.js\n" + bytes(range(256)))
    result = subset(env, "--runner", "jest", "--fallback", "run-all", str(binary))
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.strip() == (
        f"pts: error: {binary}:2: binary data (a NUL byte), not a listing of jest tests: "
        "expected `jest --listTests` output (its JSON form), ids like 'src/sum.test.js'"
    )


def test_a_json_listing_the_profile_reads_gives_its_candidates(
    unreachable_bootstrap: str, tmp_path: Path
) -> None:
    env = no_broker(unreachable_bootstrap, tmp_path)
    listing = (RUNS / "playwright/list.json").read_text()
    result = subset(env, "--runner", "playwright", stdin=listing)
    assert result.returncode == 0, result.stderr  # no broker: every candidate, with a warning
    assert result.stdout.splitlines() == ["calc.spec.js", "flaky.spec.js"]


def test_the_mismatch_warning_shows_the_profiles_example_as_the_expected_form(
    unreachable_bootstrap: str, tmp_path: Path
) -> None:
    env = no_broker(unreachable_bootstrap, tmp_path)
    listing = "tests/test_calc.py\ntests/test_calc.py::test_add\nsomething else\n"
    result = subset(env, "--runner", "pytest", stdin=listing)
    [warning] = [line for line in result.stderr.splitlines() if "candidate line" in line]
    assert warning == (
        "pts: warning: left out 2 candidate lines that are no pytest test id (the first: "
        "'tests/test_calc.py'); pytest ids look like 'tests/test_calc.py::test_add', as "
        "`pytest --collect-only -q` lists them"
    )


def record(env: dict[str, str], *reports: str, runner: str = "pytest"):
    return run_pts(
        env, "record", "tests", "-p", "p", "-b", "1", "--runner", runner, "--dry-run", *reports
    )


def test_each_bad_report_is_named_on_a_line_of_its_own(
    unreachable_bootstrap: str, tmp_path: Path
) -> None:
    env = no_broker(unreachable_bootstrap, tmp_path)
    (tmp_path / "broken.xml").write_text("<testsuite><testcase name='a'>")
    (tmp_path / "html.xml").write_text("<html></html>")
    good = RUNS / "pytest/pytest-xunit2.xml"
    result = record(env, str(tmp_path / "broken.xml"), str(good), str(tmp_path / "html.xml"))
    assert result.returncode == 2
    assert len(result.stdout.splitlines()) == 9  # the good report is still published
    errors = [line for line in result.stderr.splitlines() if line.startswith("pts: error:")]
    assert [line.split(": ")[2] for line in errors] == [
        f"{tmp_path / 'broken.xml'}:1",
        f"{tmp_path / 'html.xml'}:1",
        "2 bad reports, not published",
    ]


def test_a_results_file_that_holds_nothing_is_warned_of_and_only_it_is_an_error(
    unreachable_bootstrap: str, tmp_path: Path
) -> None:
    env = no_broker(unreachable_bootstrap, tmp_path)
    (tmp_path / "zero.json").write_bytes(b"")  # the runner crashed before writing
    (tmp_path / "cucumber.json").write_text("[]\n")  # cucumber-js found no scenario to run
    (tmp_path / "crashed.jsonl").write_text(
        json.dumps({"pytest_version": "9.2.0", "$report_type": "SessionStart"}) + "\n"
    )  # the run broke before any test reported
    shutil.copy(RUNS / "playwright/broken/junit.xml", tmp_path / "junit.xml")  # no test ran
    names = ("zero.json", "cucumber.json", "crashed.jsonl", "junit.xml")
    nothing = record(env, *(str(tmp_path / name) for name in names))
    assert nothing.returncode == 2 and nothing.stdout == ""
    warnings = [line for line in nothing.stderr.splitlines() if line.startswith("pts: warning")]
    assert [w.split(": ")[2] for w in warnings] == [str(tmp_path / name) for name in names]
    assert "holds no test cases" in warnings[0]
    assert nothing.stderr.splitlines()[-1].startswith("pts: error: nothing recorded")
    # beside a report with results, an empty one is only warned of
    some = record(env, str(tmp_path / "zero.json"), str(RUNS / "pytest/reportlog.jsonl"))
    assert some.returncode == 0, some.stderr
    assert len(some.stdout.splitlines()) == 9
    assert "zero.json: the report holds no test cases" in some.stderr


def test_a_document_of_a_form_the_profile_reads_but_not_its_listing_is_a_one_line_error(
    unreachable_bootstrap: str, tmp_path: Path
) -> None:
    # Robot and dotnet read XML listings, CTest a JSON one: another document of that form is
    # no listing either, refused as such (not a reason to run everything).
    env = no_broker(unreachable_bootstrap, tmp_path)
    other_xml = '<?xml version="1.0"?>\n<foo><bar/></foo>\n'
    for runner, document, says in (
        ("robot", other_xml, "not Robot's output.xml"),
        ("dotnet", other_xml, "not NUnit's `--explore=tests.xml`"),
        ("ctest", '{"a": 1}\n', "not `ctest --show-only=json-v1` output"),
    ):
        result = subset(env, "--runner", runner, stdin=document)
        assert result.returncode == 2 and result.stdout == "", runner
        [line] = result.stderr.splitlines()
        assert line.startswith("pts: error: stdin: ") and says in line, line
