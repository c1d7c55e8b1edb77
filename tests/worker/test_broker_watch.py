"""The worker's view of the broker: away after two failed checks, back at the first answer,
each logged once."""

from __future__ import annotations

import io
import json
import sys

import pytest

from pts.core.kafka import admin_client
from pts.core.logs import configure
from pts.core.settings import Settings
from pts.worker.broker_watch import BrokerWatch


@pytest.mark.integration
def test_away_and_back_are_each_logged_once(
    kafka_bootstrap: str, unreachable_bootstrap: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    configure("info")
    watch = BrokerWatch(Settings(kafka_bootstrap=unreachable_bootstrap), timeout_s=1)
    assert not watch.check() and watch.reachable  # one failed check is no outage
    assert not watch.check() and not watch.reachable
    assert not watch.check()
    assert watch.as_dict()["state"] == "unreachable" and watch.as_dict()["error"]
    watch._admin = admin_client(Settings(kafka_bootstrap=kafka_bootstrap))  # the broker is back
    assert watch.check() and watch.check() and watch.reachable
    events = [json.loads(line)["event"] for line in err.getvalue().splitlines()]
    assert events == ["broker_unreachable", "broker_reachable_again"]
    back = json.loads(err.getvalue().splitlines()[-1])
    assert back["failed_checks"] == 3 and back["away_s"] >= 0
