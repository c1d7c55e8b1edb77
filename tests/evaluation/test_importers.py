"""The importers on small files in the real formats, including malformed ones."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pts.core.errors import DatasetError
from pts.core.events import ChangedFile, Outcome
from pts.core.settings import Settings
from pts.evaluation.importers import load_history
from pts.evaluation.importers.commons import load_commons
from pts.evaluation.importers.junit_history import load_junit_history
from pts.evaluation.importers.retecs import load_retecs

from .conftest import FIXTURES

COMMONS = FIXTURES / "commons"


def test_commons_cycles_in_file_order_with_changes() -> None:
    history = load_commons(COMMONS / "commons_toy.csv")
    assert history.name == "commons_toy"
    assert [c.build.build_id for c in history.cycles] == ["c1", "c2", "c3", "c2#2"]
    c1, c2, c3, again = history.cycles
    assert c1.build.changed_files == (
        ChangedFile("src/main/java/org/acme/A.java", 5, 1),
        ChangedFile("src/test/java/org/acme/ATest.java", 2, 0),
    )
    assert c1.build.base_sha == "c0"
    assert c2.build.started_at == datetime(2020, 1, 2, 8, tzinfo=UTC)
    assert c3.build.changed_files == (ChangedFile("src/main/java/org/acme/B, weird.java", 0, 0),)
    assert again.build.commit_sha == "c2" and again.build.changed_files == c2.build.changed_files
    assert c2.candidates == ["org/acme/ATest.java", "org/acme/BTest.java", "org/acme/CTest.java"]
    assert c2.failing == {"org/acme/ATest.java"}
    assert c2.durations["org/acme/CTest.java"] == 2.0
    a = c2.results[0]
    assert (a.suite, a.name, a.outcome) == ("org.acme.ATest", "ATest", Outcome.FAILED)
    assert c3.failing == {"org/acme/BTest.java"} and not again.failing


def test_commons_without_changes_file_has_no_changes() -> None:
    history = load_commons(COMMONS / "commons_lonely.csv")
    assert len(history.cycles) == 1
    assert history.cycles[0].build.changed_files == ()


@pytest.mark.parametrize(
    ("name", "where"),
    [
        ("commons_badtime.csv", "commons_badtime.csv:3: time"),
        ("commons_badcolumns.csv", "commons_badcolumns.csv:1: missing column(s) cycle_id"),
        ("commons_badchanges.csv", "commons_badchanges_changes.csv:2: committed_at"),
    ],
)
def test_commons_malformed_names_file_and_line(name: str, where: str) -> None:
    with pytest.raises(DatasetError) as error:
        load_commons(COMMONS / name)
    assert where in str(error.value)
    assert "\n" not in str(error.value)


def test_retecs_cycles_in_cycle_order() -> None:
    history = load_retecs(FIXTURES / "retecs" / "retecs_toy.csv")
    assert [c.build.build_id for c in history.cycles] == ["cycle-1", "cycle-2", "cycle-3"]
    first, second, third = history.cycles
    assert first.candidates == ["t1", "t2", "t3"] and first.failing == {"t2"}
    assert first.durations == {"t1": 10.0, "t2": 20.0, "t3": 5.0}
    assert second.candidates == ["t4"] and not second.failing
    assert third.failing == {"t1"}
    assert first.build.started_at < second.build.started_at < third.build.started_at


def test_retecs_malformed_verdict() -> None:
    with pytest.raises(DatasetError, match=r"retecs_badverdict\.csv:3: Verdict"):
        load_retecs(FIXTURES / "retecs" / "retecs_badverdict.csv")


def test_junit_history_builds_in_sorted_order() -> None:
    history = load_junit_history(FIXTURES / "junit_history" / "toy")
    assert [c.build.build_id for c in history.cycles] == ["0001-first", "0002-second", "0003-third"]
    second = history.cycles[1]
    assert second.candidates == ["pkg.ATest::one", "pkg.ATest::two"]  # "three" was skipped
    assert second.failing == {"pkg.ATest::one"}
    assert second.build.changed_files == (
        ChangedFile("src/pkg/a.py", 3, 1),
        ChangedFile("src/pkg/b.py", 0, 2),
    )
    assert history.cycles[0].build.changed_files == ()


def test_junit_history_malformed_report_names_the_file() -> None:
    with pytest.raises(DatasetError, match=r"TEST-bad\.xml:\d+"):
        load_junit_history(FIXTURES / "junit_history" / "bad")


def test_load_history_picks_the_importer() -> None:
    assert load_history(str(COMMONS / "commons_toy.csv")).name == "commons_toy"
    assert load_history(str(FIXTURES / "retecs" / "retecs_toy.csv")).name == "retecs_toy"
    assert load_history(str(FIXTURES / "junit_history" / "toy")).name == "toy"
    assert load_history("synthetic:3").name == "synthetic-3"


@pytest.mark.parametrize(
    "spec",
    [
        "no/such/history.csv",
        str(FIXTURES / "commons" / "commons_toy_changes.csv"),
        str(Path(__file__)),
        "synthetic:x",
    ],
)
def test_load_history_unknown_names_the_path(spec: str) -> None:
    with pytest.raises(DatasetError) as error:
        load_history(spec)
    assert spec in str(error.value)


@pytest.fixture
def shared_datasets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A datasets folder holding commons_toy, and a current directory without it."""
    shared = tmp_path / "shared" / "datasets"
    shared.mkdir(parents=True)
    for name in ("commons_toy.csv", "commons_toy_changes.csv"):
        shutil.copy(COMMONS / name, shared / name)
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    return shared


def test_a_bare_name_falls_back_to_the_datasets_folder(shared_datasets: Path) -> None:
    history = load_history("commons_toy.csv", shared_datasets)
    assert (history.name, len(history.cycles)) == ("commons_toy", 4)
    assert history.cycles[0].build.changed_files  # its _changes.csv was found beside it


def test_a_bare_name_in_the_current_directory_comes_first(shared_datasets: Path) -> None:
    shutil.copy(FIXTURES / "retecs" / "retecs_toy.csv", Path.cwd() / "commons_toy.csv")
    history = load_history("commons_toy.csv", shared_datasets)
    assert [c.build.build_id for c in history.cycles] == ["cycle-1", "cycle-2", "cycle-3"]


def test_a_missing_bare_name_names_both_places(shared_datasets: Path) -> None:
    with pytest.raises(DatasetError) as error:
        load_history("commons_nope.csv", shared_datasets)
    message = str(error.value)
    assert message.startswith("commons_nope.csv: no such file or directory")
    assert str(Path.cwd()) in message and str(shared_datasets) in message
    assert "\n" not in message


def test_a_missing_path_with_a_directory_does_not_fall_back(shared_datasets: Path) -> None:
    with pytest.raises(DatasetError, match=r"^sub/commons_toy\.csv: no such file or directory$"):
        load_history("sub/commons_toy.csv")


def test_a_bare_name_without_a_datasets_folder_says_how_to_set_one(
    shared_datasets: Path,
) -> None:
    with pytest.raises(DatasetError, match="PTS_DATASETS_DIR"):
        load_history("commons_toy.csv")


def test_the_datasets_folder_is_a_setting(shared_datasets: Path) -> None:
    settings = Settings(datasets_dir=shared_datasets)
    assert load_history("commons_toy.csv", settings.datasets_dir).name == "commons_toy"
