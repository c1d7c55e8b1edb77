"""The `pts` command line: record events, ask for subsets, run the worker, query history."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from pts.core.errors import ConfigError, PtsError
from pts.core.logs import choose, configure, get_logger
from pts.echo import echo_lines
from pts.eval_command import evaluate
from pts.extras import needs_extra
from pts.gateway_command import gateway
from pts.loader_command import loader
from pts.options import (
    LogFormatOption,
    counted,
    settings,
)
from pts.query_command import query
from pts.record_commands import record_app
from pts.replay_commands import backfill, rebuild
from pts.report_command import write_report
from pts.subset_command import split_subset, subset
from pts.token_command import token_app

# Help in click's plain form: rich's (typer's default) costs 0.4 s of imports at every --help.
app = typer.Typer(
    help="Predictive test selection over Kafka.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,
)
app.add_typer(record_app, name="record")
app.command()(subset)
app.command("split-subset")(split_subset)
app.command("eval")(evaluate)
app.command("report")(write_report)
app.command()(backfill)
app.command()(rebuild)
app.command()(gateway)
app.command()(loader)
app.command()(query)
app.add_typer(token_app, name="token")
log = get_logger("pts.cli")


@app.callback()
def _configure(ctx: typer.Context, log_format: LogFormatOption = None) -> None:
    try:
        level, asked = settings().log_level, log_format or settings().log_format
    except ConfigError:  # the command reports the invalid setting; `pts subset` still answers
        level, asked = "info", log_format or "auto"
    choice = choose(asked, level, ctx.invoked_subcommand, sys.stderr.isatty())
    configure(choice.level, choice.format)


@app.command()
def worker(
    no_history: Annotated[
        bool, typer.Option("--no-history", help="Do not load history into ClickHouse.")
    ] = False,
) -> None:
    """Run the stream worker (faust): learn from results, answer subset requests."""
    with needs_extra("worker"):
        from pts.worker.process import run_worker

        run_worker(settings(), load_history=not no_history)


@app.command()
def replay(
    dataset: Annotated[
        str,
        typer.Argument(
            help="commons_<p>.csv, a RETECS CSV, a JUnit history directory, or synthetic[:seed]."
        ),
    ],
    project: Annotated[str | None, typer.Option(help="Publish under this project.")] = None,
    limit: Annotated[int | None, typer.Option(help="Only the first N cycles.")] = None,
) -> None:
    """Publish a CI history to the topics, cycle by cycle, as CI would have recorded it."""
    from pts.evaluation.importers import load_history
    from pts.ops.replay import default_project
    from pts.ops.replay import replay as replay_history
    from pts.progress import progress_bar

    history = load_history(dataset, settings().datasets_dir).head(limit)
    project = project or default_project(history)
    with progress_bar(f"replaying {history.name}") as advance:
        cycles = replay_history(settings(), history, project, on_progress=advance)
    typer.echo(f"replayed {cycles} cycles of {history.name} into project {project}", err=True)


@app.command()
def topics() -> None:
    """Create the topics that are missing (idempotent)."""
    from pts.core.kafka import admin_client
    from pts.core.topics import ensure_topics

    created = ensure_topics(admin_client(settings()), settings(), settings().record_timeout_s)
    typer.echo(f"created {len(created)} topics" + (f": {', '.join(created)}" if created else ""))


@app.command()
def status() -> None:
    """Show the running worker's projects and how far behind it is (exit 3 if none answers)."""
    from pts.core.errors import WorkerUnreachable
    from pts.core.kafka import refused_credentials
    from pts.worker.http_client import fetch, status_lines

    try:
        health = fetch(settings(), "/health")
    except WorkerUnreachable as exc:  # a worker given these credentials could not start
        refusal = refused_credentials(settings())
        if refusal is None:
            raise
        raise WorkerUnreachable(f"{exc}; {refusal}") from exc
    for line in status_lines(health, fetch(settings(), "/lag")):
        typer.echo(line)


@app.command("dead-letters")
def dead_letters(
    limit: Annotated[int | None, typer.Option(min=1, help="Only the newest N letters.")] = None,
) -> None:
    """Print the messages set aside on the dead-letter topic, one JSON line each, with why."""
    import json

    from pts.ops.dead_letters import read_dead_letters

    count = echo_lines(json.dumps(letter) for letter in read_dead_letters(settings(), limit))
    typer.echo(f"{counted(count, 'dead letter')}", err=True)


def main() -> None:
    try:
        app()
    except PtsError as exc:
        typer.echo(f"pts: error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except Exception as exc:
        # e.g. a librdkafka setting in PTS_KAFKA_CONFIG it refuses; confluent_kafka is imported
        # only by the commands that use it, so no other can raise its error.
        kafka = sys.modules.get("confluent_kafka")
        if kafka is None or not isinstance(exc, kafka.KafkaException):
            raise
        reason = exc.args[0].str() if exc.args else str(exc)
        typer.echo(f"pts: error: Kafka client: {reason}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
