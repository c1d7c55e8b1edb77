"""Several workers share one group: a worker killed with SIGKILL and one added later change
nothing any project learns, and subset answers keep coming (real broker, real processes).

The same histories go to two deployments on their own topics: one uninterrupted worker, and a
group that starts with two workers, loses one to SIGKILL while it learns, and gains a third.
Every project's learned count, model and answer must be the same in both.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

from tests.conftest import RunningWorker, free_port, run_pts, start_worker, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

PROJECTS = ("alpha", "beta", "gamma", "delta", "epsilon", "zeta")
CYCLES = "8"  # of synthetic:<n>: 180 tests a cycle
CANDIDATES = "".join(f"tests/m{m:02d}/test_{t}.py::test_{t}\n" for m in range(3) for t in range(4))


def deployment(base: dict[str, str], tmp_path: Path, name: str) -> dict[str, str]:
    suffix = uuid.uuid4().hex[:6]
    return {
        **base,
        "PTS_TOPIC_PREFIX": f"{name}-{suffix}",
        "PTS_WORKER_ID": f"{name}-{suffix}",
        "PTS_PARTITIONS": "4",
        "PTS_CHECKPOINT_KEY": "one key for the whole group of workers",
        "PTS_SUBSET_TIMEOUT_S": "90",  # an answer may wait out a failover
        "PTS_LOG_LEVEL": "info",
        "PTS_DATA_DIR": str(tmp_path / name),
    }


def add_worker(env: dict[str, str], tmp_path: Path, name: str) -> RunningWorker:
    own = {**env, "PTS_WORKER_HTTP_PORT": str(free_port()),
           "PTS_DATA_DIR": str(tmp_path / name)}  # fmt: skip
    Path(own["PTS_DATA_DIR"]).mkdir(parents=True, exist_ok=True)
    return start_worker(own, tmp_path / f"{name}.log", args=("--no-history",))


def projects(workers: list[RunningWorker]) -> dict[str, dict]:
    """Every project's state, from whichever live worker owns it."""
    merged: dict[str, dict] = {}
    for worker in workers:
        if worker.process.poll() is None:
            merged.update(worker.get("/health")["projects"])
    return merged


def differences(group: dict[str, dict], single: dict[str, dict]) -> str:
    """The projects that differ, as JSON: the group's state, then the single worker's."""
    return json.dumps(
        {
            name: [group.get(name), single.get(name)]
            for name in sorted(set(group) | set(single))
            if group.get(name) != single.get(name)
        }
    )


def unrecorded_builds(workers: list[RunningWorker]) -> str:
    """Which workers learned results without their build's changes (a cause of a difference)."""
    counts = {w.log.name: w.log.read_text().count("results_of_unrecorded_build") for w in workers}
    return f"; results learned without their build, per worker log: {counts}"


def owned_partitions(workers: list[RunningWorker]) -> list[int]:
    return sorted(int(p) for w in workers for p in w.get("/health")["partitions"])


def replay(env: dict[str, str], project: str, seed: int) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "pts.cli", "replay", f"synthetic:{seed}",
               "--project", project, "--limit", CYCLES]  # fmt: skip
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)  # fmt: skip


def replay_into_both(envs: list[dict[str, str]], project: str, seed: int) -> None:
    running = [replay(env, project, seed) for env in envs]
    for process in running:
        _, err = process.communicate(timeout=300)
        assert process.returncode == 0, err


class Asker(threading.Thread):
    """Asks the group for a subset every second, as CI would, until stopped."""

    def __init__(self, env: dict[str, str]) -> None:
        super().__init__(daemon=True)
        self.env, self.stopped, self.answers = env, threading.Event(), []

    def run(self) -> None:
        build = 0
        while not self.stopped.is_set():
            build += 1
            answer = run_pts(self.env, "subset", "-p", "alpha", "-b", f"ask-{build}",
                             "--target", "50%", stdin=CANDIDATES, timeout=180)  # fmt: skip
            self.answers.append(answer)
            self.stopped.wait(1.0)


def test_a_group_that_loses_and_gains_workers_learns_what_one_worker_learns(
    pts_env: dict[str, str], tmp_path: Path
) -> None:
    single_env = deployment(pts_env, tmp_path, "single")
    group_env = deployment(pts_env, tmp_path, "group")
    single = add_worker(single_env, tmp_path, "single-worker")
    group = [add_worker(group_env, tmp_path, "first"), add_worker(group_env, tmp_path, "second")]
    asker = Asker(group_env)
    try:
        # Two members split the 4 partitions and restored (empty) snapshots of each.
        assert wait_until(lambda: owned_partitions(group) == [0, 1, 2, 3], 120)
        asker.start()
        for seed, project in enumerate(PROJECTS[:3]):
            replay_into_both([single_env, group_env], project, seed)
        learned_before = {n: p["results_learned"] for n, p in projects(group).items()}
        assert learned_before, "the group learned nothing"

        # SIGKILL the member that holds the most projects, while more results stream in.
        victim = max(group, key=lambda w: len(w.get("/health")["projects"]))
        assert victim.get("/health")["projects"], "no member holds a project"
        streaming = [replay(env, PROJECTS[3], 3) for env in (single_env, group_env)]
        time.sleep(1.0)
        victim.process.kill()
        victim.process.wait()
        for process in streaming:
            _, err = process.communicate(timeout=300)
            assert process.returncode == 0, err
        group.append(add_worker(group_env, tmp_path, "third"))  # a member joins
        for seed, project in enumerate(PROJECTS[4:], start=4):
            replay_into_both([single_env, group_env], project, seed)

        live = [w for w in group if w.process.poll() is None]
        assert wait_until(lambda: owned_partitions(live) == [0, 1, 2, 3], 180)

        def same_learning() -> bool:
            return projects(live) == projects([single]) and len(projects([single])) == 6

        assert wait_until(same_learning, 150), differences(
            projects(live), projects([single])
        ) + unrecorded_builds([single, *group])
        # The model is the same, not only the count: the same request gets the same answer.
        for project in PROJECTS:
            ask = ("subset", "-p", project, "-b", "final", "--target", "50%")
            expected = run_pts(single_env, *ask, stdin=CANDIDATES)
            answered = run_pts(group_env, *ask, stdin=CANDIDATES)
            assert answered.returncode == 0 and expected.returncode == 0, answered.stderr
            assert answered.stdout == expected.stdout and answered.stdout.strip()
    finally:
        asker.stopped.set()
        asker.join(timeout=200)
        for worker in [single, *group]:
            worker.stop()
    assert len(asker.answers) >= 3
    for answer in asker.answers:  # every one from a model, none the run-everything fallback
        assert answer.returncode == 0, answer.stderr
        assert "running all" not in answer.stderr, answer.stderr
