"""The table and the plot."""

from __future__ import annotations

from pathlib import Path

from pts.evaluation.baselines import baseline_rankers
from pts.evaluation.harness import evaluate, format_table, plot
from pts.evaluation.synthetic import generate


def test_table_and_png(tmp_path: Path) -> None:
    report = evaluate(generate(seed=2, cycles=40), baseline_rankers(seeds=2))
    table = format_table(report).splitlines()
    assert table[0].startswith(f"synthetic-2: 40 cycles, {report.failing_cycles} failing; ")
    assert table[1].split()[:4] == ["ranker", "scored", "APFD", "APFDc"]
    assert [line.split()[0] for line in table[2:6]] == [
        "random",
        "recent-failure",
        "recency-per-second",
        "failure-rate",
    ]
    path = plot(report, tmp_path / "out" / "curve.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
