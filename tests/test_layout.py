"""The package layout: one top-level name in the wheel, imports that only run downward, and a
CI client that runs on the plain install (without the worker's and eval's extras)."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.layout import REPO, modules

# What each package may import, besides itself. The core is at the bottom; the CLI (the root
# package's modules: pts.cli, pts.extras) is at the top, and nothing imports it.
MAY_IMPORT = {
    "pts.core": set(),
    "pts.schemas": set(),
    "pts.client": {"pts.core"},
    "pts.selection": {"pts.core"},
    "pts.sinks": {"pts.core"},
    "pts.streams": {"pts.core", "pts.selection"},
    "pts.consumers": {"pts.core", "pts.sinks"},
    "pts.worker": {"pts.core", "pts.selection", "pts.sinks", "pts.streams", "pts.consumers"},
    "pts.evaluation": {"pts.core", "pts.selection", "pts.client"},
    "pts.ops": {"pts.core", "pts.client", "pts.evaluation"},
    "pts.gateway": {"pts.core", "pts.client"},
    "pts.report": {"pts.core", "pts.sinks", "pts.worker"},
}
OLD_TOP_LEVEL = {
    "schemas", "streams", "consumers", "sinks", "ops", "selection", "recording", "evaluation",
    "core", "client", "worker",
}  # fmt: skip


def package_of(module: str) -> str:
    """The package a module belongs to in MAY_IMPORT (`pts` for the root's own modules)."""
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 1 and ".".join(parts[:2]) in MAY_IMPORT else "pts"


def imported_modules(path: Path, module: str) -> set[str]:
    """Every module `path` imports, at the top or inside a function, relative ones resolved."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")[: -node.level or None]
                found.add(".".join(base + ([node.module] if node.module else [])))
            elif node.module:
                found.add(node.module)
    return found


def forbidden_edges() -> list[str]:
    edges = []
    for module in modules():
        source = package_of(module.name)
        for target in imported_modules(module.path, module.name):
            top = target.partition(".")[0]
            if top in OLD_TOP_LEVEL:
                edges.append(f"{module.name} imports {target}, outside the pts namespace")
            if top != "pts":
                continue
            wanted = package_of(target)
            if wanted == source:
                continue
            if source == "pts" and wanted != "pts":
                continue  # the CLI sits at the top: it may import anything
            if wanted not in MAY_IMPORT.get(source, set()):
                edges.append(f"{module.name} ({source}) imports {target} ({wanted})")
    return edges


def test_imports_run_only_downward() -> None:
    assert forbidden_edges() == []


def test_the_walk_sees_imports_inside_functions() -> None:
    """The check can fail: the CLI's lazy imports are found."""
    cli = next(m for m in modules() if m.name == "pts.cli")
    assert "pts.worker.process" in imported_modules(cli.path, cli.name)


def test_tests_and_benchmarks_use_the_namespace() -> None:
    stray = []
    for path in [*REPO.glob("tests/**/*.py"), *REPO.glob("bench/*.py")]:
        for target in imported_modules(path, "tests.x"):
            if target.partition(".")[0] in OLD_TOP_LEVEL:
                stray.append(f"{path.relative_to(REPO)} imports {target}")
    assert stray == []


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built from a copy of the sources (setuptools writes build/ beside them)."""
    out, source = tmp_path_factory.mktemp("wheel"), tmp_path_factory.mktemp("src") / "pts"
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", ".pts", "build", "*.egg-info", "__pycache__", "tests", "bench",
    ))  # fmt: skip
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(out), str(source)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    [built] = out.glob("pts_kafka-*.whl")
    return built


def test_the_wheel_installs_one_top_level_name(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    tops = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert tops == {"pts"}
    for expected in (
        "pts/cli.py", "pts/core/topics.py", "pts/schemas/build.avsc", "pts/sinks/schema.sql",
        "pts/sinks/queries/flaky-tests.sql", "pts/streams/app.py", "pts/worker/process.py",
    ):  # fmt: skip
        assert expected in names


# A plain install: the extras' modules cannot be imported.
WITHOUT_EXTRAS = """
import sys
from importlib.abc import MetaPathFinder
from pts.extras import EXTRA_OF_MODULE

class NotInstalled(MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in EXTRA_OF_MODULE:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, NotInstalled())
sys.argv = ["pts", *sys.argv[1:]]
from pts.cli import main
main()
"""


def pts_without_extras(
    *args: str, env: dict[str, str], stdin: str = ""
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", WITHOUT_EXTRAS, *args],
        input=stdin, capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip


@pytest.fixture
def client_env(unreachable_bootstrap: str, tmp_path: Path) -> dict[str, str]:
    import os

    return {
        **os.environ,
        "PTS_KAFKA_BOOTSTRAP": unreachable_bootstrap,
        "PTS_SUBSET_TIMEOUT_S": "2",
        "PTS_RECORD_TIMEOUT_S": "2",
        "PTS_DATA_DIR": str(tmp_path / "state"),
        "PTS_WORKER_HTTP_PORT": unreachable_bootstrap.rpartition(":")[2],
    }


def test_record_dry_run_runs_on_the_plain_install(client_env: dict[str, str]) -> None:
    report = REPO / "tests" / "fixtures" / "junit" / "pytest.xml"
    done = pts_without_extras(
        "record", "tests", "-p", "shop", "-b", "1", "--dry-run", str(report), env=client_env
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.count('"kind": "test_result"') >= 3


def test_subset_falls_back_on_the_plain_install(client_env: dict[str, str]) -> None:
    done = pts_without_extras(
        "subset", "-p", "shop", "-b", "1", "--target", "20%", env=client_env, stdin="a::x\nb::y\n"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["a::x", "b::y"]
    assert "running all 2 tests" in done.stderr


def test_status_runs_on_the_plain_install(client_env: dict[str, str]) -> None:
    done = pts_without_extras("status", env=client_env)
    assert done.returncode == 3 and "no worker answers" in done.stderr


@pytest.mark.parametrize(
    ("args", "extra"),
    [
        (["worker"], "worker"),
        (["eval", "synthetic", "--limit", "2"], "eval"),
        (["report", "--out", "report.html"], "report"),
    ],
)
def test_a_command_whose_extra_is_missing_names_it(
    client_env: dict[str, str], args: list[str], extra: str
) -> None:
    done = pts_without_extras(*args, env=client_env)
    assert done.returncode == 2
    assert done.stderr.strip().endswith(f"in a clone of pts, pip install '.[{extra}]'"), done.stderr
    assert "Traceback" not in done.stderr
