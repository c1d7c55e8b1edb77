"""Reading a runner's listing of its tests (the candidates of `pts subset`), or refusing it.

A listing is text, one entry per line, in the form the runner profile reads
(`Runner.lists_with`), or a document the profile reads as a listing (`Runner.listing_documents`:
`vitest list --json`, `playwright test --list --reporter=json`). Anything else that is clearly
no listing, an XML or JSON document (a report given in place of the listing), binary data or
text that is no UTF-8, is refused with one line naming the source and the form expected: read
as lines, it would become candidates named after XML tags or bytes, and a wrong subset.
"""

from __future__ import annotations

import codecs
import json
import re
from typing import Literal

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from pts.client.runners.base import Candidates, Runner
from pts.core.errors import ConfigError, PtsError

Document = Literal["xml", "json"]
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)  # PowerShell's `>` writes UTF-16
_TAG_WITH_ATTRIBUTES = re.compile(r"<[\w:.-]+(\s+[\w:.-]+=(\"[^\"]*\"|'[^']*'))+\s*/?>")


class ListingError(PtsError):
    """The candidates given are no listing of the runner's: a usage error, not a reason to run
    everything, since the same command would give the same input at every build."""

    exit_code = 2


def read_listing(data: bytes, source: str, runner: Runner) -> Candidates:
    """The candidates in `data` (the bytes of a listing read from `source`, a path or
    "stdin"), as `runner` reads them; a `ListingError` when `data` is no listing."""
    text = _decoded(data, source, runner)
    document = document_kind(text)
    if document is not None and document not in runner.listing_documents:
        found = {"xml": "an XML document", "json": "a JSON document"}[document]
        raise ListingError(f"{source}: {_refusal(found, runner)}")
    try:
        return runner.candidates(text)
    except ConfigError as exc:  # a document of a form the profile reads, but not its listing
        raise ListingError(f"{source}: {exc}") from exc


def document_kind(text: str) -> Document | None:
    """Whether `text` is an XML or a JSON document (a JSON value, or JSON lines), rather than
    lines of a listing.

    A line-based listing may start with `<` or `[` (`pytest --collect-only` without -q prints
    `<Module test_x.py>`, Playwright's `[chromium] › a.spec.ts`), so the text is a document
    only if it starts with an XML declaration, parses as XML, or looks like XML cut short (a
    tag with attributes first, or closing tags); or if it parses as JSON, whole or its first
    line (JSON lines).

    >>> document_kind('<?xml version="1.0"?><testsuites/>'), document_kind("<Module t.py>")
    ('xml', None)
    >>> document_kind('<testsuites>\\n  <testcase name="a"/>\\n  <testcase name=')
    'xml'
    >>> document_kind('[{"file": "a.test.js"}]'), document_kind("[chromium] › a.spec.ts:3:1")
    ('json', None)
    >>> document_kind('{"Action": "run"}\\n{"Action": "pass"}\\n'), document_kind("a\\nb")
    ('json', None)
    """
    start = text.lstrip("\ufeff \t\r\n")
    if start.startswith("<"):
        declared = start.startswith(("<?xml", "<!DOCTYPE"))
        tagged = "</" in start or "/>" in start or _TAG_WITH_ATTRIBUTES.match(start)
        return "xml" if declared or tagged or _is_xml(start) else None
    if start.startswith(("{", "[")):
        first_line = start.split("\n", 1)[0]
        return "json" if _is_json(start) or _is_json(first_line) else None
    return None


def _decoded(data: bytes, source: str, runner: Runner) -> str:
    if data.startswith(_UTF16_BOMS):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass  # no UTF-16 after all: refused below
    nul = data.find(b"\0")
    if nul >= 0:
        where = f"{source}:{_line_of(data, nul)}"
        raise ListingError(f"{where}: {_refusal('binary data (a NUL byte)', runner)}")
    try:
        return data.decode("utf-8-sig")  # drops the byte order mark Windows tools write
    except UnicodeDecodeError as exc:
        where = f"{source}:{_line_of(data, exc.start)}"
        byte = data[exc.start]
        raise ListingError(
            f"{where}: {_refusal(f'no UTF-8 text (byte 0x{byte:02x})', runner)}"
        ) from None


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _refusal(found: str, runner: Runner) -> str:
    documents = " or ".join(f"its {kind.upper()} form" for kind in runner.listing_documents)
    expected = f"`{runner.lists_with}` output" + (f" ({documents})" if documents else "")
    return (
        f"{found}, not a listing of {runner.name} tests: expected {expected}, "
        f"ids like {runner.example!r}"
    )


def _is_xml(text: str) -> bool:
    try:
        fromstring(text)
    except (SyntaxError, DefusedXmlException):  # ParseError is a SyntaxError
        return False
    return True


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True
