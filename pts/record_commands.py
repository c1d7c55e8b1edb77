"""`pts record build` and `pts record tests`: publish a build, or the results of its reports."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from pts.core.errors import ConfigError, ReportError
from pts.options import BuildId, DryRun, Flavors, Project, RunnerName, counted, settings

record_app = typer.Typer(
    help="Publish a build or its test results.", no_args_is_help=True, rich_markup_mode=None
)


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
