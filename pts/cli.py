"""The `pts` command line: record events, ask for subsets, run the worker, query history."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from pts.core.errors import ConfigError, PtsError, ReportError
from pts.core.logs import choose, configure, get_logger
from pts.echo import echo_lines
from pts.eval_command import evaluate
from pts.extras import needs_extra
from pts.gateway_command import gateway
from pts.loader_command import loader
from pts.options import (
    BuildId,
    DryRun,
    Flavors,
    LogFormatOption,
    Project,
    RunnerName,
    counted,
    settings,
)
from pts.query_command import query
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
record_app = typer.Typer(
    help="Publish a build or its test results.", no_args_is_help=True, rich_markup_mode=None
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
    """Publish a build and its commits, with the changed files and line counts from git.

    Examples:

    \b
      pts record build -p shop -b 42
      pts record build -p shop -b 42 --base origin/main   # a branch build
    """
    from pts.client.git_changes import read_build
    from pts.client.publisher import print_dry_run, publish

    build_event, commits = read_build(
        repo, project, build, commit, base, settings().record_author_emails
    )
    if dry_run:
        print_dry_run(sys.stdout, build=build_event, commits=commits)
        return
    config = settings()
    if config.url is None:  # through a gateway, the history is the gateway host's
        from pts.recorded_builds import recorded_commit

        first = recorded_commit(config, project, build)
        if first is not None and first != build_event.commit_sha:
            raise ConfigError(
                f"build {build} of {project} was recorded before with commit {first[:12]}, "
                f"and the worker keeps that first record: not recording commit "
                f"{build_event.commit_sha[:12]}; give this build its own --build id"
            )
    publish(config, build=build_event, commits=commits)
    typer.echo(
        f"recorded build {build} of {project}: "
        f"{counted(len(build_event.changed_files), 'changed file')} in "
        f"{counted(len(commits), 'commit')}, at commit {build_event.commit_sha[:12]}",
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

    Examples:

    \b
      pts record tests -p shop -b 42 --runner maven target/surefire-reports
      pts record tests -p shop -b 42 --runner go report.json   # go test -json
      pts record tests -p shop -b 42 --runner pytest "reports/*.xml"
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
