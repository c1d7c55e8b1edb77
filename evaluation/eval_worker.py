"""The worker `pts eval --through-broker` ranks through: a `pts worker --no-history` of the
evaluation's own, on the same broker, on topics and in consumer groups of its own, deleted
when the evaluation ends.

So the live worker never sees an evaluation: its models, snapshots, history store, `pts
status` and `pts query` hold no `eval-<hex>` project, and the broker is left as it was. (A
filter that hid `eval-*` projects would leave them in the live model, its snapshots and a
year of topic retention, and would hide a real project of that name.) Everything it makes is
named `<PTS_TOPIC_PREFIX>-eval-<hex>.*` and `<PTS_WORKER_ID>-eval-<hex>`, so what a killed
evaluation leaves behind is plain to see and to delete.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from confluent_kafka import KafkaException

from pts.core.errors import PtsError
from pts.core.kafka import admin_client, ask_cluster
from pts.core.settings import Settings

START_TIMEOUT_S = 180.0
STOP_TIMEOUT_S = 60.0
DELETE_TIMEOUT_S = 30.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def check_cluster(settings: Settings, timeout_s: float = 10.0) -> None:
    """That the cluster answers with these settings, before a worker is started on them: a
    refused login or a broker away is the one-line error of every other command (exit 3), not
    a worker that exits and topics that cannot be deleted."""
    admin = admin_client(settings)
    ask_cluster(settings, admin, lambda timeout: admin.list_topics(timeout=timeout), timeout_s)


@contextmanager
def eval_worker(settings: Settings) -> Iterator[Settings]:
    """Start the evaluation's own worker; yield the settings that reach it (its topics, its
    HTTP port); stop it and delete its topics, groups and data directory afterwards."""
    tag = f"eval-{uuid.uuid4().hex[:8]}"
    data_dir = Path(tempfile.mkdtemp(prefix=f"pts-{tag}-"))
    own = settings.model_copy(
        update={
            "topic_prefix": f"{settings.topic_prefix}-{tag}",
            "worker_id": f"{settings.worker_id}-{tag}",
            "worker_http_host": "127.0.0.1",
            "worker_http_port": _free_port(),
            "data_dir": data_dir,
        }
    )
    env = {
        **os.environ,
        "PTS_KAFKA_BOOTSTRAP": own.kafka_bootstrap,
        "PTS_PARTITIONS": str(own.partitions),
        "PTS_TOPIC_PREFIX": own.topic_prefix,
        "PTS_WORKER_ID": own.worker_id,
        "PTS_WORKER_HTTP_HOST": own.worker_http_host,
        "PTS_WORKER_HTTP_PORT": str(own.worker_http_port),
        "PTS_DATA_DIR": str(data_dir),
    }
    log = data_dir / "worker.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "pts.cli", "worker", "--no-history"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_answering(own, process, log)
        yield own
    finally:
        _stop(process)
        try:
            delete_traces(own)
        except KafkaException as exc:  # the scores stand; say what is left to delete
            print(
                f"pts: warning: the evaluation's topics {own.topic_prefix}.* and groups "
                f"{own.worker_id}* could not be deleted ({exc}); delete them by hand",
                file=sys.stderr,
            )
        finally:
            shutil.rmtree(data_dir, ignore_errors=True)


def _wait_until_answering(own: Settings, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text(errors="replace").strip().splitlines()[-1:]
            raise PtsError(
                f"the evaluation's own worker exited with {process.returncode}"
                + (f": {tail[0]}" if tail else "")
            )
        try:
            with urllib.request.urlopen(f"{own.worker_url}/health", timeout=2):
                return
        except (OSError, urllib.error.URLError):
            time.sleep(0.5)
    raise PtsError(f"the evaluation's own worker did not answer within {START_TIMEOUT_S:g} s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def delete_traces(own: Settings) -> list[str]:
    """Delete the topics and consumer groups of the evaluation's worker; returns the topics."""
    admin = admin_client(own)
    names = [
        name
        for name in admin.list_topics(timeout=DELETE_TIMEOUT_S).topics
        if name.startswith(f"{own.topic_prefix}.") or name.startswith(f"{own.worker_id}-")
    ]
    if names:
        for future in admin.delete_topics(names, operation_timeout=DELETE_TIMEOUT_S).values():
            future.result()
    groups = [own.worker_id, own.history_group_id]
    for future in admin.delete_consumer_groups(groups, request_timeout=DELETE_TIMEOUT_S).values():
        with suppress(KafkaException):  # a group that was never made, or is already gone
            future.result()
    return names
