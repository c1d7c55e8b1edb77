"""How much of a failure's text a result keeps.

A message is read by people deciding why a test failed, and it travels in every batch of
results: it is cut to `MAX_MESSAGE` characters, with a marker that says how much was cut. A
failure outside test cases (a module that did not import, a package that did not build) comes
with a long body, a traceback or the compiler's output, whose first lines say what broke and
where: it keeps its first `MAX_MESSAGE_LINES` lines.
"""

from __future__ import annotations

MAX_MESSAGE = 4000
MAX_MESSAGE_LINES = 40


def truncated(text: str, limit: int) -> str:
    """`text`, cut to `limit` characters with a marker saying how much.

    >>> truncated("a" * 30, 20)
    'aaaa…[26 more chars]'
    """
    if len(text) <= limit:
        return text
    for kept in range(limit, -1, -1):
        marker = f"…[{len(text) - kept} more chars]"
        if kept + len(marker) <= limit:
            return text[:kept] + marker
    return text[:limit]


def first_lines(text: str, lines: int = MAX_MESSAGE_LINES, limit: int = MAX_MESSAGE) -> str:
    """The first `lines` lines of `text` (stripped), with a marker saying how many more there
    were, and at most `limit` characters.

    >>> first_lines("\\nundefined: ParseNumber\\nundefined: Sum\\ntoo many errors\\n", lines=2)
    'undefined: ParseNumber\\nundefined: Sum\\n…[1 more line]'
    """
    kept = text.strip().splitlines()
    if len(kept) > lines:
        more = len(kept) - lines
        kept = [*kept[:lines], f"…[{more} more line{'s' if more > 1 else ''}]"]
    return truncated("\n".join(kept), limit)
