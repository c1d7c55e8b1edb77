"""Reading a runner's listing, or refusing what is no listing: an XML or JSON document the
profile does not list with, binary data, text that is no UTF-8."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from pts.client.listings import ListingError, read_listing
from pts.client.runners import RUNNERS, runner

RUNS = Path(__file__).resolve().parent.parent / "fixtures" / "runners"

# Documents that are no listing of the runner given with them: reports, given by mistake.
NOT_LISTINGS = [
    ("pytest", RUNS / "pytest/pytest-xunit2.xml", "an XML document"),
    ("jest", RUNS / "jest/jest-junit-file.xml", "an XML document"),
    ("playwright", RUNS / "playwright/junit.xml", "an XML document"),
    (None, RUNS / "dotnet/nunit3.xml", "an XML document"),
    ("go", RUNS / "go/go-test.json", "a JSON document"),  # JSON lines
    ("pytest", RUNS / "pytest/reportlog.jsonl", "a JSON document"),
    ("rspec", RUNS / "playwright/report.json", "a JSON document"),
    (None, RUNS / "cucumber/cucumber-js.json", "a JSON document"),
]


@pytest.mark.parametrize(("name", "path", "found"), NOT_LISTINGS, ids=lambda v: str(v))
def test_a_document_the_runner_does_not_list_with_is_refused(
    name: str | None, path: Path, found: str
) -> None:
    profile = runner(name)
    with pytest.raises(ListingError) as refused:
        read_listing(path.read_bytes(), str(path), profile)
    message = str(refused.value)
    assert message.startswith(f"{path}: {found}, not a listing of {profile.name} tests")
    assert f"`{profile.lists_with}`" in message and repr(profile.example) in message
    assert "\n" not in message and refused.value.exit_code == 2


def test_binary_data_and_other_encodings_are_refused_with_their_line() -> None:
    jest = runner("jest")
    with pytest.raises(ListingError, match=r"^stdin:2: binary data \(a NUL byte\)"):
        read_listing(b"src/a.test.js\n\x7fELF\x02\x01\x00\x00", "stdin", jest)
    with pytest.raises(ListingError, match=r"^list.txt:3: no UTF-8 text \(byte 0xe9\)"):
        read_listing(b"src/a.test.js\nsrc/b.test.js\ncaf\xe9.test.js\n", "list.txt", jest)


def test_a_utf16_listing_with_its_byte_order_mark_is_read() -> None:
    # PowerShell's `>` writes UTF-16 with a byte order mark
    data = codecs.BOM_UTF16_LE + "src/a.test.js\r\nsrc/b.test.js\r\n".encode("utf-16-le")
    assert read_listing(data, "list.txt", runner("jest")).ids == ["src/a.test.js", "src/b.test.js"]


def test_line_listings_that_start_like_documents_are_read() -> None:
    # pytest without -q prints a tree of `<Module ...>` lines; Playwright `[project] › ...`
    tree = b"<Dir project>\n  <Module tests/test_calc.py>\n    <Function test_add>\n"
    assert read_listing(tree, "stdin", runner("pytest")).unrecognized  # warned of, not refused
    listed = read_listing(
        b"[chromium] \xe2\x80\xba a.spec.ts:3:1 \xe2\x80\xba t\n", "-", runner("playwright")
    )
    assert listed.ids == ["a.spec.ts"]


@pytest.mark.parametrize(
    ("name", "path", "ids"),
    [
        ("jest", RUNS / "jest/list-tests.json", ["/src/jest/project/src/sum.test.js"]),
        ("vitest", RUNS / "vitest/vitest-list.json", ["/src/vitest/project/src/flaky.test.js"]),
        ("playwright", RUNS / "playwright/list.json", ["calc.spec.js", "flaky.spec.js"]),
        ("playwright", RUNS / "playwright/broken/list.json", ["broken.spec.js"]),
        ("cucumber", RUNS / "cucumber/dry-run.json", ["features/calc.feature"]),
    ],
    ids=lambda v: str(v),
)
def test_the_json_listings_of_a_profile_are_its_candidates(
    name: str, path: Path, ids: list[str]
) -> None:
    profile = runner(name)
    assert "json" in profile.listing_documents
    found = read_listing(path.read_bytes(), str(path), profile)
    assert found.ids[: len(ids)] == ids and not found.unrecognized


def test_every_profile_names_the_form_it_expects() -> None:
    for profile in RUNNERS.values():
        assert profile.lists_with and profile.example
        assert set(profile.listing_documents) <= {"xml", "json"}


def test_an_xml_report_cut_short_without_its_declaration_is_refused() -> None:
    text = (RUNS / "jest/jest-junit-file.xml").read_text()
    body = text[text.index("<testsuites") :]
    cut = body[: len(body) // 2].encode()
    with pytest.raises(ListingError, match=r"^junit\.xml: an XML document, not a listing"):
        read_listing(cut, "junit.xml", runner(None))


def test_a_utf8_byte_order_mark_is_no_part_of_the_first_id() -> None:
    data = "\ufeffsrc/a.test.js\nsrc/b.test.js\n".encode()
    assert read_listing(data, "list.txt", runner("jest")).ids == ["src/a.test.js", "src/b.test.js"]
