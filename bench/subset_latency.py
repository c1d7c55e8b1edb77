"""Subset answer latency through the real broker and worker, beside two baselines.

For each suite size a project learns a synthetic history (`--cycles` cycles, every test run
in every cycle) through the worker, then one client asks for subsets of the whole suite:
- worker: `SubsetClient.request` round trip (request topic -> worker -> reply topic);
- rank: `Selector.rank` in process on the same history and request (the model alone);
- kafka: the same bytes through the same broker, echoed by a bare consumer/producer process.

With `--during-ingest RATE`, a separate process publishes the results of another project
(a 1,000-test suite, batches of 500, fresh build ids) at RATE results/s for as long as the
requests are timed, so the worker learns while it answers.

    .venv/bin/python -m bench.subset_latency [--sizes 100,1000,10000,50000] [--requests 50]
        [--runs 3] [--during-ingest 5000]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import time
import uuid
from dataclasses import replace
from typing import Any

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from bench.common import machine_line, median, percentile, progress, table, write_result
from bench.stack import Stack, running_stack
from pts.client.junit_reports import slice_results
from pts.client.publisher import EventPublisher, batches_of
from pts.client.subset_client import SubsetClient, new_request
from pts.core import wire
from pts.core.errors import SubsetTimeout
from pts.core.events import Build, SubsetRequest, SubsetResponse, Target, to_record
from pts.core.kafka import MAX_MESSAGE_BYTES, CheckedProducer, client_config
from pts.core.logs import configure
from pts.core.settings import Settings
from pts.evaluation.history import History
from pts.evaluation.synthetic import generate
from pts.ops.replay import replay
from pts.selection.selector import Selector

SHAPES = {100: (10, 10), 1000: (20, 50), 10000: (50, 200)}  # size -> (modules, tests/module)


def shape(size: int) -> tuple[int, int]:
    if size in SHAPES:
        return SHAPES[size]
    modules = max(5, min(50, size // 50))
    return modules, -(-size // modules)


def _echo(bootstrap: str, source: str, reply: str, payload: bytes, ready: Any) -> None:
    """A bare request/reply peer: every message on `source` is answered with `payload`."""
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": f"echo-{uuid.uuid4().hex[:8]}"}
    )
    consumer.assign(
        [
            TopicPartition(
                source, 0, consumer.get_watermark_offsets(TopicPartition(source, 0), timeout=10)[1]
            )
        ]
    )
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "linger.ms": 5,
            "compression.type": "zstd",
            "message.max.bytes": MAX_MESSAGE_BYTES + 64 * 1024,
        }
    )
    ready.set()
    while True:
        message = consumer.poll(0.5)
        if message is None or message.error():
            continue
        if message.value() == b"stop":
            break
        producer.produce(reply, key=message.key(), value=payload)
        producer.flush()
    consumer.close()


class BareRoundTrip:
    """Request/reply through the broker with nobody but an echo process in between."""

    def __init__(self, settings: Settings, request: bytes, reply: bytes) -> None:
        self.settings = settings
        tag = uuid.uuid4().hex[:8]
        self.source, self.reply = f"bench-echo-req-{tag}", f"bench-echo-rep-{tag}"
        admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap})
        large = {"max.message.bytes": str(MAX_MESSAGE_BYTES)}  # as pts's own request topics
        futures = admin.create_topics(
            [NewTopic(t, 1, 1, config=large) for t in (self.source, self.reply)]
        )
        for future in futures.values():
            future.result(timeout=30)
        self.payload = request
        ready = mp.get_context("spawn").Event()
        self.peer = mp.get_context("spawn").Process(
            target=_echo,
            args=(settings.kafka_bootstrap, self.source, self.reply, reply, ready),
            daemon=True,
        )
        self.peer.start()
        ready.wait(60)
        self.producer = CheckedProducer(settings, timeout_s=30)
        self.consumer = Consumer(client_config(settings, **{"group.id": f"bare-{tag}"}))
        _, high = self.consumer.get_watermark_offsets(TopicPartition(self.reply, 0), timeout=10)
        self.consumer.assign([TopicPartition(self.reply, 0, high)])

    def once(self) -> float:
        key = uuid.uuid4().hex.encode()
        started = time.perf_counter()
        self.producer.produce(self.source, key, self.payload)
        self.producer.flush()
        while True:
            message = self.consumer.poll(5)
            if message is None:
                raise TimeoutError("echo did not answer")
            if not message.error() and message.key() == key:
                return time.perf_counter() - started

    def close(self) -> None:
        self.producer.produce(self.source, b"stop", b"stop")
        self.producer.flush()
        self.peer.join(30)
        self.consumer.close()


INGEST_PROJECT = "latency-ingest"
INGEST_BATCH = 500


def _steady_ingest(settings: Settings, rate: float, stop: Any, published: Any) -> None:
    """Publish results of `INGEST_PROJECT` at `rate` results/s until `stop` is set."""
    configure("warning")
    history = generate(seed=99, cycles=20, modules=20, tests_per_module=50)
    publisher = EventPublisher(settings)
    interval = INGEST_BATCH / rate
    started, n = time.monotonic(), 0
    while not stop.is_set():
        cycle = history.cycles[n % len(history.cycles)]
        build = replace(cycle.build, project=INGEST_PROJECT, build_id=f"ingest-{n}")
        publisher.publish(build=build)
        slices = slice_results(cycle.results, INGEST_BATCH)
        for batch in batches_of(INGEST_PROJECT, build.build_id, "ingest", slices):
            due = started + published.value / rate
            while time.monotonic() < due and not stop.is_set():
                time.sleep(max(0.0, min(interval, due - time.monotonic())))
            publisher.publish(batches=[batch])
            publisher.flush()
            published.value += len(batch.results)
        n += 1
    publisher.flush()


class SteadyIngest:
    """A background publisher (its own process, so it takes no time from the client's)."""

    def __init__(self, settings: Settings, rate: float) -> None:
        context = mp.get_context("spawn")
        self.stop = context.Event()
        self.published = context.Value("q", 0)
        self.process = context.Process(
            target=_steady_ingest, args=(settings, rate, self.stop, self.published), daemon=True
        )
        self.started = time.monotonic()
        self.process.start()

    def close(self) -> tuple[int, float]:
        """Stop; returns the results published and over how many seconds."""
        self.stop.set()
        self.process.join(60)
        return self.published.value, time.monotonic() - self.started


def learn_in_process(history: History, project: str, build: Build) -> Selector:
    selector = Selector()
    for cycle in history.cycles:
        built = replace(cycle.build, project=project)
        selector.observe_build(built)
        for batch in batches_of(project, built.build_id, "history", slice_results(cycle.results)):
            selector.learn(batch)
    selector.observe_build(build)
    return selector


def prepare(stack: Stack, size: int, cycles: int) -> tuple[Selector, Build, list[str], int]:
    """Teach the worker (and an in-process selector) `cycles` cycles of a `size`-test suite."""
    modules, per_module = shape(size)
    full = generate(seed=size, cycles=cycles + 1, modules=modules, tests_per_module=per_module)
    history, last = full.head(cycles), full.cycles[-1]
    project = f"latency-{size}"
    total = sum(1 for c in history.cycles for r in c.results if r.ran)
    progress(f"{size} tests: replaying {cycles} cycles ({total} results) into the worker")
    replay(stack.settings, history, project)
    build = replace(last.build, project=project, build_id=f"request-{size}")
    publisher = EventPublisher(stack.settings)
    publisher.publish(build=build)
    publisher.flush()
    waited = stack.wait_learned(project, total)
    progress(f"{size} tests: learned by the worker {waited:.1f} s after the replay ended")
    candidates = last.candidates[:size]
    return learn_in_process(history, project, build), build, candidates, total


def measure(args: argparse.Namespace) -> dict[str, Any]:
    target = Target.parse(args.target)
    out: dict[str, Any] = {"sizes": {}}
    with running_stack() as stack:
        client = SubsetClient(stack.settings, timeout_s=30)
        for size in args.sizes:
            selector, build, candidates, learned = prepare(stack, size, args.cycles)

            def request(b: Build = build, c: list[str] = candidates) -> SubsetRequest:
                return new_request(stack.settings, b.project, b.build_id, c, target)

            sample = request()
            # Encoded as the worker answers this client: columns when the request asks.
            response = replace(selector.rank(sample), columns=sample.reply_columns)
            request_bytes = wire.encode("SubsetRequest", sample.to_record())
            reply_bytes = wire.encode("SubsetResponse", to_record(response))
            bare = BareRoundTrip(stack.settings, request_bytes, reply_bytes)
            runs: list[dict[str, Any]] = []
            ingest = (
                SteadyIngest(stack.settings, args.during_ingest) if args.during_ingest else None
            )
            learned_before = stack.learned(INGEST_PROJECT) if ingest else 0
            for run in range(args.runs):
                progress(f"{size} tests: run {run + 1}/{args.runs}, {args.requests} requests")
                worker, to_answer, rank, kafka = [], [], [], []
                timeouts = 0
                for i in range(args.warmup + args.requests):
                    req = request()
                    started = time.perf_counter()
                    try:
                        answer = client.request(req)
                    except SubsetTimeout:
                        timeouts += 1
                        progress(f"{size} tests: request {req.request_id} timed out")
                        continue
                    took = time.perf_counter() - started
                    if answer.model == "cold-start":
                        raise RuntimeError(f"{size}: the worker answered cold-start")
                    started = time.perf_counter()
                    selector.rank(request())
                    rank_s = time.perf_counter() - started
                    kafka_s = bare.once()
                    if i >= args.warmup:
                        worker.append(took)
                        to_answer.append((answer.answered_at - req.requested_at).total_seconds())
                        rank.append(rank_s)
                        kafka.append(kafka_s)
                runs.append(
                    {"timeouts": timeouts}
                    | {
                        name: {"p50": percentile(v, 50), "p99": percentile(v, 99)}
                        for name, v in (
                            ("worker", worker),
                            ("to_answer", to_answer),
                            ("rank", rank),
                            ("kafka", kafka),
                        )
                    }
                )
            bare.close()
            if ingest is not None:
                published, over_s = ingest.close()
                ingested = {
                    "published": published,
                    "rate": published / over_s,
                    "learned_meanwhile": stack.learned(INGEST_PROJECT) - learned_before,
                }
                progress(f"{size} tests: background ingest {ingested}")
            avro_s = []
            for _ in range(10):
                started = time.perf_counter()
                value = wire.encode("SubsetResponse", to_record(response))
                SubsetResponse.from_record(wire.decode(value, expected="SubsetResponse")[1])
                avro_s.append(time.perf_counter() - started)
            out["sizes"][str(size)] = {
                "candidates": len(candidates),
                "results_learned": learned,
                "request_bytes": len(request_bytes),
                "reply_bytes": len(reply_bytes),
                "reply_avro_s": median(avro_s),
                "timeouts": sum(r["timeouts"] for r in runs),
                "ingest": ingested if ingest is not None else None,
                "runs": runs,
                "median": {
                    name: {q: median([r[name][q] for r in runs]) for q in ("p50", "p99")}
                    for name in ("worker", "to_answer", "rank", "kafka")
                },
            }
        client.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", type=lambda s: [int(x) for x in s.split(",")], default=[100, 1000, 10000]
    )
    parser.add_argument("--requests", type=int, default=50, help="timed requests per run")
    parser.add_argument("--warmup", type=int, default=5, help="untimed requests first")
    parser.add_argument("--runs", type=int, default=3, help="runs; medians over them reported")
    parser.add_argument("--cycles", type=int, default=30, help="history cycles learned first")
    parser.add_argument("--target", default="20%")
    parser.add_argument(
        "--during-ingest",
        type=float,
        default=0.0,
        metavar="RATE",
        help="publish another project's results at RATE results/s while requests are timed",
    )
    args = parser.parse_args()
    configure("warning")  # keep the replay's progress lines off stdout
    result = measure(args)
    ms = 1000.0
    rows = []
    for size, r in result["sizes"].items():
        m = r["median"]
        rows.append(
            [
                size,
                f"{r['request_bytes'] / 1024:.0f} / {r['reply_bytes'] / 1024:.0f}",
                f"{m['worker']['p50'] * ms:.1f}",
                f"{m['worker']['p99'] * ms:.1f}",
                f"{m['to_answer']['p50'] * ms:.1f}",
                f"{m['rank']['p50'] * ms:.1f}",
                f"{m['rank']['p99'] * ms:.1f}",
                f"{m['kafka']['p50'] * ms:.1f}",
                f"{m['kafka']['p99'] * ms:.1f}",
                f"{r['reply_avro_s'] * ms:.1f}",
                str(r["timeouts"]),
            ]
            + (
                [f"{r['ingest']['rate']:,.0f} / {r['ingest']['learned_meanwhile']:,}"]
                if r["ingest"]
                else []
            )
        )
    print(machine_line())
    print(
        f"subset latency in ms; {args.requests} requests after {args.warmup} warm-ups per run, "
        f"median over {args.runs} runs of each run's p50 / p99; history {args.cycles} cycles"
        + (
            f"; another project ingested at {args.during_ingest:,.0f} results/s meanwhile"
            if args.during_ingest
            else ""
        )
    )
    print(
        table(
            [
                "tests",
                "req / reply KiB",
                "worker p50",
                "worker p99",
                "request→answer built p50",
                "rank p50",
                "rank p99",
                "bare Kafka p50",
                "bare Kafka p99",
                "reply Avro enc+dec",
                "timeouts (30 s)",
            ]
            + (["ingest results/s / learned meanwhile"] if args.during_ingest else []),
            rows,
        )
    )
    path = write_result("subset_latency", {"args": vars(args), **result})
    print(f"written {path}")


if __name__ == "__main__":
    main()
