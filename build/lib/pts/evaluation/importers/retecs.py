"""The RETECS CSV format (Spieker et al. 2017: ABB Paint Control, IOF/ROL, Google GSDTSR).

`;`-separated, header `Id;Name;Duration;CalcPrio;LastRun;LastResults;Verdict;Cycle` (further
columns, e.g. `Priority`, are ignored). One row per test execution: the test id is `Name`, the
duration `Duration` (seconds), `Verdict` 1 is a failure and 0 a pass, and `Cycle` numbers the
CI cycle. Cycles are replayed in increasing `Cycle` order, whatever the order of the rows. The
format has no change data, so builds change nothing, and no reliable build time (`LastRun` is a
test's previous run): builds get stand-in times one minute apart, in cycle order.
"""

from __future__ import annotations

from pathlib import Path

from pts.core.errors import DatasetError
from pts.core.events import Build, Outcome, TestResult
from pts.evaluation.history import Cycle, History
from pts.evaluation.importers._common import number, open_rows, placeholder_time, project_name

RETECS_COLUMNS = (
    *("Id", "Name", "Duration", "CalcPrio"),
    *("LastRun", "LastResults", "Verdict", "Cycle"),
)
_VERDICTS = {"0": Outcome.PASSED, "1": Outcome.FAILED}


def load_retecs(path: Path) -> History:
    """The history in a RETECS CSV file, cycles in increasing `Cycle` order."""
    path = Path(path)
    history_name = path.stem
    project = project_name(history_name)
    by_cycle: dict[int, list[TestResult]] = {}
    for line, row in open_rows(path, RETECS_COLUMNS, delimiter=";"):
        name = row["Name"].strip()
        if not name:
            raise DatasetError(f"{path}:{line}: empty Name")
        verdict = row["Verdict"].strip()
        if verdict not in _VERDICTS:
            raise DatasetError(f"{path}:{line}: Verdict must be 0 or 1, not {verdict!r}")
        cycle = int(number(path, line, "Cycle", row["Cycle"], int))
        by_cycle.setdefault(cycle, []).append(
            TestResult(
                test_id=name,
                suite=history_name,
                name=name,
                outcome=_VERDICTS[verdict],
                duration_s=number(path, line, "Duration", row["Duration"]),
            )
        )
    if not by_cycle:
        raise DatasetError(f"{path}: no test results")
    cycles = [
        Cycle(
            Build(project, f"cycle-{n}", f"cycle-{n}", started_at=placeholder_time(n)),
            by_cycle[n],
        )
        for n in sorted(by_cycle)
    ]
    return History(name=history_name, project=project, cycles=cycles)
