"""The history loader on a thread of the worker, and read-only queries on the same store.

chdb allows one process per data directory, so in embedded mode the worker process owns
it: the loader writes there and analysts query through the worker (`pts query`, `/query`).
The store serialises its own calls, so the loader's inserts and the queries may share it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pts.consumers.history_loader import HistoryLoader
from pts.core.logs import get_logger
from pts.core.settings import Settings
from pts.sinks import open_store

log = get_logger(__name__)


@dataclass
class HistoryService:
    """The loader's thread, the loader (its health), and queries on the same store."""

    thread: threading.Thread
    loader: HistoryLoader
    query: Callable[..., list[dict[str, Any]]]

    def health(self) -> dict[str, Any]:
        """The loader's state; "dead" when its thread ended while it should be running."""
        health = self.loader.health.as_dict()
        if not self.thread.is_alive() and health["state"] != "stopped":
            health["state"] = "dead"
        return health


def start_in_thread(
    settings: Settings, stop: threading.Event, session_timeout_s: float | None = None
) -> HistoryService:
    """Start loading history on a thread until `stop` is set.
    `session_timeout_s`: how soon the loader leaves its group when the process is killed."""
    store = open_store(settings)
    loader = HistoryLoader(settings, store, session_timeout_s=session_timeout_s)

    def run() -> None:
        try:
            loader.run(stop)
        except Exception as exc:
            loader.health.error = f"crashed: {exc!r}"
            log.exception("history_loader_crashed")
        finally:
            loader.close()
            store.close()

    thread = threading.Thread(target=run, name="pts-history-loader", daemon=True)
    thread.start()
    log.info("history_loader_started", topics=loader.topics)
    return HistoryService(thread, loader, store.query)
