"""`pts query`: read-only SQL, or a saved query by name, on the test history."""

from __future__ import annotations

import re
import sys
from typing import Annotated

import typer

from pts.core.errors import ConfigError
from pts.echo import echo_lines
from pts.extras import needs_extra
from pts.options import settings
from pts.rows_output import FORMATS, formatted


def query(
    sql: Annotated[
        str | None,
        typer.Argument(help="A read-only SELECT on the history, or a saved query's name."),
    ] = None,
    project: Annotated[
        str | None,
        typer.Option(
            "--project", "-p", help="Only this project (fills {project:String} in the SQL)."
        ),
    ] = None,
    list_saved: Annotated[bool, typer.Option("--list", help="List the saved queries.")] = False,
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format",
            help="json (JSON lines), csv or table (both with a header). Default: table on a "
            "terminal, else json.",
        ),
    ] = None,
) -> None:
    """Run read-only SQL on the test history, print its rows.

    Examples:

    \b
      pts query --list
      pts query flaky-tests -p shop
      pts query "SELECT outcome, count() FROM pts.test_results GROUP BY outcome"
      pts query failure-rates -p shop --format csv > rates.csv
    """
    from pts.sinks.saved_queries import saved_queries
    from pts.worker.http_client import run_query

    fmt = fmt or ("table" if sys.stdout.isatty() else "json")
    if fmt not in FORMATS:
        raise ConfigError(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    saved = saved_queries()
    if list_saved or sql is None:
        for name, saved_query in saved.items():
            typer.echo(f"{name:<16} {saved_query.description}")
        return
    params, name = {}, None
    if sql in saved:
        name, sql, params = sql, saved[sql].sql, {"project": project or ""}
    elif re.fullmatch(r"[\w-]+", sql):
        raise ConfigError(f"no saved query is named {sql!r}; `pts query --list` shows them")
    elif "{project:" in sql:
        if project is None:
            raise ConfigError("the SQL reads {project:String}: give --project")
        params = {"project": project}
    elif project is not None:
        raise ConfigError("--project fills {project:String}; the SQL has no such placeholder")
    with needs_extra("query"):  # chdb opened here, or a ClickHouse server's client
        printed = echo_lines(formatted(run_query(settings(), sql, params), fmt))
    if not printed:
        typer.echo(no_rows(name, project), err=True)


def no_rows(saved_name: str | None, project: str | None) -> str:
    """The sentence for a query that found nothing.

    >>> no_rows("flaky-tests", "shop")
    'pts: no rows: the saved query flaky-tests found nothing for project shop.'
    >>> no_rows("time-saved", None)
    'pts: no rows: the saved query time-saved found nothing in the history of any project.'
    >>> no_rows(None, None)
    'pts: no rows: the query matched nothing in the history.'
    """
    if saved_name is None:
        return "pts: no rows: the query matched nothing in the history."
    where = f"for project {project}" if project else "in the history of any project"
    return f"pts: no rows: the saved query {saved_name} found nothing {where}."
