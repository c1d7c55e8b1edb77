"""Each project's safety nets, as the operator sets them in one TOML file (`PTS_PROJECTS_FILE`).

    # Every project, unless its own table says otherwise.
    [defaults]
    starve_after_builds = 50   # 0: off
    starve_after_days = 14     # 0: off
    full_run_every = 0         # builds; 0: off

    [projects.shop]
    must_run = ["tests/smoke/*", "*::test_checkout*"]
    full_run_every = 100

A request's own settings win over its project's, which win over `[defaults]`, which win over
the built-in defaults (`safety_nets.DEFAULTS`); must-run globs add up at every level.

>>> policies = Policies.parse('[projects.shop]\\nmust_run = ["smoke/*"]\\nfull_run_every = 7')
>>> policies.of("shop").must_run, policies.of("shop").full_run_every
(('smoke/*',), 7)
>>> policies.of("other") == DEFAULTS
True
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

from pts.core.errors import ConfigError
from pts.selection.safety_nets import DEFAULTS, Nets

_NUMBERS = {"starve_after_builds": int, "starve_after_days": float, "full_run_every": int}
_KEYS = ("must_run", *_NUMBERS)


@dataclass(frozen=True)
class Policies:
    defaults: Nets = DEFAULTS
    projects: dict[str, Nets] = field(default_factory=dict)

    def of(self, project: str) -> Nets:
        own = self.projects.get(project)
        return own.over(self.defaults) if own is not None else self.defaults

    @classmethod
    def load(cls, path: Path | None) -> Self:
        """The policies of a file; none (every project on the defaults) without one."""
        if path is None:
            return cls()
        try:
            text = path.read_text()
        except OSError as exc:
            raise ConfigError(f"PTS_PROJECTS_FILE {path}: {exc.strerror}") from exc
        return cls.parse(text, str(path))

    @classmethod
    def parse(cls, text: str, source: str = "PTS_PROJECTS_FILE") -> Self:
        try:
            document = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{source} is not valid TOML: {exc}") from exc
        unknown = set(document) - {"defaults", "projects"}
        if unknown:
            raise ConfigError(f"{source}: unknown table {sorted(unknown)[0]!r}; expected "
                              "[defaults] and [projects.NAME]")  # fmt: skip
        defaults = _nets(document.get("defaults", {}), f"{source} [defaults]").over(DEFAULTS)
        projects = document.get("projects", {})
        if not isinstance(projects, dict):
            raise ConfigError(f"{source}: projects must be tables, [projects.NAME]")
        return cls(
            defaults,
            {name: _nets(table, f"{source} [projects.{name}]") for name, table in projects.items()},
        )


def _nets(table: Any, where: str) -> Nets:
    if not isinstance(table, dict):
        raise ConfigError(f"{where} must be a table")
    unknown = set(table) - set(_KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown key {sorted(unknown)[0]!r}; expected one of {_KEYS}")
    values: dict[str, Any] = {}
    globs = table.get("must_run", [])
    if not isinstance(globs, list) or not all(isinstance(g, str) and g for g in globs):
        raise ConfigError(f"{where}: must_run must be a list of globs on test ids")
    values["must_run"] = tuple(globs)
    for key, kind in _NUMBERS.items():
        if key in table:
            value = table[key]
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ConfigError(f"{where}: {key} must be a number, 0 or more (0: off)")
            if kind is int and value != int(value):
                raise ConfigError(f"{where}: {key} must be a whole number of builds")
            values[key] = kind(value)
    return Nets(**values)
