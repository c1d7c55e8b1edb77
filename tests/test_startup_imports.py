"""What the command line imports before it does anything: the heavy libraries wait for the
commands that use them (bench/startup.py measures the time; tests assert no time)."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("structlog", "rich", "pydantic", "confluent_kafka", "faust", "river", "chdb")


def imported_after(code: str) -> list[str]:
    """The HEAVY modules imported once `code` ran, in a fresh interpreter."""
    probe = (
        f"{code}\nimport sys\n"
        f"print('imported:', *(m for m in {HEAVY!r} if m in sys.modules), file=sys.stderr)"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True, timeout=120)  # fmt: skip
    [line] = [line for line in done.stderr.splitlines() if line.startswith("imported:")]
    return line.split()[1:]


def test_importing_the_command_line_imports_none_of_them() -> None:
    assert imported_after("import pts.cli") == []


def test_help_imports_none_of_them() -> None:
    code = (
        "import sys\nfrom pts.cli import app\nsys.argv = ['pts', '--help']\n"
        "try:\n    app()\nexcept SystemExit:\n    pass"
    )
    assert imported_after(code) == []


def test_a_line_below_the_level_imports_no_structlog() -> None:
    code = (
        "from pts.core.logs import configure, get_logger\n"
        "configure('warning', 'human')\n"
        "get_logger('pts.probe').info('not_written', detail=1)"
    )
    assert imported_after(code) == []
    assert imported_after(code.replace(".info(", ".warning(")) == ["structlog", "rich"]
