"""Which install extra a command needs. The plain install is the CI client; a command that
needs more says which extra to install, instead of a traceback."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from pts.core.errors import ConfigError

# The top-level modules that only the extras install, and the extra that brings each.
EXTRA_OF_MODULE = {
    "faust": "worker",
    "aiokafka": "worker",
    "mode": "worker",
    "river": "worker",
    "chdb": "worker",
    "clickhouse_connect": "worker",
    "matplotlib": "eval",
    "plotly": "report",
    "aiohttp": "gateway",
    "prometheus_client": "gateway",
}


@contextmanager
def needs_extra(command: str, extra: str | None = None) -> Iterator[None]:
    """Turn a missing extra's module, imported inside the block, into a one-line error.

    >>> with needs_extra("worker"):
    ...     raise ModuleNotFoundError("No module named 'faust'", name="faust")
    Traceback (most recent call last):
    ...
    pts.core.errors.ConfigError: `pts worker` needs the worker extra (faust is not installed): \
in a clone of pts, pip install '.[worker]'
    """
    try:
        yield
    except ModuleNotFoundError as exc:
        module = (exc.name or "").partition(".")[0]
        if module not in EXTRA_OF_MODULE:
            raise
        wanted = extra or EXTRA_OF_MODULE[module]
        raise ConfigError(
            f"`pts {command}` needs the {wanted} extra ({module} is not installed): "
            f"in a clone of pts, pip install '.[{wanted}]'"
        ) from None
