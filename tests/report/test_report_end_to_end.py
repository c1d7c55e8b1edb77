"""`pts report` on a history replayed through the real broker, `pts worker --no-history` and
`pts loader` (which owns the embedded chdb directory, so the report reads through its /query,
as `pts query` does), then opened in Debian's headless Chromium.

The history: 40 daily builds of 10 tests (the pattern of tests/end_to_end/test_champions.py,
under which failure-rate takes over time targets around build 30). Builds 28-39 ask for a
subset before their results are published: 28-35 run it (28 and 29 with the must-run net on
T5, 30 as a full run), 36-39 only observe. Every build publishes all its results.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pts.client.publisher import EventPublisher, batches_of
from pts.client.subset_client import SubsetClient, new_request
from pts.core.events import Build, Outcome, Target, TestResult
from pts.core.settings import Settings
from pts.report.page import PARTS
from tests.conftest import free_port, run_pts, start_worker, wait_until
from tests.report.browser import CHROMEDRIVER, CHROMIUM, open_report

pytestmark = pytest.mark.integration

PROJECT = "web"
TESTS = [f"org/x/T{i}Test.java" for i in range(10)]
BUILDS = 40
FIRST_ASKED = 28
OBSERVED_FROM = 36
MUST_RUN = (28, 29)
FULL_RUN = 30
T0 = datetime(2024, 3, 4, 9, 0, tzinfo=UTC)  # a Monday: 40 daily builds span 6 weeks


def failing(build: int) -> set[str]:
    return {TESTS[-1]} if build % 2 else {TESTS[build % 3]}


def results(build: int) -> list[TestResult]:
    return [
        TestResult(t, "s", t, Outcome.FAILED if t in failing(build) else Outcome.PASSED, 1.0 + k)
        for k, t in enumerate(TESTS)
    ]


def publish(publisher: EventPublisher, build: int) -> None:
    batch = batches_of(PROJECT, f"b{build}", "junit.xml", [results(build)], f"d{build}")
    publisher.publish(Build(PROJECT, f"b{build}", f"c{build}", T0 + timedelta(days=build)), (),
                      batch)  # fmt: skip
    publisher.flush()


def query(env: dict[str, str], sql: str) -> dict:
    done = run_pts(env, "query", sql)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[0])


@pytest.fixture(scope="module")
def env(pts_env: dict[str, str]) -> dict[str, str]:
    suffix = uuid.uuid4().hex[:8]
    return {**pts_env, "PTS_TOPIC_PREFIX": f"test-report-{suffix}",
            "PTS_LOADER_HTTP_PORT": str(free_port())}  # fmt: skip


@pytest.fixture(scope="module")
def history(env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """Replay the history; yields what the loader stored once it holds all of it."""
    logs = tmp_path_factory.mktemp("logs")
    worker = start_worker(env, logs / "worker.log", args=("--no-history",))
    with (logs / "loader.log").open("ab") as out:
        loader = subprocess.Popen([sys.executable, "-m", "pts.cli", "loader"], env=env,
                                  stdout=out, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        loader_health = f"http://127.0.0.1:{env['PTS_LOADER_HTTP_PORT']}/health"
        assert wait_until(lambda: _answers(loader_health) or loader.poll() is not None, 120)
        assert loader.poll() is None, (logs / "loader.log").read_text()
        yield _replay(env, worker)
    finally:
        if loader.poll() is None:
            loader.send_signal(signal.SIGTERM)
            loader.wait(timeout=60)
        worker.stop()


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5):
            return True
    except (urllib.error.URLError, ConnectionError):
        return False


def _replay(env: dict[str, str], worker) -> dict:  # noqa: ANN001
    settings = Settings(
        kafka_bootstrap=env["PTS_KAFKA_BOOTSTRAP"], topic_prefix=env["PTS_TOPIC_PREFIX"],
        partitions=int(env["PTS_PARTITIONS"]), subset_timeout_s=30,
    )  # fmt: skip
    publisher = EventPublisher(settings)
    for build in range(FIRST_ASKED):
        publish(publisher, build)

    def learned() -> bool:
        found = worker.get("/health")["projects"].get(PROJECT)
        return bool(found) and found["results_learned"] == FIRST_ASKED * len(TESTS)

    assert wait_until(learned, 120), worker.get("/health")
    client = SubsetClient(settings)
    try:
        for build in range(FIRST_ASKED, BUILDS):
            request = replace(
                new_request(settings, PROJECT, f"b{build}", TESTS, Target.parse("30%")),
                observe=build >= OBSERVED_FROM, must_run=("org/x/T5*",) * (build in MUST_RUN),
                full_run=build == FULL_RUN, starve_after_builds=0, starve_after_days=0,
            )  # fmt: skip
            client.request(request)
            publish(publisher, build)
    finally:
        client.close()
    everything = (
        "SELECT (SELECT count() FROM pts.test_results) AS results, "
        "(SELECT uniqExact(request_id) FROM pts.subset_responses) AS answers, "
        "(SELECT count() FROM pts.predictions) AS predictions, "
        "(SELECT count() FROM pts.champion_decisions) AS champion_changes"
    )
    want = {"results": BUILDS * len(TESTS), "answers": BUILDS - FIRST_ASKED,
            "predictions": BUILDS * len(TESTS)}  # fmt: skip
    stored: dict = {}

    def loaded() -> bool:
        stored.update(query(env, everything))
        return all(stored[k] == v for k, v in want.items()) and stored["champion_changes"] > 0

    assert wait_until(loaded, 180, every_s=2), stored
    return stored


def test_the_report_shows_every_part_of_the_replayed_history(
    env: dict[str, str], history: dict, tmp_path: Path
) -> None:
    out = tmp_path / "report.html"
    done = run_pts(env, "report", "-p", PROJECT, "--out", str(out), timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(out)
    assert f"wrote the report of 1 project to {out}" in done.stderr
    page = out.read_text()
    for key, title in PARTS:
        assert f'data-part="{key}"' in page and title in page
    text = re.sub(r"<[^>]+>", " ", page)
    asked, observed = BUILDS - FIRST_ASKED, BUILDS - OBSERVED_FROM
    assert f"{BUILDS} builds with {BUILDS * len(TESTS)} test results" in text
    assert f"{asked} builds asked for a subset" in text
    assert f"Over {asked - observed} builds that ran their subset" in text
    assert f"Of {asked} failing builds that asked for a subset" in text
    assert f"In {observed} observed builds the subset would have" in text
    assert f"{history['champion_changes']} change" in text and "failure-rate" in text
    assert 'class="empty"' not in page  # this history has something for every part
    assert "<script src=" not in page and "<link" not in page  # everything inline


def test_a_project_the_history_lacks_is_named_in_one_line(
    env: dict[str, str], history: dict, tmp_path: Path
) -> None:
    done = run_pts(env, "report", "-p", "nosuch", "--out", str(tmp_path / "r.html"))
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == (
        "pts: error: the history holds no project named 'nosuch'"
    )
    assert not (tmp_path / "r.html").exists()


@pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER), reason="needs chromium and chromedriver")
def test_the_report_renders_in_headless_chromium(
    env: dict[str, str], history: dict, tmp_path: Path
) -> None:
    out = tmp_path / "report.html"
    done = run_pts(env, "report", "--out", str(out), timeout=300)  # every project: just one
    assert done.returncode == 0, done.stderr
    opened = open_report(out, tmp_path / "report.png", tmp_path / "chromium-profile")
    print(f"screenshot of the report: {opened.screenshot}")
    if os.environ.get("PTS_REPORT_SCREENSHOT"):  # e.g. docs/report.png
        shutil.copyfile(opened.screenshot, os.environ["PTS_REPORT_SCREENSHOT"])
    assert opened.parts == {f"project-{PROJECT}": [key for key, _ in PARTS]}
    assert opened.plots == len(PARTS) - 1  # every part but the champion changes' table
    assert opened.console_errors == []
    assert set(opened.requests) == {out.resolve().as_uri()}
    assert opened.screenshot.stat().st_size > 50_000
