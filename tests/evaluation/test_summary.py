"""`pts eval --all`: the summary's tables, the doc's generated sections, the JSON."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from pts.core.errors import ConfigError
from pts.evaluation.nets import NetsReport
from pts.evaluation.report import ChampionChange
from pts.evaluation.summary import Row, changes_markdown, nets_markdown, run_all, update_doc
from pts.selection.safety_nets import DEFAULTS

from .conftest import FIXTURES

DOC = """# Quality
<!-- eval-summary:begin -->
old summary
<!-- eval-summary:end -->
## Safety nets
<!-- eval-nets:begin -->
<!-- eval-nets:end -->
## Champions
<!-- eval-champions:begin -->
old changes
<!-- eval-champions:end -->
kept
"""


def _row(history: str, changes: list[ChampionChange] | None = None) -> Row:
    nets = NetsReport(
        starve_after_builds=50,
        starve_after_days=14.0,
        full_run_every=0,
        builds=300,
        scored=12,
        added_time={0.1: 0.0123, 0.33: 0.02},
        extended={0.1: 30, 0.33: 25},
        missed={0.1: 4, 0.33: 2},
        caught={0.1: 1, 0.33: 0},
    )
    return Row(history, 12, {}, {}, nets, changes or [])


def test_the_nets_table_gives_time_added_and_catches_of_the_misses() -> None:
    table = nets_markdown([_row("shop")], DEFAULTS)
    assert "| shop | 300 | 12 | 1.23% (30 builds) | 1 of 4 | 2.00% (25 builds) | 0 of 2 |" in table
    assert "Nets: starved after 50 builds or 14 days, no full run." in table


def test_the_champions_table_follows_each_change_to_who_serves_at_the_end() -> None:
    change = ChampionChange(26, "b0026", "apfdc", "learned/s", "recent-failure/s", 7)
    table = changes_markdown([_row("steady"), _row("moved", [change])])
    assert "| steady | none | `learned` (confidence), `learned/s` (time) |" in table
    assert (
        "| moved | cycle 26 (time, on 7 failing builds): `learned/s` → `recent-failure/s` | "
        "`learned` (confidence), `recent-failure/s` (time) |"
    ) in table


def test_update_doc_replaces_each_section_and_keeps_the_rest(tmp_path: Path) -> None:
    doc = tmp_path / "quality.md"
    doc.write_text(DOC)
    update_doc(doc, {"eval-summary": "S", "eval-nets": "N", "eval-champions": "C"})
    text = doc.read_text()
    assert "<!-- eval-nets:begin -->\nN\n<!-- eval-nets:end -->" in text
    assert "old" not in text and text.startswith("# Quality\n") and text.endswith("kept\n")


def test_update_doc_writes_nothing_when_a_section_is_missing(tmp_path: Path) -> None:
    doc = tmp_path / "quality.md"
    doc.write_text(DOC.replace("<!-- eval-nets:end -->\n", ""))
    with pytest.raises(ConfigError, match="eval-nets:begin"):
        update_doc(doc, {"eval-summary": "S", "eval-nets": "N"})
    assert "old summary" in doc.read_text()


def test_run_all_writes_the_nets_and_the_champions(tmp_path: Path) -> None:
    folder = tmp_path / "histories"
    folder.mkdir()
    for name in ("commons_io_first80.csv", "commons_io_first80_changes.csv"):
        shutil.copy(FIXTURES / "commons" / name, folder / name)
    doc = tmp_path / "quality.md"
    doc.write_text(DOC)
    [row] = run_all(folder, tmp_path / "out", synthetic=0, seeds=1, doc=doc, echo=lambda _: None)
    assert row.nets is not None and row.nets.builds == 80
    assert row.nets.extended[0.1] > 0 and row.nets.added_time[0.1] > 0
    data = json.loads((tmp_path / "out" / "summary.json").read_text())
    [history] = data["histories"]
    assert history["nets"]["@10%"]["builds_extended"] == row.nets.extended[0.1]
    assert history["champion_changes"] == []
    text = doc.read_text()
    assert "| commons_io_first80 | 80 | 1 |" in text and "| commons_io_first80 | none |" in text
