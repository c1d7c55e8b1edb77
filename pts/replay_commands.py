"""`pts backfill` and `pts rebuild`: replays of the topics for operators, with a progress bar
on a terminal and plain lines otherwise."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated

import typer

from pts.core.errors import ConfigError
from pts.extras import needs_extra
from pts.options import settings

PLAIN_EVERY_S = 2.0


@contextmanager
def progress_of(total: int, what: str) -> Iterator[Callable[..., None]]:
    """A function to call with the messages done so far, a few words, and the total when it
    changed: a progress bar when stderr is a terminal, else a plain line on the first call and
    at most every few seconds."""
    from rich.console import Console  # here: the CLI imports this module for every command
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    console = Console(stderr=True)
    if console.is_terminal:
        columns = (
            TextColumn(what), BarColumn(), MofNCompleteColumn(), TextColumn("{task.description}"),
            TimeRemainingColumn(),
        )  # fmt: skip
        with Progress(*columns, console=console) as bar:
            task = bar.add_task("", total=total)

            def advance(done: int, words: str, new_total: int | None = None) -> None:
                bar.update(task, completed=done, description=words, total=new_total or total)

            yield advance
        return
    last, totals, printed = [0.0], [total], [(-1, -1)]

    def line(done: int, words: str, new_total: int | None = None) -> None:
        totals[0] = new_total or totals[0]
        now = time.monotonic()
        if last[0] and now - last[0] < PLAIN_EVERY_S and done < totals[0]:
            return
        if printed[0] == (done, totals[0]):
            return  # said already
        last[0], printed[0] = now, (done, totals[0])
        print(
            f"pts: {what}: {done:,} of {totals[0]:,} messages" + (f"; {words}" if words else ""),
            file=sys.stderr,
            flush=True,
        )

    yield line


def backfill(
    since: Annotated[
        str, typer.Option(help="From this moment: an ISO date or time (UTC), or 7d, 36h ago.")
    ],
    until: Annotated[
        str | None, typer.Option(help="Up to this moment (default: what the topics hold now).")
    ] = None,
    project: Annotated[
        str | None, typer.Option("--project", "-p", help="Only this project's events.")
    ] = None,
    batch_size: Annotated[int, typer.Option(min=1, help="Messages per insert.")] = 500,
) -> None:
    """Re-read the stored topics' events from --since (to --until) into the history store,
    beside the live loader; idempotent: an event stored before reads as one row still."""
    config = settings()
    with needs_extra("backfill", "worker"):
        from pts.consumers.backfill import backfill as run_backfill
        from pts.consumers.backfill import open_consumer, parse_moment, plan
        from pts.sinks import open_store
        from pts.worker.http_client import worker_answering

        start, end = parse_moment(since), None if until is None else parse_moment(until)
        if not config.clickhouse_url and (worker := worker_answering(config)) is not None:
            raise ConfigError(
                f"the worker {worker} at {config.worker_url} owns the chdb directory "
                f"{config.chdb_dir}: backfill a ClickHouse server (PTS_CLICKHOUSE_URL), which "
                "the live loader shares, or run it while no worker or loader has the directory"
            )
        consumer = open_consumer(config)
        try:
            ranges = plan(config, consumer, start, end)
            total = sum(r.messages for r in ranges)
            with open_store(config) as store, progress_of(total, "backfill") as show:
                stats = run_backfill(
                    store, consumer, ranges, project, batch_size,
                    lambda s: show(s.read, f"{sum(s.rows.values()):,} rows stored"),
                )  # fmt: skip
        finally:
            consumer.close()
    scope = f" of project {project}" if project else ""
    typer.echo(
        f"{stats.sentence()}{scope}, from {start:%Y-%m-%d %H:%M:%S} UTC to "
        f"{'now' if end is None else f'{end:%Y-%m-%d %H:%M:%S} UTC'}; an event stored before "
        "still reads as one row",
        err=True,
    )


def rebuild(
    project: Annotated[str, typer.Option("--project", "-p", help="The project to rebuild.")],
    timeout: Annotated[
        float, typer.Option(min=1, help="Seconds to wait for the worker's next word.")
    ] = 120.0,
) -> None:
    """Rebuild one project's model from the topics (after a change of features or learners)
    while the worker keeps serving it; the rebuilt model takes over when it has caught up."""
    from pts.ops.rebuild import rebuild as run_rebuild

    config = settings()
    with progress_of(0, f"rebuild of {project}") as show:
        done = run_rebuild(
            config, project, timeout, lambda answer: show(answer.done, "", answer.total)
        )
    typer.echo(
        f"the rebuilt model of {project} took over on worker {done.worker}: it learned "
        f"{done.results:,} results of {done.batches:,} batches and {done.builds:,} builds from "
        "the topics",
        err=True,
    )
