"""`pts report`: the history as one self-contained HTML page for people who read no SQL."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from pts.core.errors import ConfigError
from pts.extras import needs_extra
from pts.options import settings


def write_report(
    out: Annotated[Path, typer.Option("--out", "-o", help="The HTML file to write.")],
    project: Annotated[
        str | None,
        typer.Option("--project", "-p", help="Only this project (default: every project)."),
    ] = None,
) -> None:
    """Write an HTML report of the history: tests skipped and time saved, failures caught and
    missed, flaky and slow tests, failure rate, model quality, champion changes and safety
    nets; one section per project, on one page that opens without a network."""
    with needs_extra("report", "report"):
        from pts.report.history import read_history
        from pts.report.page import render

        def progress(line: str) -> None:
            typer.echo(f"pts: {line}", err=True)

        history = read_history(settings(), project, progress)
        page = render(history, datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"))
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(page, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot write the report to {out}: {exc.strerror}") from exc
    count = len(history.projects)
    typer.echo(f"wrote the report of {count} project{'' if count == 1 else 's'} to {out}", err=True)
    typer.echo(str(out))
