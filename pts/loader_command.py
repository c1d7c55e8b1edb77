"""`pts loader`: the history, from Kafka into ClickHouse, as a process of its own."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pts.core.errors import ConfigError, WorkerUnreachable
from pts.extras import needs_extra
from pts.options import settings

if TYPE_CHECKING:
    from pts.core.settings import Settings


def loader() -> None:
    """Load the history into ClickHouse as a process of its own (beside `pts worker
    --no-history`); serve /health and /query on PTS_LOADER_HTTP_PORT."""
    config = settings()
    if not config.clickhouse_url:
        check_chdb_free(config)
    with needs_extra("loader", "worker"):
        from pts.consumers.loader_process import run_loader
        from pts.worker.startup_checks import check_http_exposure

        check_http_exposure(config)  # the loader serves the history on the worker's host
        run_loader(config)


def check_chdb_free(config: Settings) -> None:
    """Refuse, saying who and what to do, when another process holds the chdb directory
    (chdb lets one process open a data directory; its own error names neither)."""
    from pts.sinks.chdb_lock import holder_of
    from pts.worker.http_client import fetch

    holder = holder_of(config.chdb_dir)
    if holder is None:
        return
    process = f"process {holder}" if holder else "another process"
    try:
        health = fetch(config, "/health")
    except WorkerUnreachable:
        health = {}
    if "history" in health:
        raise ConfigError(
            f"`pts worker` {health.get('worker', '')} ({process}) loads the history into "
            f"{config.chdb_dir} itself, and chdb lets one process open a data directory: "
            "either let that worker load the history (no `pts loader` needed), or restart it "
            "as `pts worker --no-history` and then start `pts loader`"
        )
    raise ConfigError(
        f"{process} holds {config.chdb_dir} (a `pts worker` without --no-history, or another "
        "`pts loader`), and chdb lets one process open a data directory: stop it first, or "
        "point this loader at another PTS_DATA_DIR"
    )
