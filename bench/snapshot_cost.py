"""What a snapshot round costs at 1,000 projects, beside the whole-state checkpoint it replaced.

1,000 projects learn a small synthetic history each in process (`--cycles` cycles of a 60-test
suite). Then, per run:
- **whole checkpoint**: pickling the entire selector in one step, as the worker did every 10 s
  before state moved to Kafka; the model thread learned and answered nothing meanwhile;
- **round, every project changed** and **round, 10 changed**: `WorkerState.snapshot()` through
  a real broker (its own, started here): wall time of the round, bytes written, and the longest
  single turn on the model thread (one project's pickle), which is all a round ever holds the
  model thread for;
- **restore**: reading one partition's snapshots back (`snapshots.read_partition`).

    .venv/bin/python -m bench.snapshot_cost [--projects 1000] [--cycles 20] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import pickle
import subprocess
import tempfile
import time
import uuid
from dataclasses import replace
from pathlib import Path

from bench.common import machine_line, median, progress, table, write_result
from bench.stack import BROKER_SCRIPT, free_port
from pts.core.events import TestResultBatch
from pts.core.kafka import admin_client
from pts.core.settings import Settings
from pts.core.topics import ensure_topics
from pts.evaluation.synthetic import generate
from pts.selection.selector import Selector
from pts.streams import checkpoints, snapshots
from pts.streams.app import WorkerState

PARTITIONS = 6


def learned_selector(projects: int, cycles: int) -> Selector:
    selector = Selector()
    history = generate(0, cycles=cycles, modules=6, tests_per_module=10)
    for number in range(projects):
        name = f"project-{number:04d}"
        for cycle in history.cycles:
            build = replace(cycle.build, project=name)
            selector.observe_build(build)
            results = tuple(cycle.results)
            selector.learn_and_predict(TestResultBatch(name, build.build_id, "r.xml", results))
    return selector


def whole_checkpoint_s(selector: Selector) -> tuple[float, int]:
    started = time.perf_counter()
    payload = pickle.dumps(selector, protocol=pickle.HIGHEST_PROTOCOL)
    return time.perf_counter() - started, len(payload)


def longest_turn_s(selector: Selector, names: list[str]) -> float:
    longest = 0.0
    for name in names:
        started = time.perf_counter()
        checkpoints.pickled(selector.projects[name])
        longest = max(longest, time.perf_counter() - started)
    return longest


def round_through_broker(settings: Settings, selector: Selector, names: list[str]) -> dict:
    state = WorkerState(settings, selector, {})
    for partition in range(PARTITIONS):
        state.restored[partition] = {}
    for number, name in enumerate(selector.projects):
        state.partition_of[name] = number % PARTITIONS
    for name in names:
        state._changed.add(name)  # what the agents mark as they learn

    async def one_round() -> float:
        started = time.perf_counter()
        assert await state.snapshot()
        return time.perf_counter() - started

    try:
        seconds = asyncio.run(one_round())
    finally:
        state.close()
    return {"seconds": seconds, "bytes": state.last_snapshot["bytes"]}


def restore_s(settings: Settings) -> tuple[float, int]:
    consumer = snapshots.restore_consumer(settings)
    key = checkpoints.checkpoint_key(settings)
    try:
        started = time.perf_counter()
        read = snapshots.read_partition(settings, consumer, 0, key)
        return time.perf_counter() - started, len(read.projects)
    finally:
        consumer.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=1000)
    parser.add_argument("--cycles", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    progress(f"{args.projects} projects learn {args.cycles} cycles each")
    selector = learned_selector(args.projects, args.cycles)
    names = list(selector.projects)
    tmp = Path(tempfile.mkdtemp(prefix="pts-bench-"))
    port = free_port(pair=True)
    broker_env = {**os.environ, "PTS_BROKER_PORT": str(port),
                  "PTS_BROKER_DIR": str(tmp / "broker"),
                  "PTS_BROKER_WATCH_PID": str(os.getpid())}  # fmt: skip
    subprocess.run([str(BROKER_SCRIPT), "start"], env=broker_env, check=True)
    runs: list[dict] = []
    try:
        suffix = uuid.uuid4().hex[:8]
        settings = Settings(kafka_bootstrap=f"127.0.0.1:{port}", topic_prefix=f"bench-{suffix}",
                            partitions=PARTITIONS, worker_id=f"bench-{suffix}",
                            data_dir=tmp / "data", checkpoint_key="bench")  # fmt: skip
        ensure_topics(admin_client(settings), settings)
        for run in range(args.runs):
            progress(f"run {run + 1}/{args.runs}")
            whole_s, whole_bytes = whole_checkpoint_s(selector)
            every = round_through_broker(settings, selector, names)
            few = round_through_broker(settings, selector, names[:10])
            restored_s, restored = restore_s(settings)
            runs.append({
                "whole_s": whole_s, "whole_bytes": whole_bytes,
                "round_all_s": every["seconds"], "round_all_bytes": every["bytes"],
                "round_10_s": few["seconds"], "round_10_bytes": few["bytes"],
                "longest_turn_s": longest_turn_s(selector, names),
                "restore_partition_s": restored_s, "restored_projects": restored,
            })  # fmt: skip
    finally:
        subprocess.run([str(BROKER_SCRIPT), "stop"], env=broker_env, check=False)

    def mid(key: str) -> float:
        return median([r[key] for r in runs])

    print(machine_line())
    print(f"snapshot cost; median over {args.runs} runs, {args.projects} projects, "
          f"{args.cycles} cycles of 60 tests each, {PARTITIONS} partitions")  # fmt: skip
    print(table(
        ["step", "wall s", "model thread held, longest s", "MiB"],
        [
            ["whole checkpoint (before)", f"{mid('whole_s'):.3f}", f"{mid('whole_s'):.3f}",
             f"{mid('whole_bytes') / 2**20:.1f}"],
            ["round, every project changed", f"{mid('round_all_s'):.3f}",
             f"{mid('longest_turn_s'):.4f}", f"{mid('round_all_bytes') / 2**20:.1f}"],
            ["round, 10 projects changed", f"{mid('round_10_s'):.3f}",
             f"{mid('longest_turn_s'):.4f}", f"{mid('round_10_bytes') / 2**20:.2f}"],
            [f"restore one partition ({int(mid('restored_projects'))} projects)",
             f"{mid('restore_partition_s'):.3f}", "-", "-"],
        ],
    ))  # fmt: skip
    print(f"written: {write_result('snapshot_cost', {'args': vars(args), 'runs': runs})}")


if __name__ == "__main__":
    main()
