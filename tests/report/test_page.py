"""The report page (`report/page.py`) from the small history of `conftest.fill_history` in real
chdb, and from an empty one: every part is there, with its plot or a sentence."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from pts.core.settings import Settings
from pts.report.history import History, read_history
from pts.report.page import PARTS, render
from pts.sinks.chdb_store import ChdbStore
from tests.conftest import free_port
from tests.report.conftest import fill_history


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """No worker or loader answers: the history is read from chdb opened here."""
    data = Path(tmp_path_factory.mktemp("data"))
    store = ChdbStore(data / "chdb")
    fill_history(store)
    store.close()
    return Settings(data_dir=data, worker_http_port=free_port(), loader_http_port=free_port())


def text_of(page: str) -> str:
    return " ".join(re.sub(r"<script.*?</script>|<[^>]+>", " ", page, flags=re.S).split())


def test_every_part_of_a_project_is_drawn_with_its_figures(settings: Settings) -> None:
    said: list[str] = []
    history = read_history(settings, "shop", said.append)
    page = render(history, "now")
    assert len(said) == 8 and said[-1].endswith("(8 of 8)")
    assert page.count('data-part="') == len(PARTS)
    assert page.count('class="plotly-graph-div"') == len(PARTS) - 1  # no champion changed
    text = text_of(page)
    assert "2 builds with 8 test results in the weeks from 2024-05-06 to 2024-05-13" in text
    assert "Over 1 build that ran their subset, 2 tests ran and 2 were skipped (50%)" in text
    assert "saving about 7.5 seconds of test time" in text
    assert "the subset held a failing test in 1 (50%), and 1 of their 3 failing tests" in text
    assert "In 1 observed build the subset would have missed t::a." in text
    assert "the safety nets added 2 (67%): must-run 1, starved 1, full run 0." in text
    assert "The serving ranker has not changed yet" in text


def test_an_empty_history_says_so_in_every_part() -> None:
    empty = pd.DataFrame()
    history = History(["new"], *[empty] * 8)
    text = text_of(render(history, "now"))
    assert "No build or test result was recorded yet." in text
    assert text.count("No subset was asked yet.") == 2
    assert "No build that asked for a subset has failed yet." in text
    assert text.count("No test result was recorded yet.") == 2
    assert "No test has flipped between passing and failing yet." in text
    assert text.count("The model has made no prediction yet.") == 2
    assert 'class="plotly-graph-div"' not in render(history, "now")


def test_a_history_without_projects_says_so() -> None:
    page = render(History([], *[pd.DataFrame()] * 8), "now")
    assert "The history holds no project yet" in text_of(page)


def test_every_project_gets_its_own_section_with_only_its_rows() -> None:
    build_weeks = pd.DataFrame(
        [("api", "2024-05-06", 3, 1, 30, 2), ("web", "2024-05-13", 5, 0, 50, 0)],
        columns=["project", "week", "builds", "failing_builds", "results", "failures"],
    )
    empty = pd.DataFrame()
    page = render(History(["api", "web"], build_weeks, *[empty] * 7), "now")
    assert page.count('<section class="project"') == 2
    assert '<a href="#project-api">api</a> <a href="#project-web">web</a>' in page
    api, web = page.split('id="project-api"')[1].split('id="project-web"')
    assert "3 builds with 30 test results" in text_of(api) and "5 builds" not in text_of(api)
    assert "5 builds with 50 test results" in text_of(web)
