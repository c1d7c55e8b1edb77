"""ClickHouse stores for the history."""

from __future__ import annotations

from pts.core.settings import Settings
from pts.sinks.store import HistoryStore

__all__ = ["HistoryStore", "open_store"]


def open_store(settings: Settings) -> HistoryStore:
    """The ClickHouse server of `settings.clickhouse_url` if set, else chdb under chdb_dir."""
    if settings.clickhouse_url:
        from pts.sinks.server_store import ServerStore

        return ServerStore.connect(settings.clickhouse_url)
    from pts.sinks.chdb_store import ChdbStore

    return ChdbStore(settings.chdb_dir)
