"""Android CTS's test_result.xml under `--runner cts`: every test is a result of its
`module class`, ABIs tell the repeats apart, and the subset is `--include-filter` lines."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pts.client.junit_reports import parse_report
from pts.client.runners import runner
from pts.core.errors import ConfigError, ReportError
from pts.core.events import Outcome

CTS = Path(__file__).resolve().parent.parent / "fixtures" / "runners" / "cts"
PROFILE = runner("cts")


def results_in(path: Path) -> int:
    """The file's `<Test>` elements, and one per module that did not finish with a reason."""
    text = path.read_text()
    unfinished = re.findall(r'<Module\b[^>]*done="false"[^>]*>\s*<Reason\b', text)
    return len(re.findall(r"<Test\s", text)) + len(unfinished)


@pytest.mark.parametrize("report", ["test_result.xml", "test_result_abis.xml"])
def test_every_test_is_a_result_of_its_module_and_class(report: str) -> None:
    results = parse_report(CTS / report, runner=PROFILE)
    assert len(results) == results_in(CTS / report) > 0
    assert len({(r.test_id, r.variant) for r in results}) == len(results)
    listed = PROFILE.candidates((CTS / report).read_text())
    assert set(listed.ids) == {r.test_id for r in results}


def test_the_real_report_reads_modules_classes_and_failures() -> None:
    results = parse_report(CTS / "test_result.xml", runner=PROFILE)
    failed = [r for r in results if r.outcome is Outcome.FAILED]
    assert [(r.test_id, r.variant) for r in failed] == [
        (
            "CtsAccessibilityServiceTestCases "
            "android.accessibilityservice.cts.AccessibilityGlobalActionsTest",
            "testPerformGlobalActionNotifications",
        )
    ]
    assert failed[0].message.startswith("java.lang.AssertionError: Unable to reach home screen")
    assert {r.suite for r in results} == {
        "CtsAccessibilityServiceTestCases[instant]",
        "CtsAccessibilityServiceTestCases",
    }


def test_abis_skips_and_a_module_that_did_not_finish() -> None:
    results = parse_report(CTS / "test_result_abis.xml", runner=PROFILE)
    abi = "CtsAbiOverrideHostTestCases android.abioverride.cts.AbiOverrideTest"
    assert [(r.variant, r.outcome) for r in results if r.test_id == abi] == [
        ("testAbiIs32bit arm64-v8a", Outcome.PASSED),
        ("testAbiIs64bit arm64-v8a", Outcome.SKIPPED),  # IGNORED
        ("testNativeBridge", Outcome.SKIPPED),  # ASSUMPTION_FAILURE
        ("testAbiIs32bit armeabi-v7a", Outcome.PASSED),
        ("testAbiIs64bit armeabi-v7a", Outcome.FAILED),
    ]
    [crash] = [r for r in results if not r.name]
    assert crash.test_id == "CtsAccountManagerTestCases"
    assert crash.outcome is Outcome.ERROR and "Process crashed" in crash.message


def test_the_subset_is_one_include_filter_per_line() -> None:
    listed = PROFILE.candidates(
        "arm64-v8a CtsFoo android.foo.BarTest\nCtsFoo android.foo.BarTest#testA\n"
        "CtsBaz android.baz.QuxTest\narm64-v8a CtsFoo\n"
    )
    assert listed.ids == ["CtsFoo android.foo.BarTest", "CtsBaz android.baz.QuxTest"]
    assert listed.unrecognized == ["arm64-v8a CtsFoo"]  # `list modules` names no class
    assert PROFILE.format(listed.ids).splitlines() == [
        "--include-filter=CtsFoo android.foo.BarTest",
        "--include-filter=CtsBaz android.baz.QuxTest",
    ]


def test_a_result_element_that_is_no_cts_report_is_refused(tmp_path: Path) -> None:
    other = tmp_path / "result.xml"
    other.write_text("<Result><Item/></Result>")
    with pytest.raises(ReportError, match="result.xml:1: not a JUnit report nor a Tradefed"):
        parse_report(other, runner=PROFILE)
    odd = tmp_path / "odd.xml"
    odd.write_text('<Result><Module name="M"><TestCase name="C"><Test result="meh" name="t"/>'
                   "</TestCase></Module></Result>")  # fmt: skip
    with pytest.raises(ReportError, match="odd.xml:1: <Test> result 'meh' is unknown"):
        parse_report(odd, runner=PROFILE)
    with pytest.raises(ConfigError, match=r"root <testsuites>, not a Tradefed test_result.xml"):
        PROFILE.candidates("<testsuites/>")
