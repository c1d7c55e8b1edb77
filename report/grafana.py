"""The Grafana dashboard over the report's figures (`ops/grafana/dashboards/pts.json`): each
panel's SQL is the report's (`report/queries.py`) or a saved query's, with the report's
`{project:String}` read from the dashboard's `project` variable and the weeks limited to the
dashboard's time range by the ClickHouse data source's `$__timeFilter` macro.

`python -m pts.report.grafana` writes the JSON; tests/ops/test_grafana.py checks it is up to
date, and runs every panel's SQL on chdb with the macros substituted as Grafana would.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from pts.report import queries
from pts.sinks.saved_queries import saved_queries

DATASOURCE = {"type": "grafana-clickhouse-datasource", "uid": "pts-clickhouse"}
ALL = "*"  # the project variable's value for "All": the report's empty project
# The report's parameter, from the variable: '' (every project) for All.
PROJECT = f"if('${{project}}' = '{ALL}', '', '${{project}}')"
TIMESERIES, TABLE = 0, 1  # the data source's query formats


@dataclass(frozen=True)
class Panel:
    title: str
    kind: str  # Grafana's panel type: timeseries, barchart, table
    sql: str  # with Grafana's macros and ${project}
    columns: tuple[str, ...]  # what it returns, in order
    unit: str = "short"
    description: str = ""

    @property
    def time_series(self) -> bool:
        return self.kind == "timeseries"


def _report(sql: str) -> str:
    """A report query with the dashboard's project."""
    return sql.replace("{project:String}", PROJECT)


def _saved(name: str) -> str:
    return _report(saved_queries()[name].sql).strip()


def _weekly(source: str, columns: str) -> str:
    return (
        f"SELECT toDateTime(week) AS time, {columns}\nFROM\n({_report(source).strip()})\n"
        "WHERE $__timeFilter(week)\nGROUP BY time\nORDER BY time"
    )


PANELS = (
    Panel(
        "Tests run and skipped per week",
        "timeseries",
        _weekly(queries.SUBSET_BUILDS, "sum(tests_run) AS run, sum(tests_skipped) AS skipped"),
        ("time", "run", "skipped"),
        description="Tests the subsets ran and left out, over the builds that asked for one.",
    ),
    Panel(
        "Test time saved per week",
        "timeseries",
        _weekly(
            queries.SUBSET_BUILDS,
            "round(sum(time_saved_s) / 3600, 3) AS saved_h, "
            "round(sum(time_run_s) / 3600, 3) AS run_h",
        ),
        ("time", "saved_h", "run_h"),
        unit="h",
        description="Hours of test time left out (each test's mean duration) and run.",
    ),
    Panel(
        "Failures caught and missed per week",
        "timeseries",
        _weekly(
            queries.CAUGHT,
            "sum(caught) AS failures_caught, sumIf(missed, NOT observe) AS failures_missed, "
            "sumIf(missed, observe) AS observed_would_miss",
        ),
        ("time", "failures_caught", "failures_missed", "observed_would_miss"),
        description="Failing tests in the subset, left out of it, and what the subsets of "
        "observed builds (which ran everything) would have missed.",
    ),
    Panel(
        "Failure rate over time",
        "timeseries",
        _weekly(
            queries.BUILD_WEEKS,
            "round(sum(failures) / sum(results), 6) AS results_failed, "
            "round(sum(failing_builds) / sum(builds), 6) AS builds_failed",
        ),
        ("time", "results_failed", "builds_failed"),
        unit="percentunit",
        description="Share of results that failed, and of builds with a failure.",
    ),
    Panel(
        "Model quality over time",
        "timeseries",
        _weekly(
            queries.QUALITY_WEEKS,
            "round(sum(roc_auc * results) / sumIf(results, roc_auc IS NOT NULL), 4) AS auc, "
            "round(sum(mean_predicted * results) / sum(results), 6) AS predicted, "
            "round(sum(failures) / sum(results), 6) AS observed",
        ),
        ("time", "auc", "predicted", "observed"),
        description="ROC AUC of the predictions made before learning each result, and the "
        "mean predicted chance against the observed failure rate (equal when calibrated).",
    ),
    Panel(
        "Safety nets' share of the tests run",
        "timeseries",
        _weekly(
            queries.SUBSET_BUILDS,
            "round(sum(must_run) / sum(tests_run), 6) AS must_run_share, "
            "round(sum(starved) / sum(tests_run), 6) AS starved_share, "
            "round(sum(full_run) / sum(tests_run), 6) AS full_run_share",
        ),
        ("time", "must_run_share", "starved_share", "full_run_share"),
        unit="percentunit",
        description="Tests the must-run, starvation and full-run nets added to the subsets.",
    ),
    Panel(
        "Calibration",
        "barchart",
        "SELECT band, mean_predicted, failure_rate, results\nFROM\n("
        + _saved("model-quality")
        + ")",
        ("band", "mean_predicted", "failure_rate", "results"),
        description="The saved query model-quality: per band of predicted chance, the mean "
        "chance and the share that failed.",
    ),
    Panel(
        "Champion changes",
        "table",
        "SELECT decided_at, project, metric, previous, champion, champion_record, "
        "previous_record\nFROM\n(" + _saved("champions") + ")\nWHERE $__timeFilter(decided_at)",
        (
            "decided_at",
            "project",
            "metric",
            "previous",
            "champion",
            "champion_record",
            "previous_record",
        ),
        description="The saved query champions: each change of a project's serving ranker.",
    ),  # fmt: skip
    Panel(
        "Flakiest tests",
        "table",
        "SELECT project, test_id, runs, failures, flips, flip_rate\nFROM\n("
        + _report(queries.FLAKIEST).strip()
        + ")",
        ("project", "test_id", "runs", "failures", "flips", "flip_rate"),
        description="Tests whose outcome flipped most often between consecutive runs.",
    ),
    Panel(
        "Slowest tests",
        "table",
        "SELECT project, test_id, runs, mean_s, total_s\nFROM\n("
        + _report(queries.SLOWEST).strip()
        + ")",
        ("project", "test_id", "runs", "mean_s", "total_s"),
        description="Tests with the longest mean duration.",
    ),
)

PROJECTS_SQL = "SELECT DISTINCT project FROM pts.builds ORDER BY project"
WIDTH, HEIGHT = 12, 8  # of a panel, in Grafana's grid (24 columns)


def dashboard() -> dict[str, Any]:
    """The dashboard's JSON model."""
    return {
        "uid": "pts",
        "title": "pts: predictive test selection",
        "description": "The figures of `pts report`, from the history in ClickHouse.",
        "tags": ["pts"],
        "timezone": "utc",
        "editable": True,
        "schemaVersion": 39,
        "time": {"from": "now-90d", "to": "now"},
        "templating": {"list": [_project_variable()]},
        "panels": [_panel(n, panel) for n, panel in enumerate(PANELS)],
    }


def _project_variable() -> dict[str, Any]:
    return {
        "name": "project",
        "label": "Project",
        "type": "query",
        "datasource": DATASOURCE,
        "query": PROJECTS_SQL,
        "definition": PROJECTS_SQL,
        "refresh": 1,  # on the dashboard's load
        "includeAll": True,
        "allValue": ALL,
        "multi": False,
        "current": {"text": "All", "value": "$__all"},
    }


def _panel(n: int, panel: Panel) -> dict[str, Any]:
    return {
        "id": n + 1,
        "type": panel.kind,
        "title": panel.title,
        "description": panel.description,
        "datasource": DATASOURCE,
        "gridPos": {"x": (n % 2) * WIDTH, "y": (n // 2) * HEIGHT, "w": WIDTH, "h": HEIGHT},
        "fieldConfig": {"defaults": {"unit": panel.unit}, "overrides": []},
        "options": {},
        "targets": [
            {
                "refId": "A",
                "datasource": DATASOURCE,
                "editorType": "sql",
                "queryType": "timeseries" if panel.time_series else "table",
                "format": TIMESERIES if panel.time_series else TABLE,
                "rawSql": panel.sql,
            }
        ],
    }


def as_grafana_sends(sql: str, project: str | None, since: datetime, until: datetime) -> str:
    """The statement the data source sends for `sql`, with the dashboard's `project` (None:
    All) and time range: `$__timeFilter(column)` as the plugin expands it.

    >>> from datetime import UTC
    >>> as_grafana_sends("WHERE $__timeFilter(week) AND '${project}' != ''", "shop",
    ...                  datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 2, 1, tzinfo=UTC))
    "WHERE week >= toDateTime(1704067200) AND week <= toDateTime(1706745600) AND 'shop' != ''"
    """
    start, end = int(since.timestamp()), int(until.timestamp())
    sql = _TIME_FILTER.sub(rf"\1 >= toDateTime({start}) AND \1 <= toDateTime({end})", sql)
    return sql.replace("${project}", ALL if project is None else project)


_TIME_FILTER = re.compile(r"\$__timeFilter\((\w+)\)")


def render_json() -> str:
    return json.dumps(dashboard(), indent=2) + "\n"


def main(argv: list[str]) -> None:
    """`python -m pts.report.grafana PATH`: write the dashboard's JSON to PATH."""
    Path(argv[0]).write_text(render_json())


if __name__ == "__main__":
    main(sys.argv[1:])
