"""The demo's Python half: replay a synthetic CI history, wait until the model has learned it,
then ask for a new build's subset and compare it with running every test.

Run by `ops/demo.sh` once the broker and the worker are up (`--cycles N` replays fewer cycles).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, replace
from typing import Any

from pts.client.publisher import publish
from pts.client.subset_client import SubsetClient, new_request
from pts.core.errors import WorkerUnreachable
from pts.core.events import SubsetResponse, Target
from pts.core.logs import configure
from pts.core.settings import Settings, settings
from pts.evaluation.history import Cycle
from pts.evaluation.synthetic import generate
from pts.ops.replay import replay

PROJECT = "demo-shop"
HISTORY_CYCLES = 150
TARGET = "20%"
SHOWN = 15
CATCH_UP_S = 900.0
"""How long the demo waits for the model to learn the replayed history before it asks anyway
(and says how far behind the answer was)."""
PROGRESS_EVERY_S = 5.0
MODEL_TOPICS = ("builds", "test-results")


@dataclass(frozen=True)
class Progress:
    """How far the worker's model is: results it learned for the project, messages behind."""

    learned: int
    behind: int


def fetch(config: Settings, path: str) -> dict[str, Any]:
    """The JSON the worker serves at `path`; an HTTP error becomes {"error": ...}."""
    try:
        with urllib.request.urlopen(f"{config.worker_url}{path}", timeout=10) as answer:
            body: dict[str, Any] = json.load(answer)
            return body
    except urllib.error.HTTPError as exc:
        return {"error": f"{exc.code} {exc.reason}"}
    except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
        raise WorkerUnreachable(f"no worker answers at {config.worker_url} ({exc})") from exc


def progress(config: Settings) -> Progress:
    """The model's progress on the demo's project, from the worker's /health and /lag."""
    health = fetch(config, "/health")
    lag = fetch(config, "/lag")
    learned = health.get("projects", {}).get(PROJECT, {}).get("results_learned", 0)
    behind = sum(lag.get("model", {}).get(topic, 0) for topic in MODEL_TOPICS)
    if "error" in lag:
        behind = -1  # the worker cannot tell: keep waiting, the deadline bounds it
    return Progress(learned, behind)


def wait_for_model(config: Settings, results: int, timeout_s: float) -> Progress:
    """Until the model has read every build and result published (or `timeout_s` passed),
    printing for a person how far it is every few seconds; returns the last progress."""
    deadline = time.monotonic() + timeout_s
    shown = 0.0
    while True:
        now = progress(config)
        if now.behind == 0 or time.monotonic() > deadline:
            return now
        if time.monotonic() - shown >= PROGRESS_EVERY_S:
            shown = time.monotonic()
            print(
                f"  the model has learned {now.learned:,} of {results:,} results "
                f"({_behind(now)} to go) ...",
                file=sys.stderr,
            )
        time.sleep(0.5)


def _behind(now: Progress) -> str:
    return "an unknown number of messages" if now.behind < 0 else f"{now.behind:,} messages"


def comparison(response: SubsetResponse, cycle: Cycle) -> list[str]:
    """How the subset compares with running every candidate: tests, their true time in this
    build, and the build's real failures."""
    durations = cycle.durations
    ran = set(response.subset)
    time_all = sum(durations.values())
    time_run = sum(d for test, d in durations.items() if test in ran)
    caught = cycle.failing & ran
    share_time = time_run / time_all if time_all else 0.0
    return [
        f"compared with running all {len(durations)} tests:",
        f"  tests run     {len(ran)} of {len(durations)} ({len(ran) / len(durations):.0%})",
        f"  test time     {time_run / 60:.1f} of {time_all / 60:.1f} min ({share_time:.0%})",
        f"  failures      {len(caught)} of {len(cycle.failing)} caught"
        + (f": {', '.join(sorted(caught))}" if caught else ""),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cycles", type=int, default=HISTORY_CYCLES, help="cycles to replay")
    parser.add_argument("--catch-up-s", type=float, default=CATCH_UP_S, help="longest wait")
    args = parser.parse_args(argv)
    configure("warning")
    config = settings()
    history = generate(seed=7, cycles=args.cycles + 50)
    past = replace(history, cycles=history.cycles[: args.cycles])
    # The new build: the first later cycle that really fails, so the answer can be judged.
    new_cycle = next(c for c in history.cycles[args.cycles :] if c.failing)
    results = sum(1 for c in past.cycles for r in c.results if r.ran)
    print(
        f"replaying {len(past.cycles)} CI cycles ({results:,} test results) of a synthetic "
        f"project ({PROJECT}) ...",
        file=sys.stderr,
    )
    started = time.monotonic()
    replay(config, past, project=PROJECT)
    print(f"  published in {time.monotonic() - started:.1f} s", file=sys.stderr)

    build = replace(new_cycle.build, project=PROJECT, build_id="new-build")
    publish(config, build=build)
    print("waiting until the model has learned them ...", file=sys.stderr)
    started = time.monotonic()
    try:
        learned = wait_for_model(config, results, args.catch_up_s)
    except WorkerUnreachable as exc:
        print(f"demo: {exc}; is `pts worker` running?", file=sys.stderr)
        return 3
    print(
        f"  the model has learned {learned.learned:,} results in {time.monotonic() - started:.0f} s"
        + ("" if learned.behind == 0 else f"; it is still {_behind(learned)} behind"),
        file=sys.stderr,
    )
    request = new_request(
        config, PROJECT, build.build_id, new_cycle.candidates, Target.parse(TARGET)
    )
    client = SubsetClient(config, timeout_s=30)
    try:
        started = time.monotonic()
        response = client.request(request)
        waited = time.monotonic() - started
    finally:
        client.close()

    changed = ", ".join(f.path for f in build.changed_files)
    print(f"\nnew build changes: {changed}")
    print(
        f"subset for target {TARGET} of the expected time (answered in {waited:.2f} s by "
        f"model {response.model}):\n"
    )
    print(f"  {'':4} {'p(fail)':>8} {'time':>8}  {'why':<24} test")
    for position, test in enumerate(response.ranked[:SHOWN], 1):
        mark = "run" if position <= response.subset_size else "skip"
        print(
            f"  {mark:4} {test.failure_probability:8.3f} {test.expected_duration_s:7.1f}s  "
            f"{test.reason:<24} {test.test_id}"
        )
    print(f"  ... {len(response.ranked) - SHOWN} more\n")
    if response.results_behind:
        print(
            f"the model answered {response.results_behind:,} results behind the history: "
            "run the demo again once `pts status` shows the model caught up"
        )
    else:
        print("the model answered having learned every result replayed")
    print(
        f"expected: {response.expected_share_of_time:.0%} of the time, "
        f"{response.expected_share_of_failures:.0%} of the failures"
    )
    for line in comparison(response, new_cycle):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
