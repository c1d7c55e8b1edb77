"""Progress of long work, for a person watching: a bar on stderr when it is a terminal."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

Advance = Callable[[int, int], None]
"""Told (done, total) as the work goes on."""


@contextmanager
def progress_bar(description: str) -> Iterator[Advance]:
    """A bar on stderr while the block runs, cleared at its end; off a terminal, nothing (the
    command's closing sentence says what was done, and logs stay for `--log-format json`)."""
    if not sys.stderr.isatty():
        yield lambda _done, _total: None
        return
    from rich.console import Console  # typer's dependency; imported only for a terminal
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(description, total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield advance
