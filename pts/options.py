"""What several commands share: their common options, and how they print counts and shares."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

import typer

if TYPE_CHECKING:
    from pts.core.settings import Settings

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
        "dotnet, ctest, robot, gtest, cts, cucumber, dart, flutter).",
    ),
]

LogFormatOption = Annotated[
    Literal["auto", "json", "human", "off"] | None,
    typer.Option(
        "--log-format",
        help="Log lines on stderr (PTS_LOG_FORMAT). auto: warnings only, but JSON from the "
        "services when stderr is no terminal.",
        show_default=False,
    ),
]


def settings() -> Settings:
    """The settings (`pts.core.settings.settings`), imported when a command first asks: pydantic
    is a good part of a command's start, and `pts --help` needs none of it."""
    from pts.core.settings import settings as from_environment

    return from_environment()


def counted(n: int, noun: str, plural: str | None = None) -> str:
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


def share(fraction: float) -> str:
    """A share as a percentage; below 1%, with one decimal, so that it never reads as 0%."""
    return f"{fraction:.1%}" if 0 < fraction < 0.01 else f"{fraction:.0%}"
