"""Results ingested per second by the real worker, beside the in-process learn rate.

Each run publishes `--batches` batches of `--batch-size` results (a synthetic 1,000-test
history, build before its results) for a fresh project as fast as the producer goes, and a
thread polls the worker's /health every 10 ms to see when each batch counts as learned:
- throughput: results / (last learned - first publish), and per CPU second of the worker;
- lag: per batch, its publish time to the first poll that counts it (under this burst);
- freshness: on the idle worker, one new batch published, then /health polled until counted.
Baselines on the same batches: `Selector.learn` alone, and Avro decode + `Selector.learn`.

    .venv/bin/python -m bench.ingest [--batches 100] [--batch-size 500] [--runs 3]
"""

from __future__ import annotations

import argparse
import threading
import time
from dataclasses import replace
from typing import Any

from bench.common import machine_line, median, percentile, progress, table, write_result
from bench.stack import Stack, running_stack
from pts.client.junit_reports import slice_results
from pts.client.publisher import EventPublisher, batches_of
from pts.core import wire
from pts.core.events import Build, TestResultBatch, to_record
from pts.evaluation.synthetic import generate
from pts.selection.selector import Selector

POLL_S = 0.01
TESTS = (20, 50)  # modules, tests per module: a 1,000-test suite


def workload(
    project: str, batches: int, batch_size: int, seed: int
) -> list[tuple[Build, list[TestResultBatch]]]:
    """Cycles of a synthetic history, cut into batches, until `batches` batches are made."""
    per_cycle = max(1, TESTS[0] * TESTS[1] // batch_size)
    history = generate(
        seed, cycles=-(-batches // per_cycle) + 1, modules=TESTS[0], tests_per_module=TESTS[1]
    )
    out: list[tuple[Build, list[TestResultBatch]]] = []
    made = 0
    for cycle in history.cycles:
        build = replace(cycle.build, project=project)
        whole = max(batch_size, len(cycle.results) // batch_size * batch_size)  # no stub slice
        slices = slice_results(cycle.results[:whole], batch_size)[: batches - made]
        out.append((build, batches_of(project, build.build_id, "results", slices)))
        made += len(slices)
        if made >= batches:
            break
    return out


class Poller(threading.Thread):
    """Polls /health and keeps (time, results_learned) for one project."""

    def __init__(self, stack: Stack, project: str) -> None:
        super().__init__(daemon=True)
        self.stack, self.project = stack, project
        self.samples: list[tuple[float, int]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            self.samples.append((time.monotonic(), self.stack.learned(self.project)))
            time.sleep(POLL_S)

    def first_time_at(self, count: int) -> float:
        return next(t for t, n in self.samples if n >= count)


def in_process(work: list[tuple[Build, list[TestResultBatch]]]) -> tuple[float, float]:
    """Results per second of Selector.learn, and of Avro decode + Selector.learn."""
    total = sum(len(b.results) for _, batches in work for b in batches)
    selector = Selector()
    started = time.perf_counter()
    for build, batches in work:
        selector.observe_build(build)
        for batch in batches:
            selector.learn(batch)
    learn_rate = total / (time.perf_counter() - started)
    encoded = [(b, [wire.encode("TestResultBatch", to_record(x)) for x in xs]) for b, xs in work]
    selector = Selector()
    started = time.perf_counter()
    for build, raw in encoded:
        selector.observe_build(build)
        for value in raw:
            _, record = wire.decode(value, expected="TestResultBatch")
            selector.learn(TestResultBatch.from_record(record))
    return learn_rate, total / (time.perf_counter() - started)


def burst(stack: Stack, args: argparse.Namespace, run: int) -> dict[str, Any]:
    project = f"ingest-{run}"
    work = workload(project, args.batches, args.batch_size, seed=run)
    total = sum(len(b.results) for _, batches in work for b in batches)
    progress(f"run {run + 1}/{args.runs}: {total} results in {args.batches} batches")
    publisher = EventPublisher(stack.settings)
    poller = Poller(stack, project)
    poller.start()
    cpu_before = stack.worker_cpu_s()
    published: list[tuple[float, int]] = []  # (publish time, cumulative results)
    cumulative = 0
    started = time.monotonic()
    for build, batches in work:
        publisher.publish(build=build)
        for batch in batches:
            publisher.publish(batches=[batch])
            cumulative += len(batch.results)
            published.append((time.monotonic(), cumulative))
    publisher.flush()
    flushed = time.monotonic()
    stack.wait_learned(project, total)
    time.sleep(2 * POLL_S)
    poller.stop.set()
    poller.join()
    done = poller.first_time_at(total)
    cpu = stack.worker_cpu_s() - cpu_before
    lags = [poller.first_time_at(count) - at for at, count in published]
    progress(f"run {run + 1}: learned in {done - started:.2f} s, worker CPU {cpu:.2f} s")

    fresh = []
    for i in range(args.freshness):
        build = replace(work[0][0], build_id=f"fresh-{i}")
        batch = replace(work[0][1][0], build_id=build.build_id)
        publisher.publish(build=build)
        publisher.flush()
        before = stack.learned(project)
        sent = time.monotonic()
        publisher.publish(batches=[batch])
        publisher.flush()
        while stack.learned(project) < before + len(batch.results):
            time.sleep(0.002)
        fresh.append(time.monotonic() - sent)
    return {
        "results": total,
        "publish_s": flushed - started,
        "learned_s": done - started,
        "worker_rate": total / (done - started),
        "worker_cpu_s": cpu,
        "rate_per_cpu_s": total / cpu,
        "lag_p50_s": percentile(lags, 50),
        "lag_max_s": max(lags),
        "fresh_median_s": median(fresh),
        "fresh_s": fresh,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--runs", type=int, default=3, help="runs; medians over them reported")
    parser.add_argument("--freshness", type=int, default=7, help="single-batch samples per run")
    parser.add_argument(
        "--sizes",
        type=lambda s: [int(x) for x in s.split(",")],
        help="batch sizes to try instead of --batch-size (same total results)",
    )
    args = parser.parse_args()
    sizes = args.sizes or [args.batch_size]
    total = args.batches * args.batch_size
    results: dict[str, list[dict[str, Any]]] = {}
    with running_stack() as stack:
        for size in sizes:
            sized = argparse.Namespace(
                **{**vars(args), "batch_size": size, "batches": -(-total // size)}
            )
            results[str(size)] = [burst(stack, sized, run) for run in range(args.runs)]
    for size in sizes:  # with the broker and worker stopped, so nothing shares the CPU
        for run, measured in enumerate(results[str(size)]):
            progress(f"batch size {size}, run {run + 1}: in-process learn")
            work = workload(f"ingest-{run}", -(-total // size), size, seed=run)
            measured["learn_rate"], measured["decode_learn_rate"] = in_process(work)
    rows = []
    for size, runs in results.items():
        m = {k: median([r[k] for r in runs]) for k in runs[0] if k != "fresh_s"}
        rows.append(
            [
                size,
                f"{m['results']:.0f}",
                f"{m['worker_rate']:,.0f}",
                f"{m['rate_per_cpu_s']:,.0f}",
                f"{m['learn_rate']:,.0f}",
                f"{m['decode_learn_rate']:,.0f}",
                f"{m['publish_s']:.2f}",
                f"{m['lag_p50_s']:.2f} / {m['lag_max_s']:.2f}",
                f"{m['fresh_median_s'] * 1000:.0f}",
            ]
        )
    print(machine_line())
    print(f"ingest; median over {args.runs} runs (fresh project per run, 1,000-test suite)")
    print(
        table(
            [
                "batch size",
                "results",
                "worker results/s",
                "worker results/CPU-s",
                "Selector.learn results/s",
                "decode+learn results/s",
                "publish s",
                "lag p50 / max s",
                "new result → model ms",
            ],
            rows,
        )
    )
    path = write_result("ingest", {"args": vars(args), "batch_sizes": results})
    print(f"written {path}")


if __name__ == "__main__":
    main()
