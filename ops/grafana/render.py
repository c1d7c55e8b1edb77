"""A picture of the Grafana dashboard drawn from its panels' data, for the README: Grafana itself
does not run here. Each panel's SQL (`pts.report.grafana.PANELS`), with the macros substituted
as the ClickHouse data source would, runs on a history in chdb, and matplotlib draws the rows
in the dashboard's grid: lines for time series, bars for the calibration, tables for tables.

    python ops/grafana/render.py --out docs/grafana.png            # a generated sample history
    python ops/grafana/render.py --chdb DIR -p shop --out shop.png  # a chdb directory of yours

The sample history (`fill_sample`) is generated, seeded: two projects, twelve weeks of builds,
subsets, results, predictions and champion changes. It is no replay of a real CI.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402

from pts.core.events import (  # noqa: E402
    Build,
    ChampionDecision,
    Outcome,
    PredictionBatch,
    RankedTest,
    SubsetResponse,
    TestResult,
    TestResultBatch,
)
from pts.report.grafana import PANELS, Panel, as_grafana_sends, dashboard  # noqa: E402
from pts.sinks.chdb_store import ChdbStore  # noqa: E402

START = datetime(2024, 3, 4, 9, 0, tzinfo=UTC)  # a Monday
WEEKS, BUILDS_PER_WEEK, TESTS = 12, 6, 60
TABLE_ROWS = 8  # of a table panel, as a panel of its height shows them
Rows = Callable[[str], list[dict]]


def fill_sample(store: ChdbStore, seed: int = 25) -> tuple[datetime, datetime]:
    """Write the sample history; returns its time range."""
    rng = random.Random(seed)
    for project in ("shop", "billing"):
        _fill_project(store, project, rng)
    return START, START + timedelta(weeks=WEEKS)


def _fill_project(store: ChdbStore, project: str, rng: random.Random) -> None:
    tests = [f"{project}.Test{n:02d}" for n in range(TESTS)]
    chance = {t: rng.choice((0.001, 0.002, 0.005, 0.01, 0.04)) for t in tests}
    seconds = {t: round(rng.lognormvariate(1.0, 1.0), 2) for t in tests}
    champions = iter([("apfdc", "fail-rate", "river"), ("apfd", "recency", "river")])
    builds = WEEKS * BUILDS_PER_WEEK
    for n in range(builds):
        started = START + timedelta(hours=n * 7 * 24 / BUILDS_PER_WEEK)
        build_id = f"{project}-{n}"
        skill = min(0.9, 0.2 + n / builds)  # the model learns: its scores follow the truth
        score = {t: skill * chance[t] + (1 - skill) * rng.random() * 0.05 for t in tests}
        ranked = sorted(tests, key=lambda t: -score[t])
        observe, full = n % 7 == 3, n % 20 == 19
        chosen = len(tests) if full else int(len(tests) * 0.35)
        reasons = {ranked[chosen - 1]: "must-run"} if not full else {}
        if n % 5 == 2 and not full:
            reasons[ranked[chosen - 2]] = "starved"
        for t in ranked[:chosen] if full else ():
            reasons[t] = "full-run"
        failing = {t for t in tests if rng.random() < chance[t]}
        ran = set(tests) if observe else set(ranked[:chosen]) | set(rng.sample(tests, 6))
        store.insert_builds([Build(project, build_id, f"sha{n}", started)])
        store.insert_subset_responses([SubsetResponse(
            f"{build_id}-r", project, build_id,
            tuple(RankedTest(t, score[t], seconds[t], reasons.get(t, "")) for t in ranked),
            chosen, 0.35, 0.8, "river", started, observe=observe,
        )])  # fmt: skip
        results = tuple(
            TestResult(t, project, t, Outcome.FAILED if t in failing else Outcome.PASSED,
                       seconds[t])
            for t in tests if t in ran
        )  # fmt: skip
        store.insert_test_results([TestResultBatch(project, build_id, "junit.xml", results)])
        ids = tuple(r.test_id for r in results)
        store.insert_predictions([PredictionBatch(
            project, build_id, "junit.xml", "river", ids, tuple(score[t] for t in ids),
            tuple(t in failing for t in ids), ("",) * len(ids), started,
        )])  # fmt: skip
        if n in (builds // 4, builds // 2):
            metric, previous, champion = next(champions)
            records = {previous: 0.61, champion: 0.68}
            store.insert_champion_decisions(
                [ChampionDecision(project, metric, previous, champion, records, 12, n * 40,
                                  started)]
            )  # fmt: skip


def draw(rows_of: Rows, out: Path, project: str | None, since: datetime, until: datetime) -> None:
    """Every panel, from its rows, in the dashboard's grid, into `out` (PNG)."""
    height = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in dashboard()["panels"]) // 8
    figure, grid = plt.subplots(height, 2, figsize=(16, 4.2 * height))
    shown = project or "All"
    figure.suptitle(
        f"{dashboard()['title']}  ·  project: {shown}  ·  {since:%Y-%m-%d} to {until:%Y-%m-%d}\n"
        "drawn from the panels' SQL on chdb by ops/grafana/render.py, not by Grafana",
        fontsize=13,
    )
    for axes, panel in zip(grid.flat, PANELS, strict=True):
        frame = pd.DataFrame(rows_of(as_grafana_sends(panel.sql, project, since, until)))
        axes.set_title(panel.title, loc="left", fontsize=11, fontweight="bold")
        if frame.empty:
            axes.text(0.5, 0.5, "No data", ha="center", va="center", transform=axes.transAxes)
            axes.set_axis_off()
        elif panel.kind == "timeseries":
            _lines(axes, frame, panel)
        elif panel.kind == "barchart":
            _bars(axes, frame, panel)
        else:
            _table(axes, frame, panel)
    figure.tight_layout(rect=(0, 0, 1, 0.97))
    figure.savefig(out, dpi=80)
    plt.close(figure)


def _lines(axes: Axes, frame: pd.DataFrame, panel: Panel) -> None:
    time = pd.to_datetime(frame["time"])
    for column in panel.columns[1:]:
        axes.plot(time, frame[column].astype(float), marker="o", markersize=3, label=column)
    axes.legend(fontsize=8, loc="upper left")
    axes.grid(alpha=0.3)
    if panel.unit == "percentunit":
        axes.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    elif panel.unit != "short":
        axes.set_ylabel(panel.unit)
    axes.tick_params(axis="x", labelsize=8)


def _bars(axes: Axes, frame: pd.DataFrame, panel: Panel) -> None:
    positions = range(len(frame))
    width = 0.4
    for shift, column in ((-width / 2, "mean_predicted"), (width / 2, "failure_rate")):
        axes.bar([p + shift for p in positions], frame[column], width, label=column)
    axes.set_xticks(list(positions), frame[panel.columns[0]])
    axes.legend(fontsize=8)
    axes.grid(alpha=0.3, axis="y")


def _table(axes: Axes, frame: pd.DataFrame, panel: Panel) -> None:
    axes.set_axis_off()
    shown = frame[list(panel.columns)].head(TABLE_ROWS).astype(str)
    table = axes.table(
        cellText=shown.values.tolist(), colLabels=list(shown.columns), loc="upper center"
    )
    table.auto_set_font_size(False)
    table.set_fontsize(8)
    table.auto_set_column_width(list(range(len(shown.columns))))


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/grafana.png"))
    parser.add_argument("--chdb", type=Path, help="a chdb directory (default: the sample)")
    parser.add_argument("-p", "--project", help="the project variable (default: All)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        store = ChdbStore(args.chdb or Path(scratch) / "chdb")
        try:
            if args.chdb is None:
                since, until = fill_sample(store)
            else:
                until = datetime.now(UTC)
                since = until - timedelta(days=90)  # the dashboard's default range
            draw(store.query, args.out, args.project, since, until)
        finally:
            store.close()
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main(sys.argv[1:])
