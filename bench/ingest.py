"""Results ingested per second by the real worker, beside the in-process learn rate.

Four rates on the same batches, in the same invocation:
(a) `Selector.learn` in process; (b) a bare River loop: `LogisticRegression.learn_one` on the
feature dicts the selector computed for those results (precomputed; also with
`predict_proba_one` before each, as the selector does); (c) `pts worker` with predictions and
history on (the loader on a thread of the worker); (d) `pts worker --no-history` beside a
separate `pts loader` (and how soon the loader has stored every result and prediction).

Each run publishes `--batches` batches of `--batch-size` results (a synthetic 1,000-test
history, build before its results, encoded before the clock starts) for fresh projects as fast
as the producer goes. When each batch was learned is read from the predictions topic: the
worker produces a batch's predictions as soon as it learned it, and Kafka stamps the message
then (CreateTime), so the benchmark measures without asking the worker anything (polling
/health took a turn of the model thread per call: 3-6% of it at 20 polls a second).
- throughput: results / (last learned - first publish), and per CPU second of the worker;
- lag: per batch, its publish time to its predictions' time (under this burst);
- freshness: on the idle worker, one new batch published, then /health polled until counted.
Baselines on the same batches: `Selector.learn` alone, and Avro decode + `Selector.learn`,
right after each burst while the stack idles, so that each run's ratio pairs two rates taken
seconds apart (this machine's speed drifts by half within minutes).

    .venv/bin/python -m bench.ingest [--batches 200] [--batch-size 500] [--runs 3] [--warmup 1]
        [--workers N] [--projects P] [--modes c,d]
"""

from __future__ import annotations

import argparse
import threading
import time
import uuid
from collections.abc import Collection
from dataclasses import replace
from itertools import zip_longest
from typing import Any

from confluent_kafka import Consumer, TopicPartition

from bench.common import machine_line, median, percentile, progress, table, write_result
from bench.stack import Stack, running_stack
from pts.client.junit_reports import slice_results
from pts.client.publisher import EventPublisher, batches_of
from pts.core import wire
from pts.core.events import Build, TestResultBatch, to_record
from pts.core.kafka import client_config
from pts.core.settings import Settings
from pts.core.topics import topic_name
from pts.evaluation.synthetic import generate
from pts.selection.models import make_classifier
from pts.selection.selector import Selector

POLL_S = 0.05  # how often to ask whether the loader has stored everything
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


class PredictionWatch(threading.Thread):
    """Reads the predictions topic from its current end and keeps (time learned, results
    learned so far) of the given projects: the message's CreateTime is when the worker produced
    the batch's predictions, right after learning it."""

    def __init__(self, settings: Settings, projects: Collection[str]) -> None:
        super().__init__(daemon=True)
        self.projects = {p.encode() for p in projects}
        self.samples: list[tuple[float, int]] = []
        self.stop = threading.Event()
        self._consumer = Consumer(
            client_config(settings, **{"group.id": f"bench-{uuid.uuid4().hex}",
                                       "enable.auto.commit": False})
        )  # fmt: skip
        topic = topic_name(settings, "predictions")
        partitions = self._consumer.list_topics(topic, timeout=30).topics[topic].partitions
        starts = []
        for partition in partitions:
            _, high = self._consumer.get_watermark_offsets(
                TopicPartition(topic, partition), timeout=30
            )
            starts.append(TopicPartition(topic, partition, high))
        self._consumer.assign(starts)  # from the end, before anything of the run is published

    def run(self) -> None:
        learned = 0
        try:
            while not self.stop.is_set():
                for message in self._consumer.consume(num_messages=100, timeout=0.05):
                    if message.error() is not None or message.key() not in self.projects:
                        continue
                    _, record = wire.decode(message.value(), expected="PredictionBatch")
                    learned += len(record["test_ids"])
                    self.samples.append((message.timestamp()[1] / 1000, learned))
        finally:
            self._consumer.close()

    def first_time_at(self, count: int) -> float:
        return next(t for t, n in sorted(self.samples) if n >= count)

    def wait_for(self, count: int, timeout_s: float = 600) -> None:
        deadline = time.monotonic() + timeout_s
        while not self.samples or self.samples[-1][1] < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.samples[-1:] or 'nothing'} of {count} results learned")
            time.sleep(POLL_S)


def in_process(work: list[tuple[Build, list[TestResultBatch]]]) -> dict[str, float]:
    """Results per second of Selector.learn, of Avro decode + Selector.learn, and of a bare
    River loop on the feature dicts the selector computed."""
    total = sum(len(b.results) for _, batches in work for b in batches)
    selector = Selector()
    started = time.perf_counter()
    for build, batches in work:
        selector.observe_build(build)
        for batch in batches:
            selector.learn(batch)
    learn_rate = total / (time.perf_counter() - started)
    from bench.model_speed import feature_stream  # here: model_speed imports this module

    learned = feature_stream(work)  # the selector's own features, class weights and order
    bare = make_classifier("logistic")
    started = time.perf_counter()
    for x, failed, weight in learned:
        bare.learn_one(x, failed, w=weight)
    bare_rate = len(learned) / (time.perf_counter() - started)
    bare = make_classifier("logistic")
    started = time.perf_counter()
    for x, failed, weight in learned:
        bare.predict_proba_one(x)
        bare.learn_one(x, failed, w=weight)
    bare_predict_rate = len(learned) / (time.perf_counter() - started)
    encoded = [(b, [wire.encode("TestResultBatch", to_record(x)) for x in xs]) for b, xs in work]
    selector = Selector()
    started = time.perf_counter()
    for build, raw in encoded:
        selector.observe_build(build)
        for value in raw:
            _, record = wire.decode(value, expected="TestResultBatch")
            selector.learn(TestResultBatch.from_record(record))
    return {
        "learn_rate": learn_rate,
        "decode_learn_rate": total / (time.perf_counter() - started),
        "bare_river_rate": bare_rate,
        "bare_river_predict_rate": bare_predict_rate,
    }


def interleaved(works: list[list[tuple[Build, list[TestResultBatch]]]]) -> list[Any]:
    """Cycle by cycle, one project after the other (as CI of several projects would)."""
    return [cycle for cycles in zip_longest(*works) for cycle in cycles if cycle is not None]


def projects_of(args: argparse.Namespace, run: int) -> list[str]:
    if args.projects == 1:
        return [f"ingest-{run}"]
    return [f"ingest-{run}-{k}" for k in range(args.projects)]


def run_work(args: argparse.Namespace, run: int) -> list[tuple[Build, list[TestResultBatch]]]:
    """The run's batches, spread over its projects: the same for the worker and in process."""
    per_project = -(-args.batches // args.projects)
    works = [workload(p, per_project, args.batch_size, seed=run * 100 + k)
             for k, p in enumerate(projects_of(args, run))]  # fmt: skip
    return interleaved(works)


def burst(stack: Stack, args: argparse.Namespace, run: int) -> dict[str, Any]:
    projects = projects_of(args, run)
    work = run_work(args, run)
    total = sum(len(b.results) for _, batches in work for b in batches)
    messages = sum(len(batches) for _, batches in work)
    label = f"run {run + 1}/{args.runs}" if run < args.runs else "warm-up run"
    progress(f"{label}: {total} results in {messages} batches")
    publisher = EventPublisher(stack.settings)
    watch = PredictionWatch(stack.settings, projects)
    watch.start()
    loaded_before = _loaded(stack)
    cpu_before = stack.all_workers_cpu_s()
    loader_cpu_before = stack.loader_cpu_s() if stack.loader else 0.0
    published: list[tuple[float, int]] = []  # (publish time, cumulative results)
    cumulative = 0
    # Encoded before the clock starts: a CI machine encodes its own reports, so the encoding
    # must not take this machine's cores from the worker being measured.
    encoded = [
        (publisher.encoded(build=build), [(publisher.encoded(batches=[b]), len(b.results))
                                          for b in batches])
        for build, batches in work
    ]  # fmt: skip
    started = time.time()  # wall clock, as Kafka's timestamps
    for build_message, batch_messages in encoded:
        publisher.send(build_message)
        for message, results in batch_messages:
            publisher.send(message)
            cumulative += results
            published.append((time.time(), cumulative))
    publisher.flush()
    flushed = time.time()
    watch.wait_for(total)
    cpu = stack.all_workers_cpu_s() - cpu_before
    watch.stop.set()
    watch.join()
    done = watch.first_time_at(total)
    lags = [watch.first_time_at(count) - at for at, count in published]
    progress(f"run {run + 1}: learned in {done - started:.2f} s, worker CPU {cpu:.2f} s")
    measured: dict[str, Any] = {}
    if stack.loader is not None:
        stored_at = _wait_loaded(stack, loaded_before, messages)
        loader_cpu = stack.loader_cpu_s() - loader_cpu_before
        measured = {"loader_rate": total / (stored_at - started), "loader_cpu_s": loader_cpu}
        progress(f"run {run + 1}: all stored in {stored_at - started:.2f} s, loader CPU "
                 f"{loader_cpu:.2f} s")  # fmt: skip

    fresh = []
    for i in range(args.freshness):
        build = replace(work[0][0], build_id=f"fresh-{i}")
        batch = replace(work[0][1][0], build_id=build.build_id)
        publisher.publish(build=build)
        publisher.flush()
        before = stack.learned(build.project)
        sent = time.monotonic()
        publisher.publish(batches=[batch])
        publisher.flush()
        while stack.learned(build.project) < before + len(batch.results):
            time.sleep(0.002)
        fresh.append(time.monotonic() - sent)
    return {
        **measured,
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


def _loaded(stack: Stack) -> dict[str, int]:
    if stack.loader is None:
        return {}
    return {kind: stack.loaded(kind) for kind in ("TestResultBatch", "PredictionBatch")}


def _wait_loaded(stack: Stack, before: dict[str, int], messages: int) -> float:
    """When (wall clock) the loader had stored every batch of results and of predictions of
    the run."""
    while any(stack.loaded(kind) - n < messages for kind, n in before.items()):
        time.sleep(POLL_S)
    return time.time()


_NOT_MEDIANS = ("fresh_s", "in_process")


def paired_run(stack: Stack, args: argparse.Namespace, run: int) -> dict[str, Any]:
    """A burst, then `Selector.learn` and bare River on the same batches in process while the
    stack idles: the machine's speed drifts within minutes, so each ratio pairs rates measured
    seconds apart."""
    measured = burst(stack, args, run)
    progress(f"run {run + 1}: in-process learn and bare River, the stack idle")
    baseline = in_process(run_work(args, run))
    return {
        **measured,
        "in_process": baseline,
        "ratio_to_learn": measured["worker_rate"] / baseline["learn_rate"],
    }


MODES = {
    "c": ("worker, history in process", {}),
    "d": ("worker --no-history + pts loader", {"worker_args": ("--no-history",), "loader": True}),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--runs", type=int, default=3, help="runs; medians over them reported")
    parser.add_argument("--warmup", type=int, default=1, help="uncounted runs before the runs")
    parser.add_argument("--freshness", type=int, default=7, help="single-batch samples per run")
    parser.add_argument("--workers", type=int, default=1, help="workers in the one group")
    parser.add_argument(
        "--projects", type=int, default=1, help="projects the batches are spread over"
    )
    parser.add_argument("--modes", default="c,d", help="which worker set-ups: c, d or both")
    args = parser.parse_args()
    modes = [m for m in args.modes.split(",") if m]
    results: dict[str, list[dict[str, Any]]] = {}
    for mode in modes:
        progress(f"mode ({mode}): {MODES[mode][0]}, {args.workers} worker(s)")
        with running_stack(workers=args.workers, **MODES[mode][1]) as stack:
            for warmup in range(args.warmup):  # not counted: the first burst of a stack is slower
                burst(stack, args, args.runs + warmup)
            results[mode] = [paired_run(stack, args, run) for run in range(args.runs)]
    baselines = [r["in_process"] for runs in results.values() for r in runs]
    base = {k: median([b[k] for b in baselines]) for k in baselines[0]}
    medians = {
        mode: {k: median([r[k] for r in runs]) for k in runs[0] if k not in _NOT_MEDIANS}
        for mode, runs in results.items()
    }
    print(machine_line())
    print(
        f"ingest; median over {args.runs} runs ({args.batches} batches of {args.batch_size}, "
        f"{args.projects} project(s), {args.workers} worker(s), 1,000-test suite)"
    )
    rows = [
        ["(a) Selector.learn in process", f"{base['learn_rate']:,.0f}", "", "", "", ""],
        ["(a') Avro decode + Selector.learn", f"{base['decode_learn_rate']:,.0f}", "", "", "", ""],
        ["(b) bare River learn_one", f"{base['bare_river_rate']:,.0f}", "", "", "", ""],
        ["(b') bare River predict + learn", f"{base['bare_river_predict_rate']:,.0f}", "", "", "",
         ""],
    ]  # fmt: skip
    for mode, m in medians.items():
        stored = f"{m['loader_rate']:,.0f}" if "loader_rate" in m else "-"
        rows.append([
            f"({mode}) {MODES[mode][0]}", f"{m['worker_rate']:,.0f}", f"{m['rate_per_cpu_s']:,.0f}",
            stored, f"{m['lag_p50_s']:.2f} / {m['lag_max_s']:.2f}",
            f"{m['fresh_median_s'] * 1000:.0f}",
        ])  # fmt: skip
    print(
        table(
            [
                "set-up",
                "results/s",
                "worker results/CPU-s",
                "all stored results/s",
                "lag p50 / max s",
                "new result → model ms",
            ],
            rows,
        )  # fmt: skip
    )
    ratios = {
        "(a)/(b)": median([b["learn_rate"] / b["bare_river_rate"] for b in baselines]),
        "(a)/(b')": median([b["learn_rate"] / b["bare_river_predict_rate"] for b in baselines]),
    }
    for mode, m in medians.items():
        ratios[f"({mode})/(a)"] = m["ratio_to_learn"]
    print("ratios: " + ", ".join(f"{name} {value:.2f}" for name, value in ratios.items()))
    path = write_result("ingest", {"args": vars(args), "modes": results, "ratios": ratios})
    print(f"written {path}")


if __name__ == "__main__":
    main()
