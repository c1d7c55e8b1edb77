"""The Grafana dashboard, without Grafana (it cannot run here): the JSON is what
`report/grafana.py` writes, docker-compose.yml provisions it and its ClickHouse data source from
files that exist, and every panel's SQL, with the macros substituted as the data source would,
runs on real chdb (the schema of `sinks/schema.sql`) over the report's small history and
returns the columns its panel shows."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from pts.core.events import ChampionDecision
from pts.report.grafana import DATASOURCE, PANELS, Panel, as_grafana_sends, dashboard, render_json
from pts.sinks.chdb_store import ChdbStore
from tests.ops.test_compose import REPO, environment, load_compose
from tests.report.conftest import T0, fill_history

GRAFANA = REPO / "ops" / "grafana"
DASHBOARD = GRAFANA / "dashboards" / "pts.json"
SINCE, UNTIL = datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 12, 31, tzinfo=UTC)
TIMED = [p for p in PANELS if "$__timeFilter" in p.sql]


def test_the_dashboard_file_is_what_the_code_writes() -> None:
    assert DASHBOARD.read_text() == render_json(), "run: python -m pts.report.grafana " + str(
        DASHBOARD.relative_to(REPO)
    )
    model = json.loads(DASHBOARD.read_text())
    assert [p["title"] for p in model["panels"]] == [p.title for p in PANELS]
    assert {t["datasource"]["uid"] for p in model["panels"] for t in p["targets"]} == {
        DATASOURCE["uid"]
    }
    [variable] = model["templating"]["list"]
    assert variable["name"] == "project" and variable["includeAll"]


def test_compose_provisions_grafana_from_files_that_exist() -> None:
    grafana = load_compose()["services"]["grafana"]
    assert grafana["profiles"] == ["dashboards"]  # not started by a plain `up`
    assert grafana["depends_on"] == {"clickhouse": {"condition": "service_healthy"}}
    mounts = {}
    for volume in grafana["volumes"]:
        source, target = volume.split(":")[:2]
        if source.startswith("./"):
            assert (REPO / source).exists(), f"grafana mounts {source}, which does not exist"
            mounts[target] = REPO / source
    env = environment(grafana)
    assert DATASOURCE["type"] in env["GF_INSTALL_PLUGINS"]
    assert all(port.startswith("127.0.0.1:") for port in grafana["ports"])

    provisioning = mounts["/etc/grafana/provisioning"]
    [source] = yaml.safe_load((provisioning / "datasources" / "clickhouse.yaml").read_text())[
        "datasources"
    ]
    assert {"type": source["type"], "uid": source["uid"]} == DATASOURCE
    clickhouse = load_compose()["services"]["clickhouse"]
    assert source["jsonData"]["username"] == environment(clickhouse)["CLICKHOUSE_USER"]
    assert source["jsonData"]["defaultDatabase"] == environment(clickhouse)["CLICKHOUSE_DB"]
    password = source["secureJsonData"]["password"].removeprefix("$")
    assert env[password] == environment(clickhouse)["CLICKHOUSE_PASSWORD"]

    [provider] = yaml.safe_load((provisioning / "dashboards" / "pts.yaml").read_text())["providers"]
    folder = mounts[provider["options"]["path"]]
    assert (folder / DASHBOARD.name).read_text() == DASHBOARD.read_text()
    home = env["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert Path(home).parent.as_posix() == provider["options"]["path"]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChdbStore]:
    opened = ChdbStore(Path(tmp_path_factory.mktemp("data")) / "chdb")
    fill_history(opened)
    opened.insert_champion_decisions(
        [ChampionDecision("shop", "apfdc", "fail-rate", "river", {"fail-rate": 0.5,
                                                                  "river": 0.75}, 3, 8, T0)]
    )  # fmt: skip
    try:
        yield opened
    finally:
        opened.close()


@pytest.mark.parametrize("project", ["shop", None], ids=["shop", "all projects"])
@pytest.mark.parametrize("panel", PANELS, ids=[p.title for p in PANELS])
def test_every_panel_runs_on_the_schema_and_returns_its_columns(
    store: ChdbStore, panel: Panel, project: str | None
) -> None:
    rows = store.query(as_grafana_sends(panel.sql, project, SINCE, UNTIL))
    assert rows, f"{panel.title}: no rows from the small history"
    assert [list(row) for row in rows] == [list(panel.columns)] * len(rows)


def test_the_figures_are_the_reports(store: ChdbStore) -> None:
    """The small history's figures (tests/report/conftest.py), as the panels give them."""

    def rows(title: str) -> list[dict]:
        [panel] = [p for p in PANELS if p.title == title]
        return store.query(as_grafana_sends(panel.sql, "shop", SINCE, UNTIL))

    weeks = [row["time"].date().isoformat() for row in rows("Tests run and skipped per week")]
    assert weeks == ["2024-05-06", "2024-05-13"]
    assert [(r["run"], r["skipped"]) for r in rows("Tests run and skipped per week")] == [
        (2, 2), (1, 3),
    ]  # fmt: skip
    caught = rows("Failures caught and missed per week")
    figures = [
        (r["failures_caught"], r["failures_missed"], r["observed_would_miss"]) for r in caught
    ]
    assert figures == [(1, 1, 0), (0, 0, 1)]
    assert rows("Test time saved per week")[0]["saved_h"] == round(7.5 / 3600, 3)
    assert [r["champion"] for r in rows("Champion changes")] == ["river"]
    # s1's predictions: b 0.9 and c 0.1 failed, a 0.2 and d 0.05 passed: 3 of 4 pairs in order
    assert [r["auc"] for r in rows("Model quality over time")] == [0.75]
    nets = rows("Safety nets' share of the tests run")
    assert [(r["must_run_share"], r["starved_share"]) for r in nets] == [(0.5, 0), (0, 1)]


@pytest.mark.parametrize("panel", TIMED, ids=[p.title for p in TIMED])
def test_the_time_range_limits_the_timed_panels(store: ChdbStore, panel: Panel) -> None:
    later = datetime(2025, 6, 1, tzinfo=UTC)
    assert store.query(as_grafana_sends(panel.sql, None, later, later.replace(month=9))) == []


def test_the_panels_are_in_the_dashboard_once() -> None:
    assert len({p.title for p in PANELS}) == len(PANELS) == len(dashboard()["panels"])
