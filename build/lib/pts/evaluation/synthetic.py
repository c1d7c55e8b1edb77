"""A seeded synthetic CI history, to exercise the replay where real failures are too rare.

The repository has `modules` modules, each with 4 to 10 source files `src/<module>/<name>.py`
and `tests_per_module` test files `tests/<module>/Test<Name><n>.py` (one test id per file).
Each test depends on 2 to 4 files of its own module and, for about half the tests, on 1 or 2
files of other modules: this dependency map is the ground truth that a change-aware selector
can learn and that the history-only baselines cannot see.

Every cycle is one commit touching 1 to 5 source files; three "hot" modules are picked five
times as often as the others. Each changed file introduces a fault with probability
`FAULT_RATE`: a random subset (1 to a third) of the tests that depend on the file then fail for
1 to 3 cycles, until the fault is fixed. About 5 % of the tests are flaky and fail at random with
probability 2 to 5 % per run. New tests appear over time (their file is part of the commit's
changes), and tests are renamed occasionally: the old id disappears, a new one appears with the
same dependencies and behaviour. Durations are log-normal per test (median about 1 s) with a
log-normal noise on every run. The same seed always gives the same history.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from pts.core.events import Build, ChangedFile, Outcome, TestResult
from pts.evaluation.history import Cycle, History

FAULT_RATE = 0.04
FLAKY_SHARE = 0.05
NEW_TEST_RATE = 0.1  # chance per cycle that a test is added
RENAME_RATE = 0.02  # chance per cycle that a test is renamed
HOT_MODULES, HOT_WEIGHT = 3, 5.0
START = datetime(2024, 1, 1, tzinfo=UTC)
_WORDS = ("Parser", "Cache", "Codec", "Index", "Client", "Store", "Query", "Config", "Stream")


@dataclass
class _Test:
    test_id: str
    module: str
    depends_on: frozenset[str]
    median_s: float
    flaky: float  # probability of a random failure per run; 0 when not flaky


@dataclass
class _Fault:
    tests: list[_Test]
    until: int  # last cycle index at which the fault still makes its tests fail


@dataclass
class _Repository:
    rng: random.Random
    files: dict[str, list[str]]  # module -> its source files
    tests: list[_Test] = field(default_factory=list)
    made: int = 0  # test files made so far, for unique names

    def new_test(self, module: str) -> _Test:
        rng, self.made = self.rng, self.made + 1
        own = self.files[module]
        deps = set(rng.sample(own, min(len(own), rng.randint(2, 4))))
        if rng.random() < 0.5:
            for other in rng.sample(sorted(self.files), 2)[: rng.randint(1, 2)]:
                deps.add(rng.choice(self.files[other]))
        test = _Test(
            test_id=f"tests/{module}/Test{rng.choice(_WORDS)}{self.made}.py",
            module=module,
            depends_on=frozenset(deps),
            median_s=rng.lognormvariate(0.0, 1.0),
            flaky=rng.uniform(0.02, 0.05) if rng.random() < FLAKY_SHARE else 0.0,
        )
        self.tests.append(test)
        return test


def generate(
    seed: int = 0, cycles: int = 300, modules: int = 12, tests_per_module: int = 15
) -> History:
    """A synthetic history of `cycles` cycles; the same arguments give the same history."""
    rng = random.Random(seed)
    names = [f"m{i:02d}" for i in range(modules)]
    files = {m: [f"src/{m}/f{j}.py" for j in range(rng.randint(4, 10))] for m in names}
    repo = _Repository(rng, files)
    for module in names:
        for _ in range(tests_per_module):
            repo.new_test(module)
    weights = [HOT_WEIGHT if i < HOT_MODULES else 1.0 for i in range(modules)]
    faults: list[_Fault] = []
    history = History(name=f"synthetic-{seed}", project="synthetic")
    parent: str | None = None
    for index in range(cycles):
        changed = _commit(rng, names, weights, files)
        changed += _evolve(rng, repo, names)
        for change in changed:
            faults += _faults(rng, repo, change.path, index)
        faults = [f for f in faults if f.until >= index]
        failing = {id(t) for f in faults for t in f.tests}
        results = [_run(rng, t, id(t) in failing) for t in repo.tests]
        sha = f"{rng.getrandbits(160):040x}"
        minutes = 30 * index + rng.randint(0, 20)
        build = Build(
            project="synthetic",
            build_id=f"b{index:04d}",
            commit_sha=sha,
            started_at=START + timedelta(minutes=minutes),
            base_sha=parent,
            commits=(sha,),
            changed_files=tuple(changed),
        )
        history.cycles.append(Cycle(build, results))
        parent = sha
    return history


def _commit(
    rng: random.Random, names: list[str], weights: list[float], files: dict[str, list[str]]
) -> list[ChangedFile]:
    """1 to 5 changed source files, mostly from one module picked with the hot weights."""
    module = rng.choices(names, weights)[0]
    paths: list[str] = []
    for _ in range(rng.randint(1, 5)):
        other = module if rng.random() < 0.7 else rng.choices(names, weights)[0]
        path = rng.choice(files[other])
        if path not in paths:
            paths.append(path)
    return [ChangedFile(p, rng.randint(1, 40), rng.randint(0, 20)) for p in paths]


def _evolve(rng: random.Random, repo: _Repository, names: list[str]) -> list[ChangedFile]:
    """Add or rename a test now and then; the changed test files."""
    changed: list[ChangedFile] = []
    if rng.random() < NEW_TEST_RATE:
        test = repo.new_test(rng.choice(names))
        changed.append(ChangedFile(test.test_id, rng.randint(10, 80), 0))
    if rng.random() < RENAME_RATE and repo.tests:
        test = rng.choice(repo.tests)
        old, repo.made = test.test_id, repo.made + 1
        test.test_id = f"tests/{test.module}/Test{rng.choice(_WORDS)}{repo.made}.py"
        changed += [ChangedFile(old, 0, 30), ChangedFile(test.test_id, 30, 0)]
    return changed


def _faults(rng: random.Random, repo: _Repository, path: str, index: int) -> list[_Fault]:
    """A fault in the changed file `path`, with probability FAULT_RATE, if any test covers it."""
    if not path.startswith("src/") or rng.random() >= FAULT_RATE:
        return []
    covering = [t for t in repo.tests if path in t.depends_on]
    if not covering:
        return []
    hit = rng.sample(covering, rng.randint(1, max(1, len(covering) // 3)))
    return [_Fault(hit, until=index + rng.randint(1, 3) - 1)]


def _run(rng: random.Random, test: _Test, broken: bool) -> TestResult:
    failed = broken or (test.flaky > 0 and rng.random() < test.flaky)
    module, name = test.module, test.test_id.rsplit("/", 1)[-1].removesuffix(".py")
    return TestResult(
        test_id=test.test_id,
        suite=module,
        name=name,
        outcome=Outcome.FAILED if failed else Outcome.PASSED,
        duration_s=round(test.median_s * rng.lognormvariate(0.0, 0.2), 4),
        message="synthetic fault" if broken else ("flaky" if failed else ""),
    )
