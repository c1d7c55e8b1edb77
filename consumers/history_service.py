"""The history loader on a thread of the worker, and read-only queries on the same store.

chdb allows one process per data directory, so in embedded mode the worker process owns
it: the loader writes there and analysts query through the worker (`pts query`, `/query`).
The store serialises its own calls per session: the loader's inserts and the queries share it, and
a running query does not hold up inserts.

A ClickHouse server that is away when the worker starts does not stop it: selection goes on,
the thread connects with backoff, and `/health` and `/query` say the history is not there yet.
"""

from __future__ import annotations

import threading
from typing import Any

from pts.consumers.history_loader import HistoryLoader, LoaderHealth
from pts.core.errors import StoreError
from pts.core.logs import get_logger
from pts.core.settings import Settings
from pts.sinks import HistoryStore, open_store

log = get_logger(__name__)


class HistoryService:
    """The loader's thread, its health, and queries on the same store."""

    def __init__(
        self, settings: Settings, stop: threading.Event, session_timeout_s: float | None = None
    ) -> None:
        """`session_timeout_s`: how soon the loader leaves its group when the process dies."""
        self.settings, self.stop, self.session_timeout_s = settings, stop, session_timeout_s
        self.store: HistoryStore | None = None
        self.loader: HistoryLoader | None = None
        self._health = LoaderHealth()  # until the loader exists
        if not settings.clickhouse_url:
            self.store = open_store(settings)  # embedded: a failure here is a setup error
        self.thread = threading.Thread(target=self._run, name="pts-history-loader", daemon=True)

    def start(self) -> HistoryService:
        self.thread.start()
        return self

    def query(self, sql: str, params: dict[str, str] | None = None) -> list[dict[str, Any]]:
        store = self.store
        if store is None:
            raise StoreError(f"the history store is not reachable yet ({self._health.error})")
        return store.query(sql, params)

    def health(self) -> dict[str, Any]:
        """The loader's state; "dead" when its thread ended while it should be running."""
        health = (self.loader.health if self.loader else self._health).as_dict()
        if not self.thread.is_alive() and health["state"] != "stopped":
            health["state"] = "dead"
        return health

    def progress(self) -> dict[str, Any]:
        """What the loader loaded since start, how far behind it is (`HistoryLoader.progress`)."""
        if self.loader is None:
            return {
                "loaded": {}, "dead_lettered": 0, "messages_behind": None, "behind": {},
                "consume_error": None,
            }  # fmt: skip
        return self.loader.progress()

    def counts(self) -> tuple[dict[str, int], int]:
        """Rows stored by kind, and batches (or connections) the store failed, since start."""
        failed = self._health.failures_total
        if self.loader is None:
            return {}, failed
        return dict(self.loader.rows_stored), failed + self.loader.health.failures_total

    def _connect(self) -> HistoryStore | None:
        while self.store is None and not self.stop.is_set():
            try:
                self.store = open_store(self.settings)
            except StoreError as exc:
                failing = self._health.state == "retrying"
                wait_s = self._health.failed(str(exc))
                if not failing:  # once when it starts failing; /health has the latest error
                    log.warning("history_store_unreachable", error=str(exc), retry_in_s=wait_s)
                self.stop.wait(wait_s)
        if self.store is not None and self._health.state == "retrying":
            log.warning("history_store_reachable", tries=self._health.batches_failed + 1)
        return self.store

    def _run(self) -> None:
        store = self._connect()
        if store is None:
            return
        try:
            self.loader = HistoryLoader(
                self.settings, store, session_timeout_s=self.session_timeout_s
            )
            log.info("history_loader_started", topics=self.loader.topics)
            self.loader.run(self.stop)
        except Exception as exc:
            (self.loader.health if self.loader else self._health).error = f"crashed: {exc!r}"
            log.exception("history_loader_crashed")
        finally:
            if self.loader is not None:
                self.loader.close()
            store.close()


def start_in_thread(
    settings: Settings, stop: threading.Event, session_timeout_s: float | None = None
) -> HistoryService:
    """Start loading history on a thread until `stop` is set."""
    return HistoryService(settings, stop, session_timeout_s).start()
