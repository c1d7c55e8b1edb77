"""The demo's Python half: replay a synthetic CI history, then ask for a new build's subset.

Run by `ops/demo.sh` once the broker and the worker are up.
"""

from __future__ import annotations

import sys
import time
from dataclasses import replace

from pts.client.publisher import publish
from pts.client.subset_client import SubsetClient, new_request
from pts.core.events import Target
from pts.core.logs import configure
from pts.core.settings import settings
from pts.evaluation.synthetic import generate
from pts.ops.replay import replay

PROJECT = "demo-shop"
HISTORY_CYCLES = 150
TARGET = "20%"
SHOWN = 15


def main() -> int:
    configure("warning")
    config = settings()
    history = generate(seed=7, cycles=HISTORY_CYCLES + 50)
    past = replace(history, cycles=history.cycles[:HISTORY_CYCLES])
    # The new build: the first later cycle that really fails, so the answer can be judged.
    new_cycle = next(c for c in history.cycles[HISTORY_CYCLES:] if c.failing)
    print(
        f"replaying {len(past.cycles)} CI cycles of a synthetic project ({PROJECT}) ...",
        file=sys.stderr,
    )
    started = time.monotonic()
    replay(config, past, project=PROJECT)
    print(f"  published in {time.monotonic() - started:.1f} s", file=sys.stderr)

    build = replace(new_cycle.build, project=PROJECT, build_id="new-build")
    publish(config, build=build)
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
    caught = new_cycle.failing & set(response.subset)
    print(
        f"runs {response.subset_size} of {len(response.ranked)} tests: "
        f"{response.expected_share_of_time:.0%} of the expected time, "
        f"{response.expected_share_of_failures:.0%} of the expected failures."
    )
    print(
        f"this build really fails {len(new_cycle.failing)} tests; the subset catches "
        f"{len(caught)}: {', '.join(sorted(caught)) or 'none'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
