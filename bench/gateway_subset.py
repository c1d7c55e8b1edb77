"""Subset latency through `pts gateway` (the Launchable API over HTTP) beside the same subset
through Kafka (`SubsetClient`), on a private broker, worker and gateway.

For each suite size the worker learns a synthetic history (`bench.subset_latency.prepare`),
a token is made for the project (`pts token create`) and a test session opened through the
gateway (`POST builds/{build}/test_sessions`), as `launchable record session` does. Then, in
turns, the same 20% subset is asked both ways:

- **gateway**: `POST .../subset` as the Launchable CLI 1.125.3 sends it (the candidates as
  `file` test paths, the goal `subset-by-percentage`, the body gzipped JSON with a bearer
  token), sent with urllib rather than the CLI, on a new connection each time (each
  `launchable subset` is a process of its own), timed from gzipping the body to the reply's
  JSON read;
- **Kafka**: `SubsetClient.request`, one client reused for every request, as `pts subset`'s
  own path (`bench.subset_latency`'s "worker" figure).

Which goes first alternates. The JSON work around the call is also timed in process, on an
answer ranked in process: the client's (the body dumped and gzipped, the reply parsed) and the
gateway's (the body unzipped and parsed, each test path named by `test_id`, the reply built by
`subset_body` and dumped).
"""

from __future__ import annotations

import argparse
import gc
import gzip
import json
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from bench.common import machine_line, median, percentile, progress, table, write_result
from bench.stack import PTS, Stack, free_port, running_stack
from bench.subset_latency import prepare
from pts.client.subset_client import SubsetClient, new_request
from pts.core.errors import SubsetTimeout
from pts.core.events import Build, SubsetResponse, Target
from pts.core.logs import configure
from pts.gateway.launchable_paths import test_id
from pts.gateway.subsets import subset_body

RUNNER = "file"  # the synthetic suites' test ids are file paths: Launchable's `file` profile
HTTP_TIMEOUT_S = 60
# `launchable record session --build B`'s body (CLI 1.125.3, no flavors).
SESSION = {"flavors": {}, "isObservation": False, "noBuild": False, "lineage": None,
           "testSuite": None, "timestamp": None, "links": []}  # fmt: skip


@dataclass(frozen=True)
class Gateway:
    url: str
    organization: str

    def workspace(self, project: str) -> str:
        return f"{self.url}/intake/organizations/{self.organization}/workspaces/{project}"


@contextmanager
def running_gateway(stack: Stack, timeout_s: float = 120) -> Iterator[Gateway]:
    """`pts gateway` on the stack's broker, on a free port of loopback; stopped at the end."""
    port = free_port()
    env = {**stack.env, "PTS_GATEWAY_PORT": str(port), "PTS_SUBSET_TIMEOUT_S": "30"}
    log_path = stack.tmp / "gateway.log"  # copied to bench/results/ when the run fails
    with log_path.open("ab") as log:
        process = subprocess.Popen([str(PTS), "gateway"], env=env, stdout=log, stderr=log)
    try:
        started = time.monotonic()
        url = f"http://127.0.0.1:{port}"
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"pts gateway exited: {log_path.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=5):
                    break
            except (urllib.error.URLError, ConnectionError):
                if time.monotonic() - started > timeout_s:
                    raise RuntimeError(f"pts gateway: no /health within {timeout_s} s") from None
                time.sleep(0.1)
        yield Gateway(url, stack.settings.gateway_organization)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def make_token(stack: Stack, project: str) -> str:
    created = subprocess.run(
        [str(PTS), "token", "create", "--project", project],
        env=stack.env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return created.stdout.strip().splitlines()[-1]


def call(
    url: str, token: str, body: dict[str, Any] | None = None, gzipped: bool = False
) -> dict[str, Any]:
    """One call of the Launchable CLI: JSON (gzipped for subset), the token as a bearer."""
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/json",
        "User-Agent": "Launchable/1.125.3 (bench.gateway_subset)",
    }
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        if gzipped:
            data = gzip.compress(data)
            headers["Content-Encoding"] = "gzip"
    request = urllib.request.Request(url, data=data, headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_S) as answer:
        result: dict[str, Any] = json.load(answer)
        return result


def subset_call(session: str, candidates: list[str], share: float) -> dict[str, Any]:
    """The body of `launchable subset --target {share:.0%} file` (CLI 1.125.3)."""
    return {
        "testPaths": [[{"type": "file", "name": test}] for test in candidates],
        "testRunner": RUNNER,
        "session": {"id": session},
        "ignoreNewTests": False,
        "getTestsFromPreviousSessions": False,
        "getTestsFromGuess": False,
        "goal": {"type": "subset-by-percentage", "percentage": share},
    }


def json_work(body: dict[str, Any], response: SubsetResponse) -> dict[str, float]:
    """Seconds of the JSON work around one subset through the gateway, in process: the
    client's (gzip and dump the request, parse the reply) and the gateway's (unzip and parse
    the request, name each test path, build and dump the reply)."""
    started = time.perf_counter()
    sent = gzip.compress(json.dumps(body).encode())
    client_s = time.perf_counter() - started
    started = time.perf_counter()
    read = json.loads(gzip.decompress(sent))
    paths: dict[str, list[Any]] = {}
    for path in read["testPaths"]:
        paths.setdefault(test_id(path, RUNNER), []).append(path)
    answer = json.dumps(subset_body(response, paths, RUNNER, "bench", False)).encode()
    gateway_s = time.perf_counter() - started
    started = time.perf_counter()
    json.loads(answer)
    client_s += time.perf_counter() - started
    return {"client": client_s, "gateway": gateway_s}


def answered_tests(answer: dict[str, Any]) -> set[str]:
    return {path[0]["name"] for path in answer["testPaths"]}


def measure(args: argparse.Namespace) -> dict[str, Any]:
    target = Target.parse(args.target)
    share = target.value
    out: dict[str, Any] = {"sizes": {}}
    with running_stack() as stack, running_gateway(stack) as gateway:
        client = SubsetClient(stack.settings, timeout_s=30)
        for size in args.sizes:
            selector, build, candidates, learned = prepare(stack, size, args.cycles)
            token = make_token(stack, build.project)
            workspace = gateway.workspace(build.project)
            sessions = f"{workspace}/builds/{build.build_id}/test_sessions"
            body = subset_call(call(sessions, token, SESSION)["id"], candidates, share)
            measured = measure_size(
                args, stack, client, f"{workspace}/subset", token, body, build, candidates, target
            )
            sample = new_request(stack.settings, build.project, build.build_id, candidates, target)
            response = selector.rank(sample)
            del selector  # its objects would slow the collector while the JSON work is timed
            gc.collect()
            work = [json_work(body, response) for _ in range(10)]
            out["sizes"][str(size)] = measured | {
                "results_learned": learned,
                "request_gzip_bytes": len(gzip.compress(json.dumps(body).encode())),
                "json_s": {side: median([w[side] for w in work]) for side in ("client", "gateway")},
            }
        client.close()
    return out


def measure_size(
    args: argparse.Namespace,
    stack: Stack,
    client: SubsetClient,
    url: str,
    token: str,
    body: dict[str, Any],
    build: Build,
    candidates: list[str],
    target: Target,
) -> dict[str, Any]:
    size = len(candidates)
    runs: list[dict[str, Any]] = []
    reply_bytes, differing = 0, 0
    for run in range(args.runs):
        progress(f"{size} tests: run {run + 1}/{args.runs}, {args.requests} requests each way")
        through_gateway, through_kafka = [], []
        failures = 0
        for i in range(args.warmup + args.requests):
            timed: dict[str, float] = {}
            answers: dict[str, Any] = {}
            for way in ("gateway", "kafka") if i % 2 == 0 else ("kafka", "gateway"):
                started = time.perf_counter()
                try:
                    if way == "gateway":
                        answers[way] = call(url, token, body, gzipped=True)
                    else:
                        request = new_request(
                            stack.settings, build.project, build.build_id, candidates, target
                        )
                        answers[way] = client.request(request)
                except (SubsetTimeout, urllib.error.URLError, TimeoutError) as exc:
                    failures += 1
                    progress(f"{size} tests: {way} failed: {exc}")
                    continue
                timed[way] = time.perf_counter() - started
            if len(timed) < 2:
                continue
            kafka_answer: SubsetResponse = answers["kafka"]
            if "cold-start" in (answers["gateway"]["model"], kafka_answer.model):
                raise RuntimeError(f"{size}: the worker answered cold-start")
            chosen = {t.test_id for t in kafka_answer.ranked[: kafka_answer.subset_size]}
            if answered_tests(answers["gateway"]) != chosen:
                differing += 1
            reply_bytes = len(json.dumps(answers["gateway"]).encode())
            if i >= args.warmup:
                through_gateway.append(timed["gateway"])
                through_kafka.append(timed["kafka"])
        runs.append(
            {"failures": failures}
            | {
                name: {"p50": percentile(v, 50), "p99": percentile(v, 99)}
                for name, v in (("gateway", through_gateway), ("kafka", through_kafka))
            }
        )
    return {
        "candidates": size,
        "reply_json_bytes": reply_bytes,
        "failures": sum(r["failures"] for r in runs),
        "subsets_differing": differing,
        "runs": runs,
        "median": {
            name: {q: median([r[name][q] for r in runs]) for q in ("p50", "p99")}
            for name in ("gateway", "kafka")
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", type=lambda s: [int(x) for x in s.split(",")], default=[1000, 10000]
    )
    parser.add_argument("--requests", type=int, default=50, help="timed requests per run, each way")
    parser.add_argument("--warmup", type=int, default=5, help="untimed requests first")
    parser.add_argument("--runs", type=int, default=3, help="runs; medians over them reported")
    parser.add_argument("--cycles", type=int, default=30, help="history cycles learned first")
    parser.add_argument("--target", default="20%")
    args = parser.parse_args()
    if Target.parse(args.target).kind.value != "share_of_time":
        parser.error("--target must be a share of time, such as 20%")
    configure("warning")  # keep the replay's progress lines off stdout
    result = measure(args)
    ms = 1000.0
    rows = []
    for size, r in result["sizes"].items():
        g, k = r["median"]["gateway"], r["median"]["kafka"]
        rows.append(
            [
                f"{int(size):,}",
                f"{r['request_gzip_bytes'] / 1024:.0f} / {r['reply_json_bytes'] / 1024:.0f}",
                f"{g['p50'] * ms:.1f}",
                f"{g['p99'] * ms:.1f}",
                f"{k['p50'] * ms:.1f}",
                f"{k['p99'] * ms:.1f}",
                f"{(g['p50'] - k['p50']) * ms:+.1f}",
                f"{r['json_s']['client'] * ms:.1f} / {r['json_s']['gateway'] * ms:.1f}",
                str(r["failures"]),
                str(r["subsets_differing"]),
            ]
        )
    print(machine_line())
    print(
        f"subset latency in ms; {args.requests} requests each way after {args.warmup} warm-ups "
        f"per run, median over {args.runs} runs of each run's p50 / p99; history {args.cycles} "
        f"cycles; target {args.target}"
    )
    print(
        table(
            [
                "tests",
                "request gzip / reply JSON KiB",
                "gateway p50",
                "gateway p99",
                "Kafka (SubsetClient) p50",
                "Kafka p99",
                "gateway − Kafka p50",
                "JSON work in process: client / gateway",
                "failures",
                "subsets differing",
            ],
            rows,
        )
    )
    path = write_result("gateway_subset", {"args": vars(args), **result})
    print(f"written {path}")


if __name__ == "__main__":
    main()
