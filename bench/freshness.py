"""How fresh answers are under a steady load: results stream in at `--rate` results/s while a
CI agent asks for a subset of the same project every `--every` seconds.

One worker (predictions and history on), its own broker. A publisher thread sends batches of
`--batch-size` results of project `fresh` on a fixed schedule (build before its results); the
asking thread times each `SubsetClient.request` round trip and keeps the answer's
`results_behind` (what the model had not learned when it answered, after its catch-up wait of
`--catch-up` s). Per run: the rate reached, answers given, how many were behind, the median and
worst `results_behind`, and p50/p99 of the round trip.

    .venv/bin/python -m bench.freshness [--rate 1000] [--seconds 30] [--every 0.5] [--runs 3]
"""

from __future__ import annotations

import argparse
import threading
import time
from typing import Any

from bench.common import machine_line, median, percentile, progress, table, write_result
from bench.ingest import workload
from bench.stack import Stack, running_stack
from pts.client.publisher import EventPublisher
from pts.client.subset_client import SubsetClient, new_request
from pts.core.events import Target

PROJECT = "fresh"


class SteadyPublisher(threading.Thread):
    """Publishes batches at a fixed rate until its work or its time is done."""

    def __init__(self, stack: Stack, args: argparse.Namespace, run: int) -> None:
        super().__init__(daemon=True)
        batches = int(args.rate * args.seconds / args.batch_size)
        self.work = workload(f"{PROJECT}-{run}", batches, args.batch_size, seed=run)
        self.stack, self.args = stack, args
        self.sent = 0
        self.elapsed = 0.0

    def run(self) -> None:
        publisher = EventPublisher(self.stack.settings)
        interval = self.args.batch_size / self.args.rate
        started = time.monotonic()
        due = started
        for build, batches in self.work:
            publisher.publish(build=build)
            for batch in batches:
                due += interval
                time.sleep(max(0.0, due - time.monotonic()))
                publisher.publish(batches=[batch])
                publisher.flush()
                self.sent += len(batch.results)
        self.elapsed = time.monotonic() - started


def one_run(stack: Stack, args: argparse.Namespace, run: int) -> dict[str, Any]:
    project = f"{PROJECT}-{run}"
    publisher = SteadyPublisher(stack, args, run)
    first_build = publisher.work[0][0]
    candidates = [f"tests/m{m:02d}/test_{t}.py::test_{t}" for m in range(20) for t in range(50)]
    asking = stack.settings.model_copy(update={"subset_catch_up_s": args.catch_up})
    client = SubsetClient(asking, timeout_s=30)
    answers: list[tuple[float, int]] = []
    publisher.start()
    try:
        while publisher.is_alive():
            request = new_request(
                client.settings, project, first_build.build_id, candidates, Target.parse("20%")
            )
            started = time.monotonic()
            response = client.request(request)
            answers.append((time.monotonic() - started, response.results_behind))
            time.sleep(args.every)
    finally:
        publisher.join()
        client.close()
    behind = [b for _, b in answers]
    seconds = [s for s, _ in answers[1:]]  # the first one warms the client up
    result = {
        "rate": publisher.sent / publisher.elapsed if publisher.elapsed else 0.0,
        "answers": len(answers),
        "behind_answers": sum(1 for b in behind if b),
        "behind_median": median(behind) if behind else 0,
        "behind_max": max(behind, default=0),
        "p50_ms": 1000 * median(seconds) if seconds else 0.0,
        "p99_ms": 1000 * percentile(seconds, 99) if seconds else 0.0,
    }
    progress(f"run {run + 1}: {result}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=1000.0, help="results per second")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--every", type=float, default=0.5, help="seconds between requests")
    parser.add_argument("--catch-up", type=float, default=2.0, help="the requests' catch-up")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with running_stack() as stack:
        runs = [one_run(stack, args, run) for run in range(args.runs)]

    def mid(key: str) -> float:
        return median([r[key] for r in runs])

    print(machine_line())
    print(f"freshness; median over {args.runs} runs of {args.seconds:g} s at {args.rate:g} "
          f"results/s in batches of {args.batch_size}, a 1,000-test request every "
          f"{args.every:g} s, catch-up {args.catch_up:g} s")  # fmt: skip
    print(table(
        ["rate reached /s", "answers", "answers behind", "results behind: median", "worst",
         "answer p50 ms", "answer p99 ms"],
        [[f"{mid('rate'):.0f}", f"{mid('answers'):.0f}", f"{mid('behind_answers'):.0f}",
          f"{mid('behind_median'):.0f}", f"{mid('behind_max'):.0f}", f"{mid('p50_ms'):.1f}",
          f"{mid('p99_ms'):.1f}"]],
    ))  # fmt: skip
    print(f"written: {write_result('freshness', {'args': vars(args), 'runs': runs})}")


if __name__ == "__main__":
    main()
