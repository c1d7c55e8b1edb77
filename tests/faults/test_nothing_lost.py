"""The fault suite: while CI events flow, the worker is paused, killed and restarted, the
broker is paused, and the history store is starved (it refuses every write for a while);
afterwards every result that `pts record` had acknowledged is learned once and stored once. A
broker of its own, so that pausing it disturbs no other test.

The store is starved for real: the chdb directories of the worker's store are made immutable
(`chattr +i`, which stops root too), so ClickHouse cannot create a part and every insert fails
with "Operation not permitted" while reads still answer, as on a disk gone read-only. Where
that is not permitted (not root, or a filesystem without the flag) the phase is skipped with a
warning, not faked."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from pts.client.publisher import EventPublisher, batches_of
from pts.core.errors import BrokerUnavailable
from pts.core.events import Build, Outcome, TestResult
from pts.core.settings import Settings
from tests.conftest import (
    RunningWorker,
    free_port,
    run_pts,
    running_broker,
    start_worker,
    wait_until,
)

pytestmark = pytest.mark.integration
RESULTS_PER_BATCH = 20


class Traffic:
    """CI recording builds and results in a loop; a publish that fails is retried, as a CI
    job would, so every batch is acknowledged exactly when its publish returns."""

    def __init__(self, env: dict[str, str]) -> None:
        self.settings = Settings(
            kafka_bootstrap=env["PTS_KAFKA_BOOTSTRAP"], topic_prefix=env["PTS_TOPIC_PREFIX"],
            partitions=int(env["PTS_PARTITIONS"]), record_timeout_s=5,
        )  # fmt: skip
        self.acknowledged = 0
        self.retries = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        build = 0
        while not self.stop.is_set():
            build += 1
            results = [
                TestResult(f"s::t{i}", "s", f"t{i}",
                           Outcome.FAILED if (build + i) % 7 == 0 else Outcome.PASSED, 0.1)
                for i in range(RESULTS_PER_BATCH)
            ]  # fmt: skip
            batch = batches_of("faults", str(build), "junit.xml", [results], f"d{build}")
            while True:
                try:
                    publisher = EventPublisher(self.settings)
                    publisher.publish(Build("faults", str(build), f"c{build}"), (), batch)
                    publisher.flush()
                    break
                except BrokerUnavailable:
                    self.retries += 1
                    time.sleep(0.5)
            self.acknowledged += RESULTS_PER_BATCH
            time.sleep(0.05)


def signal_tree(pid: int, sig: signal.Signals) -> None:
    subprocess.run(["pkill", f"-{sig.name.removeprefix('SIG')}", "-P", str(pid)], check=False)
    os.kill(pid, sig)


def learned(worker: RunningWorker) -> int:
    try:
        return worker.get("/health")["projects"].get("faults", {}).get("results_learned", 0)
    except OSError:
        return -1


def stored(env: dict[str, str]) -> int:
    result = run_pts(env, "query", "SELECT count() AS n FROM pts.test_results")
    return json.loads(result.stdout)["n"] if result.returncode == 0 else -1


def history_state(worker: RunningWorker) -> str:
    try:
        return worker.get("/health").get("history", {}).get("state", "")
    except OSError:
        return ""


def _chattr(flag: str, folders: list[Path]) -> bool:
    done = subprocess.run(["chattr", flag, *map(str, folders)], capture_output=True, check=False)
    return done.returncode == 0


def can_freeze(tmp_path: Path) -> bool:
    probe = tmp_path / "freeze-probe"
    probe.mkdir()
    try:
        if not _chattr("+i", [probe]):
            return False
        try:
            (probe / "new").mkdir()
            return False  # the flag is set but does not hold
        except OSError:
            return True
    finally:
        _chattr("-i", [probe])


@contextmanager
def frozen(store_dir: Path) -> Iterator[None]:
    """Every folder of a chdb store immutable: no new part, so no insert, until the end."""
    folders = [Path(root) for root, _, _ in os.walk(store_dir)]
    assert _chattr("+i", folders), f"chattr +i failed on {store_dir}"
    try:
        yield
    finally:
        _chattr("-i", folders)


def test_nothing_acknowledged_is_lost_or_doubled(tmp_path: Path) -> None:
    with running_broker(tmp_path / "broker") as bootstrap:
        suffix = uuid.uuid4().hex[:8]
        env = {
            **os.environ, "PTS_KAFKA_BOOTSTRAP": bootstrap, "PTS_TOPIC_PREFIX": f"f-{suffix}",
            "PTS_PARTITIONS": "2", "PTS_WORKER_ID": f"f-{suffix}",
            "PTS_WORKER_HTTP_PORT": str(free_port()), "PTS_DATA_DIR": str(tmp_path / "data"),
            "PTS_LOG_LEVEL": "warning",
        }  # fmt: skip
        broker_pid = int((tmp_path / "broker" / "broker.pid").read_text())
        worker = start_worker(env, tmp_path / "worker.log")
        traffic = Traffic(env)
        traffic.thread.start()
        try:
            assert wait_until(lambda: learned(worker) > 0, 60)

            signal_tree(worker.process.pid, signal.SIGSTOP)  # the worker stalls
            time.sleep(4)
            signal_tree(worker.process.pid, signal.SIGCONT)
            assert wait_until(lambda: learned(worker) >= traffic.acknowledged - 200, 60)

            worker.process.kill()  # the worker dies mid-stream
            worker.process.wait()
            worker = start_worker(env, tmp_path / "worker.log", timeout_s=120)

            signal_tree(broker_pid, signal.SIGSTOP)  # the broker stalls
            time.sleep(4)
            signal_tree(broker_pid, signal.SIGCONT)
            time.sleep(3)

            if can_freeze(tmp_path):  # the store refuses writes, then takes them again
                assert wait_until(lambda: history_state(worker) == "running", 90)
                with frozen(tmp_path / "data" / "chdb" / "store"):
                    assert wait_until(lambda: history_state(worker) == "retrying", 60)
                    time.sleep(4)
                assert wait_until(lambda: history_state(worker) == "running", 90)
                time.sleep(2)
            else:
                warnings.warn("chattr +i is not permitted here: the store was not starved",
                              stacklevel=1)  # fmt: skip
        finally:
            traffic.stop.set()
            traffic.thread.join(timeout=60)
        try:
            total = traffic.acknowledged
            assert total > 0
            assert wait_until(lambda: learned(worker) == total, 90), (learned(worker), total)
            assert wait_until(lambda: stored(env) == total, 90), (stored(env), total)
            time.sleep(2)
            assert (learned(worker), stored(env)) == (total, total)  # and nothing more
            logged = (tmp_path / "worker.log").read_text().splitlines()
            assert len(logged) <= 100, "\n".join(logged[:150])  # each fault costs a few lines
        finally:
            worker.stop()
