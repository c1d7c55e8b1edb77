"""Printing many lines for a reader that may stop early (`| head`)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable

import typer


def echo_lines(lines: Iterable[str]) -> int:
    """Print lines to stdout and count them; a reader that stops early ends the output
    quietly."""
    count = 0
    try:
        for line in lines:
            typer.echo(line)
            count += 1
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return count
