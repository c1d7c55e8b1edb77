"""The history store on both backends: `ChdbStore`, and `ServerStore` driving the same embedded
engine through clickhouse-connect's chdb interface (the code path a server uses)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import clickhouse_connect
import pytest

from pts.sinks.chdb_store import ChdbStore
from pts.sinks.server_store import ServerStore
from pts.sinks.store import HistoryStore


@pytest.fixture(params=["chdb", "clickhouse-connect"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[HistoryStore]:
    if request.param == "chdb":
        opened: HistoryStore = ChdbStore(tmp_path / "chdb")
    else:
        client = clickhouse_connect.get_client(
            interface="chdb", path=str(tmp_path / "chdb"), tz_mode="aware"
        )
        opened = ServerStore(client)
    try:
        yield opened
    finally:
        opened.close()
