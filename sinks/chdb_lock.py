"""Who holds a chdb data directory: chdb's embedded server locks `<dir>/status` (flock) for as
long as a process has the directory open, and writes that process's id into the file.

Asked before opening, so that a second process is told who holds the directory instead of
meeting chdb's own error. Within one process it cannot tell (chdb shares one server per
process), so a process asks only about directories it has not opened itself.
"""

from __future__ import annotations

import fcntl
import os
import re
from pathlib import Path

_PID = re.compile(r"^PID: (\d+)", re.MULTILINE)


def holder_of(chdb_dir: Path) -> int | None:
    """The id of the process holding `chdb_dir` open (0 when it holds it but its id cannot be
    read), or None when no process does.

    >>> import tempfile
    >>> holder_of(Path(tempfile.mkdtemp())) is None
    True
    """
    status = chdb_dir / "status"
    try:
        fd = os.open(status, os.O_RDONLY)
    except OSError:
        return None  # never opened, or not readable: chdb will say what is wrong
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            found = _PID.search(os.read(fd, 4096).decode(errors="replace"))
            return int(found.group(1)) if found else 0
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)
