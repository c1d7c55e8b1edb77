"""ops/grafana/render.py draws docs/grafana.png from the panels' SQL over a sample history: no
panel of the picture may be empty. Its own module: chdb opens one directory per process, and
tests/ops/test_grafana.py holds another open for its module."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from pts.report.grafana import PANELS, as_grafana_sends
from pts.sinks.chdb_store import ChdbStore
from tests.ops.test_compose import REPO

GRAFANA = REPO / "ops" / "grafana"


def test_the_sample_history_of_the_picture_fills_every_panel(tmp_path: Path) -> None:
    """For a project or for all; and the picture is drawn."""
    spec = importlib.util.spec_from_file_location("render", GRAFANA / "render.py")
    assert spec is not None and spec.loader is not None
    render = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(render)
    store = ChdbStore(tmp_path / "chdb")
    try:
        since, until = render.fill_sample(store)
        for project in ("shop", "billing", None):
            for panel in PANELS:
                rows = store.query(as_grafana_sends(panel.sql, project, since, until))
                assert rows, f"{panel.title} ({project or 'All'}): no rows"
        render.draw(store.query, tmp_path / "picture.png", "shop", since, until)
    finally:
        store.close()
    assert (tmp_path / "picture.png").read_bytes().startswith(b"\x89PNG")
