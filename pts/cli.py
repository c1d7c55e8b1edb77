"""The `pts` command line: record events, ask for subsets, run the worker, query history."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated

import typer
from confluent_kafka import KafkaException

from pts.client.runners.base import Runner
from pts.client.shards import subset_file
from pts.client.test_lists import check_format, format_tests
from pts.core.errors import ConfigError, PtsError, ReportError
from pts.core.events import SubsetResponse, Target
from pts.core.logs import configure, get_logger
from pts.core.settings import settings
from pts.extras import needs_extra

app = typer.Typer(
    help="Predictive test selection over Kafka.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
record_app = typer.Typer(help="Publish a build or its test results.", no_args_is_help=True)
app.add_typer(record_app, name="record")
log = get_logger("pts.cli")

Project = Annotated[
    str, typer.Option("--project", "-p", help="Project (repository or CI workspace).")
]
BuildId = Annotated[str, typer.Option("--build", "-b", help="CI build id, unique in the project.")]
DryRun = Annotated[
    bool, typer.Option("--dry-run", help="Print one JSON line per event; publish nothing.")
]
Flavors = Annotated[
    list[str] | None,
    typer.Option(
        "--flavor",
        metavar="KEY=VALUE",
        help="The environment the tests run in (repeatable): history is kept per flavor.",
    ),
]
RunnerName = Annotated[
    str | None,
    typer.Option(
        "--runner",
        help="The test runner: ids it can run, its candidate listing, its subset format "
        "(pytest, maven, gradle, go, jest, vitest, cypress, playwright, rspec, minitest, bazel, "
        "dotnet, ctest, robot).",
    ),
]


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


def _count(n: int, noun: str, plural: str | None = None) -> str:
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


def _share(fraction: float) -> str:
    """A share as a percentage; below 1%, with one decimal, so that it never reads as 0%."""
    return f"{fraction:.1%}" if 0 < fraction < 0.01 else f"{fraction:.0%}"


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
        f"{_count(len(build_event.changed_files), 'changed file')} in "
        f"{_count(len(commits), 'commit')}",
        err=True,
    )


@record_app.command("tests")
def record_tests(
    project: Project,
    build: BuildId,
    reports: Annotated[
        list[str],
        typer.Argument(help="JUnit XML reports: files, directories (searched for *.xml), globs."),
    ],
    level: Annotated[
        str, typer.Option(help="'case' (suite::name) or 'suite' (one result per suite).")
    ] = "case",
    dry_run: DryRun = False,
    runner: RunnerName = None,
    flavor: Flavors = None,
) -> None:
    """Publish the test results of JUnit XML reports, one message per report or slice.

    Every valid report is published; each bad one is named with its reason, and the exit
    code is then 2.
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
            results = parse_report(report, level=level, runner=profile)
            digest = report_digest(report)
        except ReportError as exc:
            bad.append(exc)
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
        typer.echo(f"pts: warning: {name}: the report holds no test cases", err=True)
    if dry_run:
        print_dry_run(sys.stdout, batches=batches)
    elif batches:
        publish(settings(), batches=batches)
        results = sum(len(b.results) for b in batches)
        typer.echo(
            f"recorded {_count(results, 'test result')} of build {build} "
            f"from {_count(good, 'report')}",
            err=True,
        )
    if len(bad) == 1:
        raise bad[0]
    if bad:
        raise ConfigError(f"{len(bad)} bad reports, not published: {'; '.join(map(str, bad))}")


def _read_candidates(source: Path | None, profile: Runner) -> list[str]:
    """Test ids as the runner lists them (one per line without --runner); blank lines and
    `#` comments are skipped, and lines that are no id are warned of once."""
    try:
        text = sys.stdin.read() if source is None or str(source) == "-" else source.read_text()
    except OSError as exc:
        raise ConfigError(f"cannot read the candidate tests from {source}: {exc.strerror}") from exc
    found = profile.candidates(text)
    if found.unrecognized:
        typer.echo(
            f"pts: warning: left out {_count(len(found.unrecognized), 'candidate line')} that "
            f"{'is' if len(found.unrecognized) == 1 else 'are'} no {profile.name} test id "
            f"(e.g. {found.unrecognized[0]!r}); expected `{profile.lists_with}` output, "
            f"ids like {profile.example!r}",
            err=True,
        )
    return found.ids


Formatter = Callable[[Sequence[str]], str]


def _formatter(profile: Runner, fmt: str | None) -> Formatter:
    """How the subset and the rest are printed: --format if given, else the runner's way."""
    if fmt is not None or profile.name == "junit":
        check_format(fmt or "lines")
        return lambda tests: format_tests(tests, fmt or "lines")
    return lambda tests: profile.format(tests) if tests else ""


def _print_all(tests: list[str], rest: Path | None, reason: str, output: Formatter) -> None:
    """The answer when pts cannot give one: run everything, so a build is never blocked."""
    log.warning("subset_fallback_to_all", reason=reason)
    typer.echo(f"pts: warning: {reason}; running all {_count(len(tests), 'test')}", err=True)
    if tests:
        typer.echo(output(tests))
    if rest is not None:
        try:
            rest.write_text("")
        except OSError as exc:
            typer.echo(f"pts: warning: cannot write {rest}: {exc.strerror}", err=True)


@app.command()
def subset(
    project: Project,
    build: BuildId,
    target: Annotated[str, typer.Option(help="20% of the time, 5m or 300s, or 90%c confidence.")],
    candidates: Annotated[
        Path | None, typer.Argument(help="Test ids, one per line; stdin if omitted or '-'.")
    ] = None,
    rest: Annotated[Path | None, typer.Option(help="Write the tests left out here.")] = None,
    timeout: Annotated[float | None, typer.Option(help="Seconds to wait for an answer.")] = None,
    catch_up: Annotated[
        float | None,
        typer.Option(
            "--catch-up",
            min=0,
            help="Seconds the worker may wait for the model to learn the results already "
            "recorded before it answers (PTS_SUBSET_CATCH_UP_S, 2); shorter than --timeout.",
        ),
    ] = None,
    explain: Annotated[
        bool, typer.Option(help="Print probabilities and durations to stderr.")
    ] = False,
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format",
            help="lines (one id per line), comma, maven (-Dtest=...) or gradle (--tests ...); "
            "for the subset and --rest. Default: the --runner's own form, else lines.",
        ),
    ] = None,
    runner: RunnerName = None,
    split: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Print the subset file for N parallel shards; each runs `pts split-subset "
            "--bin i/N FILE`.",
        ),
    ] = None,
    flavor: Flavors = None,
    observe: Annotated[
        bool,
        typer.Option(help="Print every candidate; record the subset pts would have chosen."),
    ] = False,
    known_tests: Annotated[
        bool,
        typer.Option(
            "--known-tests",
            help="Read no candidates; use the project's tests seen recently (of this flavor).",
        ),
    ] = False,
) -> None:
    """Print the subset of the candidate tests to run, first things first.

    Whatever goes wrong once the candidates are read (no answer in time, no broker, a bad
    setting, a --rest file that cannot be written), every candidate is printed, with a
    warning on stderr, and the exit code is 0: pts never blocks a build.
    """
    from pts.client.runners import runner as runner_named
    from pts.core.flavors import flavored, parse_flavors

    parsed_target = Target.parse(target)
    profile = runner_named(runner)  # usage errors, before anything else
    output = _formatter(profile, fmt)
    flavor_key = parse_flavors(flavor or [])
    if known_tests and candidates is not None:
        raise ConfigError("--known-tests reads no candidates: give either, not both")
    tests = [] if known_tests else _read_candidates(candidates, profile)
    try:
        asked = SubsetAsked(
            [flavored(test, flavor_key) for test in tests], flavor_key, observe, known_tests,
            _catch_up(catch_up, timeout),
        )  # fmt: skip
        response = _without_flavor(
            _ask_for_subset(project, build, parsed_target, timeout, asked), flavor_key
        )
        chosen = response.subset + response.rest if observe else response.subset
        if rest is not None:
            left_out = "" if observe else output(response.rest)
            rest.write_text(left_out + "\n" if left_out else "")
    except (PtsError, OSError, KafkaException) as exc:
        shown = (
            output
            if split is None
            else lambda all_tests: subset_file(
                [(test, 1.0) for test in all_tests], split, runner, fmt
            )
        )
        _print_all(tests, rest, _reason(exc), shown)
        return
    if split is not None:
        seconds = {test.test_id: test.expected_duration_s for test in response.ranked}
        typer.echo(subset_file([(t, seconds[t]) for t in chosen], split, runner, fmt))
    elif chosen:
        typer.echo(output(chosen))
    if explain:
        for position, test in enumerate(response.ranked, 1):
            marker = "run " if position <= response.subset_size else "skip"
            typer.echo(
                f"{marker} {test.failure_probability:7.4f} {test.expected_duration_s:9.2f}s "
                f"{test.reason:<24} {test.test_id}",
                err=True,
            )
    if response.results_behind:
        typer.echo(
            f"pts: warning: the model had not learned {_count(response.results_behind, 'result')}"
            f" of {project} yet when it answered; give it longer with --catch-up",
            err=True,
        )
    observing = "observing, running every test; would have run " if observe else ""
    typer.echo(
        f"pts: {observing}{response.subset_size} of {_count(len(response.ranked), 'test')}, "
        f"{_share(response.expected_share_of_time)} of the expected time, "
        f"{_share(response.expected_share_of_failures)} of the expected failures "
        f"(ranker {response.model})",
        err=True,
    )
    _warn_if_no_candidate_is_known(project, response, profile)


@dataclass(frozen=True)
class SubsetAsked:
    """What `pts subset` asks for, beyond project, build and target."""

    candidates: list[str]
    flavor: str = ""
    observe: bool = False
    known_tests: bool = False
    catch_up_s: float = 2.0


def _catch_up(asked: float | None, timeout: float | None) -> float:
    """The catch-up wait asked for, which must leave the answer time to arrive."""
    catch_up = settings().subset_catch_up_s if asked is None else asked
    waits = settings().subset_timeout_s if timeout is None else timeout
    if catch_up >= waits:
        raise ConfigError(
            f"--catch-up {catch_up:g} s (PTS_SUBSET_CATCH_UP_S) must be shorter than --timeout "
            f"{waits:g} s (PTS_SUBSET_TIMEOUT_S), which the answer must arrive within"
        )
    return catch_up


def _ask_for_subset(
    project: str, build: str, target: Target, timeout: float | None, asked: SubsetAsked
) -> SubsetResponse:
    from pts.client.subset_client import SubsetClient, new_request

    request = replace(
        new_request(settings(), project, build, asked.candidates, target),
        flavor=asked.flavor,
        observe=asked.observe,
        known_tests=asked.known_tests,
        catch_up_s=asked.catch_up_s,
    )
    client = SubsetClient(settings(), timeout)
    try:
        return client.request(request)
    finally:
        client.close()


def _without_flavor(response: SubsetResponse, flavor: str) -> SubsetResponse:
    """The answer with the ids the runner knows."""
    from pts.core.flavors import unflavored

    if not flavor:
        return response
    ranked = tuple(replace(t, test_id=unflavored(t.test_id, flavor)) for t in response.ranked)
    return replace(response, ranked=ranked)


@app.command("split-subset")
def split_subset(
    bin_: Annotated[str, typer.Option("--bin", help="This shard's bin: i/N, 1-based.")],
    subset_path: Annotated[
        Path, typer.Argument(metavar="FILE", help="The file `pts subset --split N` printed.")
    ],
) -> None:
    """Print one shard's bin of a split subset, in the runner's format; the bins have nearly
    equal expected time. Needs no broker: every shard computes the same bins from the file."""
    from pts.client.runners import runner as runner_named
    from pts.client.shards import parse_bin, read_subset_file, split_into_bins

    index, count = parse_bin(bin_)
    saved = read_subset_file(subset_path)
    if saved["split"] != count:
        raise ConfigError(f"{subset_path} holds a subset split into {saved['split']}, not {count}")
    seconds = {test: float(s) for test, s in saved["tests"]}
    bins = split_into_bins([(test, s) for test, s in seconds.items()], count)
    mine = bins[index - 1]
    output = _formatter(runner_named(saved["runner"]), saved["output"])
    if mine:
        typer.echo(output(mine))
        typer.echo(
            f"pts: bin {index}/{count}: {_count(len(mine), 'test')}, "
            f"{sum(seconds[t] for t in mine):.1f} s expected",
            err=True,
        )
    elif saved["tests"]:
        typer.echo(
            f"pts: warning: bin {index}/{count} is empty (the subset has only "
            f"{_count(len(saved['tests']), 'test')}): this shard has nothing to run",
            err=True,
        )


def _reason(exc: Exception) -> str:
    if isinstance(exc, OSError):
        return f"{exc.filename or 'a file'}: {exc.strerror}"
    if isinstance(exc, KafkaException) and exc.args:
        return f"Kafka client: {exc.args[0].str()}"
    return str(exc)


def _warn_if_no_candidate_is_known(project: str, response: SubsetResponse, profile: Runner) -> None:
    """Candidates that never match a recorded test id are all "new": the likely cause is a
    different id format (a file path instead of the recorded suite::name, say). A project the
    worker does not know at all is likely a typo."""
    # A request for an unknown project creates it with no results: its next answer is @0.
    if response.model == "cold-start" or response.model.endswith("@0"):
        typer.echo(
            f"pts: warning: the worker knows no project {project!r} (no results learned): "
            "the candidates are in the order given; check --project",
            err=True,
        )
        return
    learned = response.model.rpartition("@")[2]
    if not learned.isdigit() or int(learned) == 0 or not response.ranked:
        return
    if all(test.reason in ("new", "never-ran") for test in response.ranked):
        typer.echo(
            f"pts: warning: none of the {_count(len(response.ranked), 'candidate')} (e.g. "
            f"{response.ranked[0].test_id!r}) has a recorded result in project {project}, "
            f"which has {learned} results learned; candidates must use the ids "
            f"`pts record tests{' --runner ' + profile.name if profile.name != 'junit' else ''}` "
            f"records, like {profile.example!r}",
            err=True,
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
    typer.echo(f"{_count(count, 'dead letter')}", err=True)


@app.command("eval")
def evaluate(
    dataset: Annotated[
        str | None,
        typer.Argument(
            help="commons_<p>.csv, a RETECS .csv, a JUnit history directory, or synthetic[:seed]."
        ),
    ] = None,
    ranker: Annotated[
        list[str] | None,
        typer.Option(
            "--ranker",
            "-r",
            help="Run only this ranker (repeatable): random, recent-failure, "
            "recency-per-second, failure-rate, selector (the served champion), "
            "selector-forest, selector-tree, or one candidate scorer on its own: "
            "pts:recent-failure, pts:failure-rate, pts:bayes, pts:changes, pts:learned. "
            "Default: the baselines and the selector.",
        ),
    ] = None,
    all_in: Annotated[
        Path | None,
        typer.Option(
            "--all",
            help="Replay every history in this folder (and --synthetic ones) through every "
            "ranker and candidate; write one summary table (Markdown, JSON) and one plot.",
        ),
    ] = None,
    synthetic: Annotated[
        int, typer.Option(help="With --all: also this many synthetic histories (seeds 0..N-1).")
    ] = 3,
    doc: Annotated[
        Path | None,
        typer.Option(
            help="With --all: also replace the summary section of this Markdown file "
            "(e.g. docs/quality.md)."
        ),
    ] = None,
    out: Annotated[Path, typer.Option(help="Directory for the PNG and the JSON.")] = Path(
        "evaluation/out"
    ),
    seeds: Annotated[int, typer.Option(help="Seeds the random order is averaged over.")] = 5,
    min_candidates: Annotated[
        int, typer.Option(help="Score only failing cycles with at least this many candidate tests.")
    ] = 5,
    limit: Annotated[int | None, typer.Option(help="Replay only the first N cycles.")] = None,
    through_broker: Annotated[
        bool,
        typer.Option(
            "--through-broker",
            help="Also rank through the real broker and a running "
            "`pts worker` (selector-via-broker).",
        ),
    ] = False,
) -> None:
    """Replay a CI history in time order and score the selector beside the baselines."""
    if (dataset is None) == (all_in is None):
        raise ConfigError("give either a DATASET or --all FOLDER")
    with needs_extra("eval", "eval"):
        if all_in is not None:
            from pts.evaluation.summary import run_all

            run_all(
                all_in, out, synthetic, seeds, min_candidates, doc, typer.echo,
                settings().datasets_dir,
            )  # fmt: skip
            return
        from pts.evaluation.command import run_evaluation

        run_evaluation(
            dataset, ranker, out, seeds, min_candidates, limit, typer.echo, through_broker
        )


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
