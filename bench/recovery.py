"""Recovery time of the worker after a restart, beside rebuilding the model from the topics.

Each run teaches a fresh project `--batches` batches of `--batch-size` results through the
worker (the synthetic 1,000-test history of `bench.ingest`), then measures three ways back:
- **restart**: SIGTERM (the worker saves its checkpoint on the way out), start again; the time
  until /health answers, and until a subset request is answered by the restored model;
- **crash**: `--after` more batches are learned, the worker is SIGKILLed (no final checkpoint),
  and started again; the time until /health answers (the new worker first waits for the dead
  one's session to expire) and until everything is learned again (the checkpoint, at most
  10 s old, plus a replay of what followed it);
- **rebuild** (the baseline): the checkpoint is deleted and the worker relearns everything
  from the topics, as after a change to features or learners; the time until all is learned.

    .venv/bin/python -m bench.recovery [--batches 200] [--batch-size 500] [--after 20] [--runs 3]
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path
from typing import Any

from bench.common import machine_line, median, progress, table, write_result
from bench.ingest import workload
from bench.stack import Stack, running_stack
from pts.client.publisher import EventPublisher
from pts.client.subset_client import SubsetClient, new_request
from pts.core.events import Build, Target, TestResultBatch


def publish(stack: Stack, work: list[tuple[Build, list[TestResultBatch]]]) -> int:
    publisher = EventPublisher(stack.settings)
    for build, batches in work:
        publisher.publish(build=build)
        publisher.publish(batches=batches)
    publisher.flush()
    return sum(len(b.results) for _, batches in work for b in batches)


def first_model_answer(stack: Stack, build: Build, candidates: list[str]) -> float:
    """Seconds until a subset request is answered by a model (not the cold-start order)."""
    started = time.monotonic()
    client = SubsetClient(stack.settings, timeout_s=30)
    try:
        request = new_request(
            stack.settings, build.project, build.build_id, candidates, Target.parse("20%")
        )
        response = client.request(request)
        if response.model == "cold-start":
            raise RuntimeError("the restarted worker answered without its model")
    finally:
        client.close()
    return time.monotonic() - started


def one_run(stack: Stack, args: argparse.Namespace, run: int) -> dict[str, Any]:
    project = f"recovery-{run}"
    work = workload(project, args.batches + args.after, args.batch_size, seed=run)
    before, after = split(work, args.batches)
    progress(f"run {run + 1}/{args.runs}: teaching {project}")
    taught = publish(stack, before)
    stack.wait_learned(project, taught)
    candidates = sorted({r.test_id for r in before[-1][1][0].results})
    last_build = before[-1][0]

    progress(f"run {run + 1}: restart (SIGTERM, then start)")
    stop_s = stack.stop_worker()
    health_s = stack.start_worker()
    answer_s = health_s + first_model_answer(stack, last_build, candidates)
    if stack.learned(project) != taught:
        raise RuntimeError(f"restart restored {stack.learned(project)} of {taught} results")
    restart = {"stop_s": stop_s, "health_s": health_s, "answer_s": answer_s}

    progress(f"run {run + 1}: crash (SIGKILL {len(after)} builds after the restart)")
    total = taught + publish(stack, after)
    stack.wait_learned(project, total)
    stack.stop_worker(kill=True)
    started = time.monotonic()
    crash_health_s = stack.start_worker()
    stack.wait_learned(project, total)
    crash = {"health_s": crash_health_s, "learned_s": time.monotonic() - started}

    progress(f"run {run + 1}: rebuild from the topics (checkpoint deleted)")
    stack.stop_worker()
    shutil.rmtree(Path(stack.env["PTS_DATA_DIR"]) / "checkpoints")
    started = time.monotonic()
    rebuild_health_s = stack.start_worker()
    stack.wait_learned(project, total)
    rebuild = {"health_s": rebuild_health_s, "learned_s": time.monotonic() - started}
    return {"results": total, "restart": restart, "crash": crash, "rebuild": rebuild}


def split(
    work: list[tuple[Build, list[TestResultBatch]]], batches: int
) -> tuple[list[tuple[Build, list[TestResultBatch]]], list[tuple[Build, list[TestResultBatch]]]]:
    """The builds holding the first `batches` batches, and the builds after them."""
    counted, cut = 0, len(work)
    for i, (_, bs) in enumerate(work):
        counted += len(bs)
        if counted >= batches:
            cut = i + 1
            break
    return work[:cut], work[cut:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=200, help="batches learned before")
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--after", type=int, default=20, help="batches learned before the kill")
    parser.add_argument("--runs", type=int, default=3, help="runs; medians over them reported")
    args = parser.parse_args()
    runs = []
    for run in range(args.runs):
        with running_stack() as stack:  # a fresh broker and worker: runs do not share state
            runs.append(one_run(stack, args, run))

    def med(part: str, key: str) -> float:
        return median([r[part][key] for r in runs])

    print(machine_line())
    print(f"recovery; median over {args.runs} runs; {runs[0]['results']:,} results learned")
    print(
        table(
            ["way back", "stop s", "/health answers s", "model answers s", "all learned s"],
            [
                [
                    "restart (SIGTERM, checkpoint on exit)",
                    f"{med('restart', 'stop_s'):.1f}",
                    f"{med('restart', 'health_s'):.1f}",
                    f"{med('restart', 'answer_s'):.1f}",
                    "(restored)",
                ],
                [
                    "crash (SIGKILL, replay after checkpoint)",
                    "0",
                    f"{med('crash', 'health_s'):.1f}",
                    "-",
                    f"{med('crash', 'learned_s'):.1f}",
                ],
                [
                    "rebuild from topics (no checkpoint)",
                    "-",
                    f"{med('rebuild', 'health_s'):.1f}",
                    "-",
                    f"{med('rebuild', 'learned_s'):.1f}",
                ],
            ],
        )
    )
    path = write_result("recovery", {"args": vars(args), "runs": runs})
    print(f"written {path}")


if __name__ == "__main__":
    main()
