"""Saved queries for analysts (`sinks/queries/*.sql`): `pts query flaky-tests [-p PROJECT]`.

Each file starts with a one-line `--` description and reads `{project:String}`; an empty
project means every project.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

QUERIES_DIR = Path(__file__).resolve().parent / "queries"


@dataclass(frozen=True)
class SavedQuery:
    name: str
    description: str
    sql: str


def saved_queries() -> dict[str, SavedQuery]:
    """Every saved query by name (the file's stem).

    >>> sorted(saved_queries())  # doctest: +NORMALIZE_WHITESPACE
    ['champions', 'failure-rates', 'flaky-tests', 'model-quality', 'model-quality-by-week',
     'observed-builds', 'subset-quality', 'time-saved']
    """
    queries = {}
    for path in sorted(QUERIES_DIR.glob("*.sql")):
        sql = path.read_text()
        description = sql.splitlines()[0].removeprefix("--").strip()
        queries[path.stem] = SavedQuery(path.stem, description, sql)
    return queries
