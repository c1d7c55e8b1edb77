"""How fast the command line starts: `pts --help`, `import pts.cli`, and a 100-candidate
`pts subset` answered end to end by a real worker, each a fresh process, timed by wall clock.

Each figure is also given as a ratio to a bare `python -c 'import confluent_kafka'` timed in the
same rounds, so that a loaded machine (these 2 cores are shared) shows in the baseline too.
The commands are interleaved round by round; the figures are medians over `--runs` rounds.

    .venv/bin/python -m bench.startup [--runs 7] [--no-subset]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import replace

from bench.common import machine_line, median, progress, table, write_result
from bench.stack import PTS, Stack, running_stack
from pts.core.logs import configure

CANDIDATES = 100
BASELINE = "import confluent_kafka"


def timed(argv: Sequence[str], env: dict[str, str] | None = None, stdin: str = "") -> float:
    """Wall-clock seconds of one run of `argv`, which must succeed."""
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, input=stdin, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {done.returncode}: {done.stderr[-2000:]}")
    return elapsed


def subset_asker(stack: Stack) -> Callable[[], float]:
    """A project the worker has learned (a synthetic history of 100 tests, 10 cycles), and a
    function timing one `pts subset` of those 100 candidates, answered by the model."""
    from pts.client.publisher import EventPublisher
    from pts.evaluation.synthetic import generate
    from pts.ops.replay import replay

    full = generate(seed=1, cycles=11, modules=10, tests_per_module=10)
    history, last = full.head(10), full.cycles[-1]
    project = "startup"
    replay(stack.settings, history, project)
    publisher = EventPublisher(stack.settings)
    publisher.publish(build=replace(last.build, project=project, build_id="asked"))
    publisher.flush()
    stack.wait_learned(project, sum(1 for c in history.cycles for r in c.results if r.ran))
    candidates = "\n".join(last.candidates[:CANDIDATES]) + "\n"
    argv = [str(PTS), "subset", "-p", project, "-b", "asked", "--target", "20%"]

    def ask() -> float:
        return timed(argv, env=stack.env, stdin=candidates)

    ask()  # the first answer also creates the reply topic's consumer group: not startup
    return ask


def measure(runs: int, ask_subset: Callable[[], float] | None) -> dict[str, list[float]]:
    commands: dict[str, Callable[[], float]] = {
        f"python -c '{BASELINE}'": lambda: timed([sys.executable, "-c", BASELINE]),
        "python -c 'import pts.cli'": lambda: timed([sys.executable, "-c", "import pts.cli"]),
        "pts --help": lambda: timed([str(PTS), "--help"]),
    }
    if ask_subset is not None:
        commands[f"pts subset ({CANDIDATES} candidates, answered)"] = ask_subset
    times: dict[str, list[float]] = {name: [] for name in commands}
    for run in range(runs):
        for name, command in commands.items():
            times[name].append(command())
        progress(f"round {run + 1}/{runs} done")
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--no-subset", action="store_true", help="No broker, worker, subset.")
    args = parser.parse_args()
    configure("warning")  # keep the replay's progress lines off the output
    timed([sys.executable, "-c", "import pts.cli"])  # compiled bytecode, warm file cache
    if args.no_subset:
        times = measure(args.runs, None)
    else:
        with running_stack() as stack:
            times = measure(args.runs, subset_asker(stack))
    baseline = median(times[f"python -c '{BASELINE}'"])
    rows = [
        [name, f"{median(values):.3f}", f"{min(values):.3f}", f"{median(values) / baseline:.2f}"]
        for name, values in times.items()
    ]
    print(machine_line())
    print(table(["command", "median s", "min s", "ratio to the baseline"], rows))
    path = write_result("startup", {"runs": args.runs, "seconds": times})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
