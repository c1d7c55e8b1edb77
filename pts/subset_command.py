"""`pts subset` and `pts split-subset`: ask for the tests to run, print them for the runner."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from pts.client.runners.base import Runner
from pts.client.shards import subset_file
from pts.client.test_lists import check_format, format_tests
from pts.core.errors import ConfigError, PtsError
from pts.core.events import SAFETY_NET_REASONS, SubsetResponse, Target
from pts.core.logs import get_logger
from pts.options import BuildId, Flavors, Project, RunnerName, counted, settings, share
from pts.selection.safety_nets import Nets

log = get_logger("pts.cli")


def _read_candidates(source: Path | None, profile: Runner) -> list[str]:
    """Test ids as the runner lists them (one per line without --runner); blank lines and
    `#` comments are skipped, and lines that are no id are warned of once. Input that is no
    listing (an XML or JSON document the runner does not list with, binary data) is a
    `ListingError`."""
    from pts.client.listings import read_listing

    from_stdin = source is None or str(source) == "-"
    try:
        data = sys.stdin.buffer.read() if from_stdin else source.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read the candidate tests from {source}: {exc.strerror}") from exc
    found = read_listing(data, "stdin" if from_stdin else str(source), profile)
    if found.unrecognized:
        many = len(found.unrecognized) > 1
        typer.echo(
            f"pts: warning: left out {counted(len(found.unrecognized), 'candidate line')} that "
            f"{'are' if many else 'is'} no {profile.name} test id ({'the first: ' if many else ''}"
            f"{found.unrecognized[0]!r}); {profile.name} ids look like {profile.example!r}, "
            f"as `{profile.lists_with}` lists them",
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
    log.info("subset_fallback_to_all", reason=reason)  # the sentence below is the warning
    typer.echo(f"pts: warning: {reason}; running all {counted(len(tests), 'test')}", err=True)
    if tests:
        typer.echo(output(tests))
    if rest is not None:
        try:
            rest.write_text("")
        except OSError as exc:
            typer.echo(f"pts: warning: cannot write {rest}: {exc.strerror}", err=True)


Fallback = Annotated[
    str,
    typer.Option(
        "--fallback",
        help="When pts cannot answer (no worker, no broker, no candidates): run-all prints "
        "every candidate and exits 0, so that a build is never blocked; fail exits 1.",
    ),
]


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
        bool, typer.Option(help="Print probabilities, durations and reasons to stderr.")
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
    must_run: Annotated[
        list[str] | None,
        typer.Option(
            "--must-run",
            metavar="GLOB",
            help="Always run the candidates whose id matches (repeatable; * ? [..]), besides "
            "the project's own list on the worker.",
        ),
    ] = None,
    starve_after_builds: Annotated[
        int | None,
        typer.Option(
            min=0,
            help="Run a test with no result in this many of the project's builds (default: "
            "the project's setting, else 50; 0: off).",
        ),
    ] = None,
    starve_after_days: Annotated[
        float | None,
        typer.Option(
            min=0,
            help="Run a test with no result in this many days (default: the project's "
            "setting, else 14; 0: off).",
        ),
    ] = None,
    full_run_every: Annotated[
        int | None,
        typer.Option(
            min=0,
            help="Run every candidate every N builds of the project (default: the project's "
            "setting, else never; 0: never).",
        ),
    ] = None,
    full_run: Annotated[
        bool, typer.Option("--full-run", help="Run every candidate in this build.")
    ] = False,
    full_run_on: Annotated[
        list[str] | None,
        typer.Option(
            "--full-run-on",
            metavar="BRANCH",
            help="Run every candidate when the build's branch matches this glob (repeatable); "
            "the branch is --branch, else the CI's (GITHUB_REF_NAME, CI_COMMIT_REF_NAME, "
            "BRANCH_NAME, ...), else git's.",
        ),
    ] = None,
    branch: Annotated[
        str | None, typer.Option(help="The branch the build tests (for --full-run-on).")
    ] = None,
    fallback: Fallback = "run-all",
) -> None:
    """Print the subset of the candidate tests to run, first things first.

    The safety nets add tests to the subset whatever the ranking says (--must-run, the
    starvation bound, full runs); --explain says which and why. Whatever goes wrong once the
    candidates are read (no answer in time, no broker, a bad setting, a --rest file that
    cannot be written), every candidate is printed, with a warning on stderr, and the exit
    code is 0: pts never blocks a build, unless --fallback fail asks it to.

    Examples:

    \b
      pytest --collect-only -q \\
        | pts subset -p shop -b 42 --target 20% --runner pytest
      go test -list . ./... | pts subset -p shop -b 42 --target 5m --runner go
      pts subset -p shop -b 42 --target 90%c --rest rest.txt tests.txt
    """
    from pts.client.branches import branch_matches
    from pts.client.runners import runner as runner_named
    from pts.core.flavors import flavored, parse_flavors

    parsed_target = Target.parse(target)
    profile = runner_named(runner)  # usage errors, before anything else
    output = _formatter(profile, fmt)
    flavor_key = parse_flavors(flavor or [])
    if fallback not in FALLBACKS:
        raise typer.BadParameter(f"--fallback must be one of {', '.join(FALLBACKS)}")
    if known_tests and candidates is not None:
        raise ConfigError("--known-tests reads no candidates: give either, not both")
    nets = Nets(
        tuple(must_run or ()),
        -1 if starve_after_builds is None else starve_after_builds,
        -1.0 if starve_after_days is None else starve_after_days,
        -1 if full_run_every is None else full_run_every,
        full_run or branch_matches(full_run_on or [], branch),
    )
    try:
        tests = [] if known_tests else _read_candidates(candidates, profile)
    except ConfigError as exc:
        _no_candidates(str(exc), fallback)
        return
    if not tests and not known_tests:
        _no_candidates("the candidate list is empty: there is nothing to choose from", fallback)
        return
    try:
        asked = SubsetAsked(
            [flavored(test, flavor_key) for test in tests], flavor_key, observe, known_tests,
            _catch_up(catch_up, timeout), nets,
        )  # fmt: skip
        response = _without_flavor(
            _ask_for_subset(project, build, parsed_target, timeout, asked), flavor_key
        )
        chosen = response.subset + response.rest if observe else response.subset
        if rest is not None:
            left_out = "" if observe else output(response.rest)
            rest.write_text(left_out + "\n" if left_out else "")
    except (PtsError, OSError, *_kafka_errors()) as exc:
        if fallback == "fail":
            _fail(f"no subset: {_reason(exc)}")
        shown = (
            output
            if split is None
            else lambda all_tests: subset_file(
                [(test, 1.0) for test in all_tests], split, runner, fmt
            )
        )
        _print_all(tests, rest, _reason(exc), shown)
        return
    if known_tests and not response.ranked:
        if fallback == "fail":
            _fail(f"the worker knows no recent test of {project}: no subset")
        typer.echo(
            f"pts: warning: the worker knows no recent test of {project} to choose from "
            "(--known-tests): run every test",
            err=True,
        )
    if split is not None:
        seconds = {test.test_id: test.expected_duration_s for test in response.ranked}
        typer.echo(subset_file([(t, seconds[t]) for t in chosen], split, runner, fmt))
    elif chosen:
        typer.echo(output(chosen))
    if explain:
        _explain(response)
    if response.results_behind:
        typer.echo(
            f"pts: warning: the model had not learned {counted(response.results_behind, 'result')}"
            f" of {project} yet when it answered; give it longer with --catch-up",
            err=True,
        )
    observing = "observing, running every test; would have run " if observe else ""
    typer.echo(
        f"pts: {observing}{response.subset_size} of {counted(len(response.ranked), 'test')}, "
        f"{share(response.expected_share_of_time)} of the expected time, "
        f"{share(response.expected_share_of_failures)} of the expected failures "
        f"(ranker {response.model}){_added_by_nets(response)}",
        err=True,
    )
    _warn_if_no_candidate_is_known(project, response, profile)


FALLBACKS = ("run-all", "fail")


def _no_candidates(reason: str, fallback: str) -> None:
    """No candidate to choose from: never a silent empty subset."""
    if fallback == "fail":
        _fail(reason)
    typer.echo(f"pts: warning: {reason}; printing nothing: run every test", err=True)


def _fail(reason: str) -> NoReturn:
    typer.echo(f"pts: error: {reason} (--fallback fail)", err=True)
    raise typer.Exit(1)


def _explain(response: SubsetResponse) -> None:
    for position, test in enumerate(response.ranked, 1):
        marker = "run " if position <= response.subset_size else "skip"
        typer.echo(
            f"{marker} {test.failure_probability:7.4f} {test.expected_duration_s:9.2f}s "
            f"{test.reason:<24} {test.test_id}",
            err=True,
        )


def _added_by_nets(response: SubsetResponse) -> str:
    """`; 3 added by safety nets (must-run 1, starved 2)`, or nothing."""
    added = Counter(
        test.reason
        for test in response.ranked[: response.subset_size]
        if test.reason in SAFETY_NET_REASONS
    )
    if not added:
        return ""
    kinds = ", ".join(f"{reason} {n}" for reason, n in added.items())
    return f"; {sum(added.values())} added by safety nets ({kinds})"


@dataclass(frozen=True)
class SubsetAsked:
    """What `pts subset` asks for, beyond project, build and target."""

    candidates: list[str]
    flavor: str = ""
    observe: bool = False
    known_tests: bool = False
    catch_up_s: float = 2.0
    nets: Nets = Nets()


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
    from pts.client.subset_client import ask, new_request

    request = replace(
        new_request(settings(), project, build, asked.candidates, target),
        flavor=asked.flavor,
        observe=asked.observe,
        known_tests=asked.known_tests,
        catch_up_s=asked.catch_up_s,
    )
    return ask(settings(), asked.nets.on(request), timeout)  # Kafka, or the gateway at PTS_URL


def _without_flavor(response: SubsetResponse, flavor: str) -> SubsetResponse:
    """The answer with the ids the runner knows."""
    from pts.core.flavors import unflavored

    if not flavor:
        return response
    ranked = tuple(replace(t, test_id=unflavored(t.test_id, flavor)) for t in response.ranked)
    return replace(response, ranked=ranked)


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
            f"pts: bin {index}/{count}: {counted(len(mine), 'test')}, "
            f"{sum(seconds[t] for t in mine):.1f} s expected",
            err=True,
        )
    elif saved["tests"]:
        typer.echo(
            f"pts: warning: bin {index}/{count} is empty (the subset has only "
            f"{counted(len(saved['tests']), 'test')}): this shard has nothing to run",
            err=True,
        )


def _kafka_errors() -> tuple[type[Exception], ...]:
    """confluent-kafka's error, when it was imported (only then can it have been raised)."""
    kafka = sys.modules.get("confluent_kafka")
    return () if kafka is None else (kafka.KafkaException,)


def _reason(exc: Exception) -> str:
    if isinstance(exc, OSError):
        return f"{exc.filename or 'a file'}: {exc.strerror}"
    if isinstance(exc, _kafka_errors()) and exc.args:
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
            f"pts: warning: none of the {counted(len(response.ranked), 'candidate')} (e.g. "
            f"{response.ranked[0].test_id!r}) has a recorded result in project {project}, "
            f"which has {learned} results learned; candidates must use the ids "
            f"`pts record tests{' --runner ' + profile.name if profile.name != 'junit' else ''}` "
            f"records, like {profile.example!r}",
            err=True,
        )
