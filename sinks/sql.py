"""SQL text handling shared by both backends: the DDL's statements and the read-only check.

The lexer knows strings, quoted identifiers and `--` / `/* */` comments. Where it could
disagree with ClickHouse (`#` comments, nested comments, `$$` strings) it sees *more*
statements or keywords than ClickHouse would, so the read-only check errs on rejecting.

>>> split_statements("SELECT ';' AS s; -- done;\\nSHOW TABLES")
["SELECT ';' AS s", 'SHOW TABLES']
>>> check_read_only("  (SELECT 1);  ")
'(SELECT 1)'
"""

from __future__ import annotations

import re
from difflib import get_close_matches
from functools import cache
from pathlib import Path

from pts.core.errors import QueryRejected

SCHEMA_FILE = Path(__file__).with_name("schema.sql")
READ_ONLY_KEYWORDS = ("SELECT", "WITH", "SHOW", "DESCRIBE", "DESC", "EXPLAIN")
WRITING_KEYWORDS = (
    "INSERT", "CREATE", "ALTER", "DROP", "TRUNCATE", "RENAME", "DELETE", "UPDATE", "OPTIMIZE",
    "ATTACH", "DETACH", "EXCHANGE", "GRANT", "REVOKE", "SET", "USE", "KILL", "SYSTEM", "CHECK",
    "EXISTS", "BACKUP", "RESTORE", "UNDROP", "MOVE", "REPLACE", "UNDO", "BEGIN", "COMMIT",
    "ROLLBACK",
)  # fmt: skip
"""ClickHouse statements that are not reads: refused as such; any other first word is a typo."""

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
    | (?P<comment>--[^\n]*|/\*.*?\*/)
    | (?P<string>'(?:[^'\\]|\\.|'')*')
    | (?P<quoted>"(?:[^"\\]|\\.|"")*"|`(?:[^`\\]|\\.|``)*`)
    | (?P<semicolon>;)
    | (?P<word>[A-Za-z_][A-Za-z_0-9]*)
    | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)


def _statements(sql: str) -> list[tuple[str, list[str]]]:
    """Each statement's text (from its first to its last token, without `;` and the comments
    around it) and its words, upper-cased, outside strings and comments."""
    found: list[tuple[str, list[str]]] = []
    first, last, words = -1, -1, []
    for token in _TOKEN.finditer(sql):
        kind = token.lastgroup
        if kind == "semicolon":
            if first >= 0:
                found.append((sql[first:last], words))
            first, last, words = -1, -1, []
        elif kind not in ("space", "comment"):
            first = token.start() if first < 0 else first
            last = token.end()
            if kind in ("word", "other"):
                words.append(token.group().upper())
    if first >= 0:
        found.append((sql[first:last], words))
    return found


def split_statements(sql: str) -> list[str]:
    """The statements of a script, without their `;`; comment-only pieces are dropped."""
    return [text for text, _ in _statements(sql)]


@cache
def schema_statements() -> tuple[str, ...]:
    """The DDL of `schema.sql`, one statement at a time (a server runs one per request)."""
    return tuple(split_statements(SCHEMA_FILE.read_text()))


def check_read_only(sql: str) -> str:
    """The one read-only statement in `sql`; raises `QueryRejected` for anything else."""
    statements = _statements(sql)
    if not statements:
        raise QueryRejected("query rejected: it is empty")
    if len(statements) > 1:
        raise QueryRejected(
            f"query rejected: it holds {len(statements)} statements; send a single one"
        )
    text, words = statements[0]
    first = next((w for w in words if w != "("), "")
    if first not in READ_ONLY_KEYWORDS and first not in WRITING_KEYWORDS:
        raise QueryRejected(_syntax_error(text.lstrip("( \n\t").split()[0][:20]))
    if first not in READ_ONLY_KEYWORDS:
        raise QueryRejected(
            f"query rejected: {first or text[:20]!r} is not read-only; "
            f"only {', '.join(READ_ONLY_KEYWORDS)} statements may run"
        )
    if any(a == "INTO" and b == "OUTFILE" for a, b in zip(words, words[1:], strict=False)):
        raise QueryRejected("query rejected: INTO OUTFILE writes a file")
    if "SETTINGS" in words:  # the limits of a query are not the query's to change
        raise QueryRejected("query rejected: a query may not change settings (SETTINGS)")
    return text


def _syntax_error(first: str) -> str:
    """Why a statement that starts with no SQL keyword is refused, with the keyword it is
    closest to.

    >>> _syntax_error("SELEC")
    "query rejected: syntax error: no SQL statement starts with 'SELEC' (did you mean SELECT?)"
    >>> _syntax_error("42;")
    "query rejected: syntax error: no SQL statement starts with '42;'; a query starts with SELECT"
    """
    close = get_close_matches(first.upper(), READ_ONLY_KEYWORDS + WRITING_KEYWORDS, n=1, cutoff=0.6)
    if close:
        return (
            f"query rejected: syntax error: no SQL statement starts with {first!r} "
            f"(did you mean {close[0]}?)"
        )
    return (
        f"query rejected: syntax error: no SQL statement starts with {first!r}; a query "
        "starts with SELECT"
    )
