"""Every command's --help reads at 80 columns: no line wider, no type placeholder a person
cannot act on (`<bool>`), the docstrings' own line breaks not kept mid-sentence."""

from __future__ import annotations

import pytest
import typer.main
from typer.testing import CliRunner

from pts.cli import app

WIDTH = 80


def _commands(group: object, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [path]
    for name, command in getattr(group, "commands", {}).items():  # typer's own click
        found += _commands(command, (*path, name))
    return found


COMMANDS = _commands(typer.main.get_command(app))


def test_every_command_is_checked() -> None:
    assert ("subset",) in COMMANDS and ("record", "tests") in COMMANDS and len(COMMANDS) > 15


@pytest.mark.parametrize("path", COMMANDS, ids=lambda path: " ".join(path) or "pts")
def test_help_reads_at_80_columns(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": str(WIDTH)})
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("Usage: ")
    too_wide = [line for line in lines if len(line) > WIDTH]
    assert not too_wide, too_wide
    assert "<bool>" not in result.output
    # A docstring's line break mid-sentence shows as a short line followed by a lower-case
    # continuation in the description; rewrapped text has none.
    description = result.output.split("\n\n", 2)[1]
    assert all(len(line) > WIDTH // 2 for line in description.splitlines()[:-1]), description
