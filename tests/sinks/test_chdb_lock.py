"""Who holds a chdb directory: read from chdb's own lock, with a real chdb in another process."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pts.sinks.chdb_lock import holder_of

HOLD = """
import sys
from pts.sinks.chdb_store import ChdbStore
store = ChdbStore(sys.argv[1])
print("open", flush=True)
sys.stdin.read()
store.close()
"""
OPEN = """
import sys
from pts.core.errors import StoreError
from pts.sinks.chdb_store import ChdbStore
try:
    ChdbStore(sys.argv[1]).close()
except StoreError as exc:
    print(exc)
"""


@pytest.fixture
def held(tmp_path: Path) -> Iterator[tuple[Path, int]]:
    """A chdb directory that another process holds open, and that process's id."""
    path = tmp_path / "chdb"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "open\n"
        yield path, holder.pid
    finally:
        holder.communicate("", timeout=60)


def test_the_holder_of_an_open_directory_is_named(held: tuple[Path, int]) -> None:
    path, pid = held
    assert holder_of(path) == pid


def test_a_directory_nobody_holds_has_no_holder(tmp_path: Path) -> None:
    path = tmp_path / "chdb"
    killed = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    assert killed.stdout is not None and killed.stdout.readline() == b"open\n"
    killed.kill()  # no clean close: chdb's status file stays, naming the dead process
    killed.communicate(timeout=60)
    assert f"PID: {killed.pid}" in (path / "status").read_text()
    assert holder_of(path) is None
    assert holder_of(tmp_path / "never-opened") is None


def test_opening_a_held_directory_names_the_process_that_holds_it(
    held: tuple[Path, int],
) -> None:
    path, pid = held
    said = subprocess.run(
        [sys.executable, "-c", OPEN, str(path)], capture_output=True, text=True, timeout=120
    ).stdout.strip()
    assert said.startswith(f"chdb cannot open {path}: process {pid} holds it, and chdb lets one")
