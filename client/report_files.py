"""Which files `pts record tests` reads: files as given, directories searched for `*.xml`,
and globs expanded (quoted ones too, as CI scripts often pass them)."""

from __future__ import annotations

import glob
from dataclasses import dataclass, field
from pathlib import Path

from pts.core.errors import ReportError

_GLOB_CHARS = set("*?[")


@dataclass
class FoundReports:
    paths: list[Path] = field(default_factory=list)
    missing: list[ReportError] = field(default_factory=list)


def find_reports(arguments: list[str], suffixes: tuple[str, ...] = (".xml",)) -> FoundReports:
    """Every report the arguments name, each once, in the order given (a directory's and a
    glob's in sorted order); an argument that names none is a `ReportError`."""
    found = FoundReports()
    seen: set[Path] = set()
    for argument in arguments:
        paths = _expand(argument, suffixes)
        if isinstance(paths, ReportError):
            found.missing.append(paths)
            continue
        for path in paths:
            if path.resolve() not in seen:
                seen.add(path.resolve())
                found.paths.append(path)
    return found


def _expand(argument: str, suffixes: tuple[str, ...]) -> list[Path] | ReportError:
    path = Path(argument)
    if path.is_dir():
        inside = sorted(p for p in path.rglob("*") if p.suffix in suffixes and p.is_file())
        kinds = " or ".join(f"*{suffix}" for suffix in suffixes)
        return inside or ReportError(argument, None, f"a directory without {kinds} reports")
    if path.exists():
        return [path]
    if _GLOB_CHARS & set(argument):
        matched = sorted(Path(p) for p in glob.glob(argument, recursive=True) if Path(p).is_file())
        return matched or ReportError(argument, None, "no file matches this pattern")
    return ReportError(argument, None, "no such file")


def report_name(path: Path) -> str:
    """The report's name in its batches: its path relative to the working directory when it
    is under it, else as given; always with forward slashes.

    >>> report_name(Path("bazel-testlogs/pkg/a/test.xml"))
    'bazel-testlogs/pkg/a/test.xml'
    """
    if path.is_absolute():
        try:
            return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
        except ValueError:
            return path.as_posix()
    return path.as_posix().removeprefix("./")
