"""The selector's own speed, in process: learning beside a bare River loop, and ranking.

No broker, no worker. Each run, on the same machine and in the same process:
- bare River: `river.linear_model.LogisticRegression` with the selector's settings
  (`models.make_classifier("logistic")`), `learn_one(x, failed, w)` over the feature dicts
  the selector computes for the `bench.ingest` workload (100,000 results of a 1,000-test
  suite), computed before the clock starts, with the selector's class weight;
- `Selector.learn` and `Selector.learn_and_predict`: a fresh selector, the same builds and
  batches (features, prediction, champion validation, learning, history, calibration, AUC);
- ranking: `Selector.rank` of a 20% subset of `--sizes` candidates, after the selector
  learned `--cycles` cycles of a synthetic suite of that size (the shape of
  `bench.subset_latency`), `--requests` timed requests after `--warmup` untimed ones.

    .venv/bin/python -m bench.model_speed [--runs 3] [--sizes 100,1000,10000,50000]
"""

from __future__ import annotations

import argparse
import gc
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from river import linear_model

from bench.common import machine_line, median, percentile, progress, table, write_result
from bench.ingest import workload
from bench.subset_latency import shape
from pts.client.junit_reports import slice_results
from pts.client.publisher import batches_of
from pts.core.events import Build, SubsetRequest, Target, TestResultBatch
from pts.evaluation.synthetic import generate
from pts.selection.features import features
from pts.selection.models import MAX_POSITIVE_WEIGHT, make_classifier
from pts.selection.selector import Selector

Workload = list[tuple[Build, list[TestResultBatch]]]


def feature_stream(work: Workload) -> list[tuple[dict[str, float], bool, float]]:
    """(features, failed, class weight) of every result, as the selector learns them."""
    selector = Selector()
    stream = []
    positives = negatives = 0
    for build, batches in work:
        selector.observe_build(build)
        for batch in batches:
            project = selector.project(batch.project)
            # The build's change as the selector sees it (prepared once, before it counts).
            change = project._change(project._build_state(batch.build_id))
            for result in batch.results:
                if not result.ran:
                    continue
                failed = result.failed
                positives, negatives = positives + failed, negatives + (not failed)
                weight = min(max(negatives, 1) / max(positives, 1), MAX_POSITIVE_WEIGHT)
                x = features(result.test_id, change, project.history)
                stream.append((x, failed, weight if failed else 1.0))
            selector.learn(batch)
    return stream


def bare_river(stream: list[tuple[dict[str, float], bool, float]]) -> None:
    learner = make_classifier("logistic")
    assert isinstance(learner, linear_model.LogisticRegression)
    for x, failed, weight in stream:
        learner.learn_one(x, failed, w=weight)


def selector_learn(work: Workload, predict: bool) -> None:
    selector = Selector()
    learn = selector.learn_and_predict if predict else selector.learn
    for build, batches in work:
        selector.observe_build(build)
        for batch in batches:
            learn(batch)


def timed(step: Callable[[], None]) -> tuple[float, float]:
    """Wall and CPU seconds of `step`. The inputs built before are frozen out of the garbage
    collector, so that neither side pays for scanning the other's data."""
    gc.collect()
    gc.freeze()
    try:
        wall, cpu = time.perf_counter(), time.process_time()
        step()
        return time.perf_counter() - wall, time.process_time() - cpu
    finally:
        gc.unfreeze()


def ranking_setup(size: int, cycles: int) -> tuple[Selector, SubsetRequest]:
    modules, per_module = shape(size)
    full = generate(seed=size, cycles=cycles + 1, modules=modules, tests_per_module=per_module)
    project = f"speed-{size}"
    selector = Selector()
    for cycle in full.head(cycles).cycles:
        built = replace(cycle.build, project=project)
        selector.observe_build(built)
        for batch in batches_of(project, built.build_id, "history", slice_results(cycle.results)):
            selector.learn(batch)
    last = full.cycles[-1]
    build = replace(last.build, project=project, build_id=f"request-{size}")
    selector.observe_build(build)
    candidates = tuple(last.candidates[:size])
    request = SubsetRequest(
        "speed", project, build.build_id, candidates, Target.parse("20%"), "replies"
    )
    return selector, request


def rank_times(selector: Selector, request: SubsetRequest, warmup: int, requests: int) -> list:
    times = []
    for i in range(warmup + requests):
        started = time.perf_counter()
        selector.rank(request)
        took = time.perf_counter() - started
        if i >= warmup:
            times.append(took)
    return times


def measure(args: argparse.Namespace) -> dict[str, Any]:
    work = workload("model-speed", 200, 500, seed=0)
    results = sum(1 for _, batches in work for b in batches for r in b.results if r.ran)
    progress(f"computing the feature dicts of {results} results for the bare loop")
    stream = feature_stream(work)
    learning: list[dict[str, dict[str, float]]] = []
    for run in range(args.runs):
        progress(f"learning, run {run + 1}/{args.runs}")
        took = {}
        for name, step in (
            ("bare_river", lambda: bare_river(stream)),
            ("learn", lambda: selector_learn(work, predict=False)),
            ("learn_and_predict", lambda: selector_learn(work, predict=True)),
        ):
            wall, cpu = timed(step)
            took[name] = {"per_s": results / wall, "per_cpu_s": results / cpu}
        learning.append(took)
    ranking: dict[str, Any] = {}
    for size in args.sizes:
        progress(f"{size} candidates: learning {args.cycles} cycles")
        selector, request = ranking_setup(size, args.cycles)
        runs = []
        for run in range(args.runs):
            progress(f"{size} candidates: ranking, run {run + 1}/{args.runs}")
            gc.collect()
            times = rank_times(selector, request, args.warmup, args.requests)
            runs.append({"p50": percentile(times, 50), "p99": percentile(times, 99)})
        ranking[str(size)] = {
            "candidates": len(request.candidates),
            "runs": runs,
            "median": {q: median([r[q] for r in runs]) for q in ("p50", "p99")},
        }
        del selector
    rates = {
        name: {
            "per_s": median([run[name]["per_s"] for run in learning]),
            "per_cpu_s": median([run[name]["per_cpu_s"] for run in learning]),
            # Within each run, back to back: the ratio moves less than the rates do on a
            # shared machine.
            "bare_over_this": median(
                [run["bare_river"]["per_s"] / run[name]["per_s"] for run in learning]
            ),
        }
        for name in learning[0]
    }
    return {
        "results": results,
        "learning_runs": learning,
        "learning_median": rates,
        "ranking": ranking,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs; medians over them reported")
    parser.add_argument(
        "--sizes", type=lambda s: [int(x) for x in s.split(",")], default=[100, 1000, 10000, 50000]
    )
    parser.add_argument("--cycles", type=int, default=30, help="cycles learned before ranking")
    parser.add_argument("--requests", type=int, default=50, help="timed rankings per run")
    parser.add_argument("--warmup", type=int, default=3, help="untimed rankings first")
    args = parser.parse_args()
    result = measure(args)
    rates = result["learning_median"]
    print(machine_line())
    print(f"learning {result['results']} results, median of {args.runs} runs")
    print(
        table(
            ["learner", "results/s", "results/CPU-s", "bare River / this"],
            [
                [name, f"{r['per_s']:,.0f}", f"{r['per_cpu_s']:,.0f}", f"{r['bare_over_this']:.2f}"]
                for name, r in rates.items()
            ],
        )
    )
    print(
        f"\nSelector.rank in ms, 20% target, {args.requests} rankings after {args.warmup} "
        f"warm-ups per run, median over {args.runs} runs of each run's p50 / p99; "
        f"{args.cycles} cycles learned"
    )
    ms = 1000.0
    print(
        table(
            ["candidates", "rank p50", "rank p99"],
            [
                [f"{int(size):,}", *(f"{r['median'][q] * ms:.1f}" for q in ("p50", "p99"))]
                for size, r in result["ranking"].items()
            ],
        )
    )
    path = write_result("model_speed", {"args": vars(args), **result})
    print(f"written {path}")


if __name__ == "__main__":
    main()
