"""The `pts` command line: record events, ask for subsets, run the worker, query history."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer
from confluent_kafka import KafkaException

from pts.core.errors import ConfigError, PtsError, ReportError
from pts.core.logs import configure, get_logger
from pts.core.settings import settings
from pts.eval_command import evaluate
from pts.extras import needs_extra
from pts.gateway_command import gateway
from pts.options import BuildId, DryRun, Flavors, Project, RunnerName, counted
from pts.replay_commands import backfill, rebuild
from pts.report_command import write_report
from pts.subset_command import split_subset, subset
from pts.token_command import token_app

app = typer.Typer(
    help="Predictive test selection over Kafka.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
record_app = typer.Typer(help="Publish a build or its test results.", no_args_is_help=True)
app.add_typer(record_app, name="record")
app.command()(subset)
app.command("split-subset")(split_subset)
app.command("eval")(evaluate)
app.command("report")(write_report)
app.command()(backfill)
app.command()(rebuild)
app.command()(gateway)
app.add_typer(token_app, name="token")
log = get_logger("pts.cli")


@app.callback()
def _configure() -> None:
    try:
        configure(settings().log_level)
    except ConfigError:
        configure()  # the command reports the invalid setting; `pts subset` still answers


def _echo_lines(lines: Iterable[str]) -> int:
    """Print lines to stdout; a reader that stops early (`| head`) ends the output quietly."""
    count = 0
    try:
        for line in lines:
            typer.echo(line)
            count += 1
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return count


@record_app.command("build")
def record_build(
    project: Project,
    build: BuildId,
    commit: Annotated[str, typer.Option(help="The commit the build tests.")] = "HEAD",
    repo: Annotated[Path, typer.Option(help="The git repository.")] = Path("."),
    base: Annotated[
        str | None, typer.Option(help="Branch build: diff against the merge base with this ref.")
    ] = None,
    dry_run: DryRun = False,
) -> None:
    """Publish a build and its commits, with the changed files and line counts from git."""
    from pts.client.git_changes import read_build
    from pts.client.publisher import print_dry_run, publish

    build_event, commits = read_build(
        repo, project, build, commit, base, settings().record_author_emails
    )
    if dry_run:
        print_dry_run(sys.stdout, build=build_event, commits=commits)
        return
    publish(settings(), build=build_event, commits=commits)
    typer.echo(
        f"recorded build {build} of {project}: "
        f"{counted(len(build_event.changed_files), 'changed file')} in "
        f"{counted(len(commits), 'commit')}",
        err=True,
    )


@record_app.command("tests")
def record_tests(
    project: Project,
    build: BuildId,
    reports: Annotated[
        list[str],
        typer.Argument(
            help="Test reports (JUnit XML, or the --runner's own format): files, directories "
            "(searched for the runner's report suffixes), globs."
        ),
    ],
    level: Annotated[
        str, typer.Option(help="'case' (suite::name) or 'suite' (one result per suite).")
    ] = "case",
    dry_run: DryRun = False,
    runner: RunnerName = None,
    flavor: Flavors = None,
) -> None:
    """Publish the test results of reports, one message per report or slice.

    Every valid report is published; each bad one is named with its reason on a line of its
    own, and the exit code is then 2. A report that holds no result (a run that broke) is
    warned of; when no report holds any, the exit code is 2 too.
    """
    from pts.client.junit_reports import parse_report, report_digest, slice_results
    from pts.client.publisher import batches_of, print_dry_run, publish
    from pts.client.report_files import find_reports, report_name
    from pts.client.runners import runner as runner_named
    from pts.core.flavors import flavored, parse_flavors

    if level not in ("case", "suite"):
        raise typer.BadParameter("--level must be 'case' or 'suite'")
    profile = runner_named(runner)
    flavor_key = parse_flavors(flavor or [])
    found = find_reports(reports, profile.report_suffixes)
    batches, bad, empty, good = [], list(found.missing), [], 0
    for report in found.paths:
        try:
            # A blank file, or an empty JSON document, is a run that broke before it wrote a
            # result: no results, not a malformed report.
            small = report.stat().st_size <= 4096
            empty_file = small and report.read_bytes().strip() in (b"", b"[]", b"{}")
            results = [] if empty_file else parse_report(report, level=level, runner=profile)
            digest = report_digest(report)
        except ReportError as exc:
            bad.append(exc)
            continue
        except OSError as exc:
            bad.append(ReportError(str(report), None, f"cannot read the report: {exc.strerror}"))
            continue
        good += 1
        if not results:
            empty.append(report_name(report))
        if flavor_key:
            results = [replace(r, test_id=flavored(r.test_id, flavor_key)) for r in results]
        sliced = slice_results(results)
        batches += [
            replace(batch, flavor=flavor_key)
            for batch in batches_of(project, build, report_name(report), sliced, digest)
        ]
    for name in empty:
        typer.echo(
            f"pts: warning: {name}: the report holds no test cases (did the run break before "
            "any test reported?)",
            err=True,
        )
    if dry_run:
        print_dry_run(sys.stdout, batches=batches)
    elif batches:
        publish(settings(), batches=batches)
        results = sum(len(b.results) for b in batches)
        typer.echo(
            f"recorded {counted(results, 'test result')} of build {build} "
            f"from {counted(good, 'report')}",
            err=True,
        )
    if len(bad) == 1:
        raise bad[0]
    for exc in bad:  # one line each
        typer.echo(f"pts: error: {exc}", err=True)
    if bad:
        raise ConfigError(f"{len(bad)} bad reports, not published")
    if empty and not any(batch.results for batch in batches):
        raise ConfigError(
            f"nothing recorded: no results file holds a test result ({', '.join(empty)})"
        )


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
def loader() -> None:
    """Load the history into ClickHouse as a process of its own (beside `pts worker
    --no-history`); serve /health and /query on PTS_LOADER_HTTP_PORT."""
    with needs_extra("loader", "worker"):
        from pts.consumers.loader_process import run_loader
        from pts.worker.startup_checks import check_http_exposure

        check_http_exposure(settings())  # the loader serves the history on the worker's host
        run_loader(settings())


@app.command()
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
) -> None:
    """Run read-only SQL on the test history, print JSON lines."""
    from pts.sinks.saved_queries import saved_queries
    from pts.worker.http_client import run_query

    saved = saved_queries()
    if list_saved or sql is None:
        for name, saved_query in saved.items():
            typer.echo(f"{name:<16} {saved_query.description}")
        return
    params = {}
    if sql in saved:
        sql, params = saved[sql].sql, {"project": project or ""}
    elif re.fullmatch(r"[\w-]+", sql):
        raise ConfigError(f"no saved query is named {sql!r}; `pts query --list` shows them")
    elif "{project:" in sql:
        if project is None:
            raise ConfigError("the SQL reads {project:String}: give --project")
        params = {"project": project}
    elif project is not None:
        raise ConfigError("--project fills {project:String}; the SQL has no such placeholder")
    with needs_extra("query"):  # chdb opened here, or a ClickHouse server's client
        _echo_lines(run_query(settings(), sql, params))


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

    history = load_history(dataset, settings().datasets_dir).head(limit)
    project = project or default_project(history)
    cycles = replay_history(settings(), history, project)
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

    count = _echo_lines(json.dumps(letter) for letter in read_dead_letters(settings(), limit))
    typer.echo(f"{counted(count, 'dead letter')}", err=True)


def main() -> None:
    try:
        app()
    except PtsError as exc:
        typer.echo(f"pts: error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except KafkaException as exc:  # e.g. a librdkafka setting in PTS_KAFKA_CONFIG it refuses
        reason = exc.args[0].str() if exc.args else str(exc)
        typer.echo(f"pts: error: Kafka client: {reason}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
