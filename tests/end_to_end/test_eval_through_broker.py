"""The evaluation's two modes, in-process and through the real broker and worker, rank alike."""

from __future__ import annotations

import pytest

from pts.core.settings import Settings
from pts.evaluation.broker_mode import BrokerRanker
from pts.evaluation.harness import evaluate
from pts.evaluation.synthetic import generate
from pts.selection.selector import Selector
from tests.conftest import RunningWorker

pytestmark = pytest.mark.integration


def test_broker_mode_gives_the_in_process_rankings(pts_worker: RunningWorker) -> None:
    history = generate(seed=3, cycles=25, modules=4, tests_per_module=6)
    assert history.failing_cycles > 0
    env = pts_worker.env
    settings = Settings(
        kafka_bootstrap=env["PTS_KAFKA_BOOTSTRAP"],
        topic_prefix=env["PTS_TOPIC_PREFIX"],
        partitions=3,
        worker_http_port=int(env["PTS_WORKER_HTTP_PORT"]),
    )
    via_broker = BrokerRanker(settings)
    try:
        report = evaluate(history, {"in-process": Selector(), "via-broker": via_broker})
    finally:
        via_broker.close()
    in_process = report.rankers["in-process"]
    through_broker = report.rankers["via-broker"]
    assert len(through_broker.rankings) == 25
    assert through_broker.rankings == in_process.rankings
    assert through_broker.apfd == in_process.apfd
