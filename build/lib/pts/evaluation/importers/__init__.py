"""Loading a CI history to replay, whatever its format: `load_history(spec)`.

- `path/to/commons_<p>.csv` (or any CSV with the Commons header): the Apache Commons format;
- a `.csv` whose header is `Id;Name;Duration;CalcPrio;LastRun;LastResults;Verdict;Cycle`: RETECS;
- a directory: a JUnit XML history, one subdirectory per build (see `junit_history`);
- `synthetic` or `synthetic:<seed>`: the seeded synthetic generator.

A bare name (no directory) that is not in the current directory is looked up in the datasets
folder (`PTS_DATASETS_DIR`, passed as `datasets_dir`), so `commons_io.csv` reads the history
kept there.
"""

from __future__ import annotations

from pathlib import Path

from pts.core.errors import DatasetError
from pts.evaluation.history import History
from pts.evaluation.importers._common import project_name
from pts.evaluation.importers.commons import RESULT_COLUMNS, load_commons
from pts.evaluation.importers.junit_history import load_junit_history
from pts.evaluation.importers.retecs import RETECS_COLUMNS, load_retecs

__all__ = ["load_commons", "load_history", "load_junit_history", "load_retecs", "project_name"]


def load_history(spec: str, datasets_dir: Path | None = None) -> History:
    """The history `spec` names, read by the importer its form calls for."""
    if spec == "synthetic" or spec.startswith("synthetic:"):
        from pts.evaluation.synthetic import generate

        seed = spec.partition(":")[2] or "0"
        if not seed.isdigit():
            raise DatasetError(f"{spec}: the synthetic seed must be a non-negative integer")
        return generate(seed=int(seed))
    path = _dataset_path(spec, datasets_dir)
    if path.is_dir():
        return load_junit_history(path)
    if not path.is_file():
        raise DatasetError(f"{spec}: no such file or directory")
    if path.stem.endswith("_changes") and path.name.startswith("commons_"):
        raise DatasetError(f"{spec}: a changes file; pass the results file commons_<p>.csv")
    first = _first_line(path)
    if path.suffix.lower() == ".csv" and first.startswith(";".join(RETECS_COLUMNS)):
        return load_retecs(path)
    if path.suffix.lower() == ".csv" and set(RESULT_COLUMNS) <= set(first.split(",")):
        return load_commons(path)
    raise DatasetError(
        f"{spec}: not a known CI history (a Commons or RETECS CSV, a JUnit history directory, "
        "or synthetic[:seed])"
    )


def _dataset_path(spec: str, datasets_dir: Path | None) -> Path:
    """`spec` as a path; a bare name missing here falls back to the datasets folder."""
    path = Path(spec)
    if path.exists() or path.name != spec:
        return path
    if datasets_dir is None:
        raise DatasetError(
            f"{spec}: no such file or directory in {Path.cwd()} (set PTS_DATASETS_DIR to the "
            "folder of your CI histories to use bare names)"
        )
    kept = datasets_dir / spec
    if not kept.exists():
        raise DatasetError(
            f"{spec}: no such file or directory in {Path.cwd()} or in {datasets_dir} "
            "(PTS_DATASETS_DIR)"
        )
    return kept


def _first_line(path: Path) -> str:
    try:
        with path.open(encoding="utf-8-sig") as file:
            return file.readline().strip()
    except (OSError, UnicodeDecodeError) as e:
        raise DatasetError(f"{path}: cannot read: {e}") from e
