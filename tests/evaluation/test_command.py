"""`pts eval` as a function and on the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pts.cli import app
from pts.core.errors import ConfigError
from pts.evaluation.command import choose_rankers, run_evaluation


def test_run_evaluation_writes_png_and_json(tmp_path: Path) -> None:
    lines: list[str] = []
    report = run_evaluation(
        "synthetic:4",
        ["recent-failure", "random"],
        tmp_path,
        seeds=2,
        limit=30,
        echo=lines.append,
    )
    assert report.cycles == 30 and list(report.rankers) == ["recent-failure", "random"]
    assert (tmp_path / "synthetic-4.png").read_bytes()[:4] == b"\x89PNG"
    data = json.loads((tmp_path / "synthetic-4.json").read_text())
    assert data["cycles"] == 30 and data["rankers"]["random"]["replicas"] == 2
    assert any(line.startswith("synthetic-4: 30 cycles") for line in lines)


def test_unknown_ranker_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="'oracle'"):
        choose_rankers(["oracle"], seeds=1)


def test_default_rankers_are_the_baselines_and_the_selector() -> None:
    rankers = choose_rankers(None, seeds=3)
    assert set(rankers) == {
        "random",
        "recent-failure",
        "recency-per-second",
        "failure-rate",
        "selector",
    }
    assert len(rankers["random"]) == 3


def test_pts_eval_on_the_command_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "eval",
            "synthetic:1",
            "--ranker",
            "failure-rate",
            "--out",
            str(tmp_path),
            "--limit",
            "20",
            "--seeds",
            "1",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "failure-rate" in result.output
    assert (tmp_path / "synthetic-1.png").exists()


def test_pts_eval_scores_the_nets_it_is_given(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["eval", "synthetic:1", "-r", "selector", "--out", str(tmp_path), "--limit", "25"]
        + ["--starve-after-builds", "0", "--starve-after-days", "0", "--full-run-every", "10"],
    )
    assert result.exit_code == 0, result.output
    assert "safety nets of selector (no starvation bound, a full run every 10 builds)" in (
        result.output
    )
    data = json.loads((tmp_path / "synthetic-1.json").read_text())
    nets = data["rankers"]["selector"]["nets"]
    assert nets["full_run_every"] == 10 and nets["extended"] == {"0.1": 2, "0.33": 2}


def test_baselines_alone_score_no_nets(tmp_path: Path) -> None:
    report = run_evaluation("synthetic:4", ["recent-failure"], tmp_path, limit=5, echo=print)
    assert report.rankers["recent-failure"].nets is None
