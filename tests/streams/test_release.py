"""A partition revoked while its restore is still running is released after the restore, not
overtaken by it: the worker must not go on holding projects of a partition it lost."""

from __future__ import annotations

import asyncio
import time

from pts.core.settings import Settings
from pts.selection.selector import ProjectSelector, Selector
from pts.streams.app import WorkerState
from pts.streams.snapshots import PartitionSnapshot


def test_a_partition_revoked_during_its_restore_is_released_once_restored() -> None:
    # No broker: the snapshot read is replaced by a slow one, the rest is the worker's own.
    state = WorkerState(Settings(kafka_bootstrap="127.0.0.1:1"), Selector(), {})

    def slow_read(partition: int) -> PartitionSnapshot:
        time.sleep(0.5)
        return PartitionSnapshot(partition, {"shop": ProjectSelector("shop")})

    state._read_partition = slow_read  # type: ignore[method-assign]

    async def assign_then_revoke() -> None:
        restoring = asyncio.ensure_future(state.ensure_restored(2))
        await asyncio.sleep(0.1)  # the read is under way
        await state.release({2})
        await restoring

    try:
        asyncio.run(assign_then_revoke())
        assert 2 not in state.restored
        assert "shop" not in state.selector.projects
        assert "shop" not in state.partition_of
    finally:
        state.close()
