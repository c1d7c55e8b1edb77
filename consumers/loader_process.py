"""`pts loader`: the history loader as a process of its own, beside `pts worker --no-history`.

It owns the history store (chdb under PTS_DATA_DIR, or the server of PTS_CLICKHOUSE_URL),
loads the stored topics in the group `<PTS_WORKER_ID>-history`, as the worker's loader thread
does (offsets committed only after the store took the batch), and serves `/health` and
`/query` on PTS_LOADER_HTTP_PORT. SIGTERM or SIGINT ends the batch in hand, commits it, and
exits; SIGKILL loses nothing either: the uncommitted batch is loaded again, and the store's
idempotent inserts absorb it.
"""

from __future__ import annotations

import signal
import threading
from functools import partial
from types import FrameType
from typing import Any

from pts.consumers.history_service import HistoryService
from pts.consumers.loader_http import LoaderHttp
from pts.consumers.loader_metrics import loader_metrics, render
from pts.core.errors import ConfigError, StoreError
from pts.core.kafka import admin_client
from pts.core.logs import get_logger
from pts.core.secrets import check_secrets
from pts.core.settings import Settings
from pts.core.topics import ensure_topics

log = get_logger(__name__)

SESSION_TIMEOUT_S = 10.0
"""As the worker's: a killed loader's partitions go to its successor within this."""
STOP_TIMEOUT_S = 60.0


def store_description(settings: Settings) -> dict[str, str]:
    """Which store the loader writes, without credentials."""
    if settings.clickhouse_url:
        from pts.sinks.server_store import parse_clickhouse_url

        address = parse_clickhouse_url(settings.clickhouse_url)
        return {"backend": "clickhouse", "server": f"{address.host}:{address.port}"}
    return {"backend": "chdb", "path": str(settings.chdb_dir)}


def health_of(settings: Settings, service: HistoryService) -> dict[str, Any]:
    """The body of `/health`: the loader's state, what it loaded, how far behind it is."""
    history = service.health()
    progress = service.progress()
    healthy = history["state"] in ("starting", "running") and progress["consume_error"] is None
    return {
        "status": "ok" if healthy else "degraded",
        "loader": settings.history_group_id,
        "store": store_description(settings),
        "history": history,
        **progress,
    }


def run_loader(settings: Settings) -> None:
    """Load history until SIGTERM or SIGINT; raises when the loader cannot go on."""
    check_secrets(settings)  # an empty or short token: before anything else
    ensure_topics(admin_client(settings), settings)  # a broker that is away: one clear error
    stop = threading.Event()
    service = HistoryService(settings, stop, SESSION_TIMEOUT_S)  # embedded: opens chdb now
    try:
        http = LoaderHttp(
            settings.worker_http_host,
            settings.loader_http_port,
            lambda: health_of(settings, service),
            service.query,
            None if settings.worker_token is None else settings.worker_token.get_secret_value(),
            partial(render, loader_metrics(service)),
        )
    except OSError as exc:
        if service.store is not None:
            service.store.close()
        raise ConfigError(
            f"the loader cannot listen on {settings.worker_http_host}:"
            f"{settings.loader_http_port} ({exc.strerror or exc}): stop what listens there, or "
            "set PTS_LOADER_HTTP_PORT to a free port"
        ) from exc

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("loader_stopping", signal=signal.Signals(signum).name)
        stop.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, on_signal)
    service.start()
    http.start()
    log.info("loader_started", url=settings.loader_url, store=store_description(settings))
    try:
        while service.thread.is_alive() and not stop.is_set():
            service.thread.join(0.5)  # with a timeout, so that signals are handled meanwhile
        ended_alone = not stop.is_set()
    finally:
        stop.set()
        service.thread.join(STOP_TIMEOUT_S)
        http.close()
    if ended_alone:  # the loader thread crashed: exit, so that a supervisor starts it again
        raise StoreError(f"the history loader stopped: {service.health()['error']}")
    log.info("loader_stopped", **service.progress())
