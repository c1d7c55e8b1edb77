"""With PTS_RECORD_PREDICTIONS=false the worker learns the same and publishes no predictions."""

from __future__ import annotations

import json
import time

import pytest

from tests.conftest import FIXTURES_JUNIT, run_pts, running_worker

pytestmark = pytest.mark.integration


def test_no_predictions_are_published_when_switched_off(pts_env: dict[str, str]) -> None:
    env = {**pts_env, "PTS_RECORD_PREDICTIONS": "false"}
    with running_worker(env) as worker:
        recorded = run_pts(
            env, "record", "tests", "-p", "quiet", "-b", "1", str(FIXTURES_JUNIT / "surefire.xml")
        )
        assert recorded.returncode == 0, recorded.stderr
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if worker.get("/health")["projects"].get("quiet", {}).get("results_learned"):
                break
            time.sleep(0.5)
        assert worker.get("/health")["projects"]["quiet"]["results_learned"] > 0
        stored = "SELECT count() AS n FROM pts.test_results WHERE project = 'quiet'"
        deadline = time.monotonic() + 60
        while (n := json.loads(run_pts(env, "query", stored).stdout)["n"]) == 0:
            assert time.monotonic() < deadline, "the results never reached ClickHouse"
            time.sleep(0.5)
        assert n > 0  # the history loader is past the results
        predictions = run_pts(env, "query", "SELECT count() AS n FROM pts.predictions")
        assert json.loads(predictions.stdout)["n"] == 0
        assert worker.get("/lag")["history"]["predictions"] == 0
