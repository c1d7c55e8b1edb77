"""The package layout as pyproject.toml declares it: each `pts.…` package and its folder.

The folders sit at the top of the repository and setuptools maps them into the one `pts`
namespace (`[tool.setuptools.package-dir]`), so the tests read the mapping from there rather
than walking `pts.__path__`, which an editable install does not extend.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Module:
    name: str  # e.g. "pts.streams.app"
    path: Path


def package_folders() -> dict[str, Path]:
    """Every package of the wheel, with the folder it comes from."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    roots = {name: REPO / folder for name, folder in config["package-dir"].items()}
    folders = {}
    for package in config["packages"]:
        root = max((r for r in roots if package == r or package.startswith(r + ".")), key=len)
        folders[package] = roots[root].joinpath(*package[len(root) :].split(".")[1:])
    return folders


def modules() -> list[Module]:
    """Every Python module of the wheel's packages (an `__init__.py` under its package's name)."""
    found = []
    for package, folder in sorted(package_folders().items()):
        for path in sorted(folder.glob("*.py")):
            name = package if path.stem == "__init__" else f"{package}.{path.stem}"
            found.append(Module(name, path))
    return found
