"""A private broker and `pts worker` for one benchmark run, stopped in `finally`.

The broker is `ops/broker/kafka.sh` on a free port with a temporary data directory; the
worker is the real `pts worker` process with its own topic prefix, group and data directory.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.common import RESULTS, progress
from pts.core.settings import Settings

REPO = Path(__file__).resolve().parent.parent
BROKER_SCRIPT = REPO / "ops" / "broker" / "kafka.sh"
PTS = REPO / ".venv" / "bin" / "pts"


def free_port(pair: bool = False) -> int:
    """A free port; with `pair`, the next port is free too (the broker's controller uses it)."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port: int = s.getsockname()[1]
        if not pair:
            return port
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port + 1))
                return port
            except OSError:
                continue


@dataclass
class Stack:
    settings: Settings
    env: dict[str, str]
    http_port: int
    tmp: Path
    worker: subprocess.Popen[bytes] | None = None
    worker_args: tuple[str, ...] = ()  # e.g. ("--no-history",)
    extra_workers: list[tuple[subprocess.Popen[bytes], int]] = field(default_factory=list)
    loader: subprocess.Popen[bytes] | None = None
    loader_port: int = 0

    def start_worker(self, timeout_s: float = 120) -> float:
        """Start `pts worker`; the seconds until its /health answers."""
        started = time.monotonic()
        with (self.tmp / "worker.log").open("ab") as log:
            self.worker = subprocess.Popen(
                [str(PTS), "worker", *self.worker_args], env=self.env, stdout=log, stderr=log
            )
        while True:
            if self.worker.poll() is not None:
                log_tail = (self.tmp / "worker.log").read_text()[-2000:]
                raise RuntimeError(f"worker exited: {log_tail}")
            try:
                self.health()
                return time.monotonic() - started
            except (urllib.error.URLError, ConnectionError):
                if time.monotonic() - started > timeout_s:
                    raise RuntimeError(
                        f"worker did not answer /health within {timeout_s} s"
                    ) from None
                time.sleep(0.05)

    def stop_worker(self, kill: bool = False) -> float:
        """Stop the worker (SIGTERM, or SIGKILL with `kill`); the seconds it took to exit."""
        started = time.monotonic()
        if self.worker is not None:
            if kill:
                self.worker.kill()
                self.worker.wait()
            else:
                _stop_worker(self.worker)
        return time.monotonic() - started

    def health(self) -> dict[str, Any]:
        url = f"http://127.0.0.1:{self.http_port}/health"
        with urllib.request.urlopen(url, timeout=10) as answer:
            result: dict[str, Any] = json.load(answer)
            return result

    def learned(self, project: str) -> int:
        """Results of `project` learned, over every worker of the group."""
        return self.learned_by((project,))

    def learned_by(self, projects: Collection[str]) -> int:
        """Results of these projects learned, over every worker of the group."""
        healths = [self.health(), *(_get(port, "/health") for _, port in self.extra_workers)]
        return sum(
            int(h["projects"].get(project, {}).get("results_learned", 0))
            for h in healths
            for project in projects
        )

    def start_extra_workers(self, count: int, timeout_s: float = 120) -> None:
        """Start `count` more workers in the same group (own HTTP port and data directory)."""
        for number in range(1, count + 1):
            port = free_port()
            env = {**self.env, "PTS_WORKER_HTTP_PORT": str(port),
                   "PTS_DATA_DIR": str(self.tmp / f"data-{number}")}  # fmt: skip
            log_path = self.tmp / f"worker-{number}.log"
            with log_path.open("ab") as log:
                process = subprocess.Popen(
                    [str(PTS), "worker", *self.worker_args], env=env, stdout=log, stderr=log
                )
            self.extra_workers.append((process, port))
            _wait_for_health(process, port, log_path, timeout_s)

    def start_loader(self, timeout_s: float = 120) -> None:
        """Start `pts loader` on the stack's data directory (the worker runs --no-history)."""
        self.loader_port = free_port()
        env = {**self.env, "PTS_LOADER_HTTP_PORT": str(self.loader_port)}
        log_path = self.tmp / "loader.log"
        with log_path.open("ab") as log:
            self.loader = subprocess.Popen([str(PTS), "loader"], env=env, stdout=log, stderr=log)
        _wait_for_health(self.loader, self.loader_port, log_path, timeout_s)

    def loader_health(self) -> dict[str, Any]:
        return _get(self.loader_port, "/health")

    def loaded(self, kind: str) -> int:
        """Events of `kind` ("TestResultBatch") the loader stored since it started."""
        return int(self.loader_health()["loaded"].get(kind, 0))

    def loader_cpu_s(self) -> float:
        assert self.loader is not None
        return _cpu_s(self.loader.pid)

    def all_workers_cpu_s(self) -> float:
        assert self.worker is not None
        return _cpu_s(self.worker.pid) + sum(_cpu_s(p.pid) for p, _ in self.extra_workers)

    def wait_learned(self, project: str, total: int, timeout_s: float = 600) -> float:
        """Poll /health until the project's results_learned reaches `total`; the time waited."""
        started = time.monotonic()
        while self.learned(project) < total:
            if time.monotonic() - started > timeout_s:
                raise TimeoutError(f"{project}: {self.learned(project)} of {total} learned")
            time.sleep(0.05)
        return time.monotonic() - started

    def worker_cpu_s(self) -> float:
        """User + system CPU seconds the worker process used so far (all its threads)."""
        assert self.worker is not None
        fields = Path(f"/proc/{self.worker.pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / ticks


def _get(port: int, path: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as answer:
        result: dict[str, Any] = json.load(answer)
        return result


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _wait_for_health(
    process: subprocess.Popen[bytes], port: int, log_path: Path, timeout_s: float
) -> None:
    started = time.monotonic()
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args} exited: {log_path.read_text()[-2000:]}")
        try:
            _get(port, "/health")
            return
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() - started > timeout_s:
                raise RuntimeError(f"{process.args}: no /health within {timeout_s} s") from None
            time.sleep(0.05)


def _stop_worker(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def running_stack(
    partitions: int = 6,
    worker_args: tuple[str, ...] = (),
    loader: bool = False,
    workers: int = 1,
) -> Iterator[Stack]:
    """Start a broker and a worker (`workers` of them in one group, and a `pts loader` with
    `loader`); yield them; stop all whatever happens."""
    tmp = Path(tempfile.mkdtemp(prefix="pts-bench-"))
    port = free_port(pair=True)
    broker_env = {
        **os.environ,
        "PTS_BROKER_PORT": str(port),
        "PTS_BROKER_DIR": str(tmp / "broker"),
        "PTS_BROKER_WATCH_PID": str(os.getpid()),
    }
    progress(f"starting broker on 127.0.0.1:{port}")
    subprocess.run([str(BROKER_SCRIPT), "start"], env=broker_env, check=True)
    stack: Stack | None = None
    try:
        suffix = uuid.uuid4().hex[:8]
        http_port = free_port()
        settings = Settings(
            kafka_bootstrap=f"127.0.0.1:{port}",
            topic_prefix=f"bench-{suffix}",
            partitions=partitions,
            subset_timeout_s=30,
        )
        env = {
            **os.environ,
            "PTS_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
            "PTS_TOPIC_PREFIX": settings.topic_prefix,
            "PTS_PARTITIONS": str(partitions),
            "PTS_WORKER_ID": f"bench-{suffix}",
            "PTS_WORKER_HTTP_PORT": str(http_port),
            "PTS_DATA_DIR": str(tmp / "data"),
            "PTS_LOG_LEVEL": "warning",
        }
        progress("starting pts worker")
        stack = Stack(settings, env, http_port, tmp, worker_args=worker_args)
        stack.start_worker()
        if workers > 1:
            progress(f"starting {workers - 1} more workers in the group")
            stack.start_extra_workers(workers - 1)
        if loader:
            progress("starting pts loader")
            stack.start_loader()
        progress("stack ready")
        yield stack
    except BaseException:
        RESULTS.mkdir(parents=True, exist_ok=True)
        for log in tmp.glob("*.log"):
            shutil.copy(log, RESULTS / f"{log.stem}-{time.strftime('%Y%m%dT%H%M%S')}.log")
        raise
    finally:
        if stack is not None:
            stack.stop_worker()
            for process, _ in stack.extra_workers:
                _stop_worker(process)
            if stack.loader is not None:
                _stop_worker(stack.loader)
        subprocess.run([str(BROKER_SCRIPT), "stop"], env=broker_env, check=False)
        shutil.rmtree(tmp, ignore_errors=True)
