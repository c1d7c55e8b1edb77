"""The learned selector: per-project history and River model, predict first, then learn.

A project never seen gets the cold-start answer: the candidates in the order given, each
equally likely to fail and 1 s long, so a 20% target keeps the first 20% of the list. Its
candidates are remembered all the same, as every request's are (`ProjectHistory.name_candidates`):
a test a request named is known from the next build on, chosen or not, so the tests a subset
left out do not come back as new and push out the one that failed.

Skipped results are kept as skipped (`ProjectHistory.note_skipped`): the test is known, and
nothing of a skipped result is learned as a pass, by the history, the model or the champions.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, replace
from itertools import compress

import numpy as np

from pts.core.collector import collector_paused
from pts.core.events import (
    Build,
    ChampionDecision,
    PredictionBatch,
    RankedTest,
    ResultColumns,
    SubsetRequest,
    SubsetResponse,
    TestResultBatch,
)
from pts.core.flavors import of_flavor, unflavored
from pts.selection.calibration import Calibration
from pts.selection.candidates import BY_NAME, SCORER_NAMES, Evidence, cost_floor
from pts.selection.champions import Champions
from pts.selection.features import COLUMN, COLUMNS, ChangeView, feature_values, view_change
from pts.selection.history import ProjectHistory, skipped_ids
from pts.selection.models import FailureModel, ModelKind
from pts.selection.policies import Policies
from pts.selection.running_auc import RunningAUC
from pts.selection.safety_nets import DEFAULTS, STARVED, Nets
from pts.selection.safety_nets import apply as apply_nets
from pts.selection.subsets import resized, respond

BUILDS_KEPT = 2000  # builds whose changes are remembered until their results arrive
BATCHES_KEPT = 20000  # batch keys remembered so that a redelivered batch is not learned twice
KNOWN_TESTS_RECENT_BUILDS = 50  # a zero-input subset's candidates ran within these builds
COLD_START = "cold-start"


@dataclass(slots=True)
class _BuildState:
    build: Build | None
    change: ChangeView | None = None  # prepared when first needed, against the history then
    index: int | None = None  # set when its first results are learned


class ProjectSelector:
    """One project's history, model and the builds awaiting results."""

    def __init__(
        self,
        project: str,
        model_kind: ModelKind = "logistic",
        seed: int = 0,
    ) -> None:
        self.project = project
        self.history = ProjectHistory()
        self.model = FailureModel(model_kind, seed)
        self.builds: OrderedDict[str, _BuildState] = OrderedDict()
        self.learned_batches: OrderedDict[tuple[str, str, int], None] = OrderedDict()
        self.auc = RunningAUC()
        self.results_learned = 0
        self.champions = Champions()
        self.calibration = Calibration()
        self.decisions: list[ChampionDecision] = []  # changes of champion not yet taken
        self.last_full_run = ("", 0)  # the build that last ran every candidate, and its index

    def __setstate__(self, state: dict) -> None:
        # Checkpoints written before the windowed AUC held River's ROCAUC: start a new window.
        if not isinstance(state.get("auc"), RunningAUC):
            state["auc"] = RunningAUC()
        # Checkpoints from before champions: the model serves until the records say otherwise.
        state.setdefault("champions", Champions())
        state.setdefault("calibration", Calibration())
        state.setdefault("decisions", [])
        state.setdefault("last_full_run", ("", 0))
        self.__dict__.update(state)

    @property
    def model_name(self) -> str:
        return f"{self.model.kind}@{self.results_learned}"

    @property
    def roc_auc(self) -> float | None:
        """ROC AUC of the last 10,000 predictions; None until they hold a failure and a pass."""
        return self.auc.get()

    def observe_build(self, build: Build) -> str | None:
        """Remember the build's changes; returns what is wrong when the build id was recorded
        before with another commit (the first recording is kept)."""
        known = self.builds.get(build.build_id)
        if known is not None and (known.build is not None or known.index is not None):
            # Seen already, or its results were learned without it: keep them consistent.
            if known.build is not None and known.build.commit_sha != build.commit_sha:
                return (
                    f"build {build.build_id} recorded again with commit {build.commit_sha}; "
                    f"kept its first recording, commit {known.build.commit_sha}"
                )
            return None
        self.builds[build.build_id] = _BuildState(build)
        while len(self.builds) > BUILDS_KEPT:
            self.builds.popitem(last=False)
        return None

    def _change(self, state: _BuildState) -> ChangeView:
        # Prepared on first use, not on arrival: a build may arrive before the results of
        # the build before it are learned, and its view must not depend on that race.
        if state.change is None:
            state.change = view_change(state.build, self.history)
        return state.change

    def _build_state(self, build_id: str) -> _BuildState:
        state = self.builds.get(build_id)
        if state is None:
            state = self.builds[build_id] = _BuildState(None)
        return state

    @collector_paused()  # a ranking's objects die young, freed by reference counting
    def rank(self, request: SubsetRequest, nets: Nets | None = None) -> SubsetResponse:
        """The champion for the request's target orders the candidates; every test's chance
        is the model's, calibrated, so the cut of a confidence target adds up true chances.
        Then the safety nets add what they must (`nets`: the request's over the defaults)."""
        nets = nets if nets is not None else Nets.of_request(request).over(DEFAULTS)
        state = self._build_state(request.build_id)
        change = self._change(state)
        test_ids = list(dict.fromkeys(request.candidates))
        evidence = self._evidence(test_ids, change, request.build_id)
        self._name_candidates(test_ids, request.build_id, state)
        candidate = BY_NAME[self.champions.champion(request.target.kind)]
        order = candidate.order(evidence, cost_floor(evidence))
        # Column by column, and the tests built by `map`: a Python loop over 50,000 candidates
        # that rounds and builds each in turn took a third of the ranking.
        ranked = list(
            map(
                RankedTest,
                np.array(test_ids, dtype=object)[order].tolist(),
                np.round(self.calibration.chances(evidence.learned)[order], 6).tolist(),
                np.round(evidence.duration_s[order], 6).tolist(),
                _reasons(evidence.x)[order].tolist(),
            )
        )
        response = respond(request, ranked, f"{candidate.name}@{self.results_learned}")
        return self._with_nets(request, response, nets, state)

    def _with_nets(
        self, request: SubsetRequest, response: SubsetResponse, nets: Nets, state: _BuildState
    ) -> SubsetResponse:
        """The response with what the safety nets add to its subset; a full run is remembered
        (the same build asking again gets the same answer)."""
        if self._full_run_due(nets, request.build_id):
            nets = replace(nets, full_run=True)
            self.last_full_run = (request.build_id, self.history.builds_learned)
        started = state.build.started_at if state.build is not None else request.requested_at
        now, history, build_id = started.timestamp(), self.history, request.build_id
        ranked, size = apply_nets(
            nets, response.ranked, response.subset_size,
            lambda test_id: history.staleness(test_id, build_id, now),
            lambda test_id: unflavored(test_id, request.flavor),
        )  # fmt: skip
        starved = [t.test_id for t in ranked[response.subset_size : size] if t.reason == STARVED]
        history.note_offered(starved, build_id, history.builds_learned)
        return resized(response, ranked, size)

    def _full_run_due(self, nets: Nets, build_id: str) -> bool:
        if nets.full_run:
            return True
        if nets.full_run_every <= 0:
            return False
        last_build, last_index = self.last_full_run
        return build_id == last_build or (
            self.history.builds_learned - last_index >= nets.full_run_every
        )

    def _evidence(self, test_ids: list[str], change: ChangeView, build_id: str) -> Evidence:
        """The evidence on `test_ids` (each once) in build `build_id`, scored by the model as
        it is now."""
        values = feature_values(test_ids, change, self.history, build_id)
        return self._evidence_of(test_ids, values)

    def _name_candidates(self, test_ids: list[str], build_id: str, state: _BuildState) -> None:
        """Remember a request's candidates: known from the next build on, chosen or not."""
        index = state.index if state.index is not None else self.history.builds_learned
        self.history.name_candidates(test_ids, build_id, index)

    def _evidence_of(self, test_ids: list[str], values: list[float]) -> Evidence:
        """The evidence on `test_ids` whose feature rows are `values`, row after row."""
        history = self.history
        x = np.array(values, dtype=float).reshape(len(test_ids), len(COLUMNS))
        tests = history.tests
        return Evidence(
            test_ids,
            x,
            [tests.get(t) for t in test_ids],
            history.typical_duration,
            learned=np.array(self.model.predict_many(x), dtype=float),
        )

    def take_decisions(self) -> list[ChampionDecision]:
        """The changes of champion since the last call."""
        decisions, self.decisions = self.decisions, []
        return decisions

    def learn(self, batch: TestResultBatch) -> bool:
        """Validate the candidates on, then learn, each result of the batch; False when it was
        already learned."""
        return self._learn(batch) is not None

    def known_tests(self, flavor: str, recent: int = KNOWN_TESTS_RECENT_BUILDS) -> list[str]:
        """The tests of this flavor that ran in the last `recent` builds learned, in id order:
        the candidates of a subset asked for without a list."""
        since = self.history.builds_learned - recent
        return sorted(
            test_id
            for test_id, stats in self.history.tests.items()
            if stats.last_run >= since and of_flavor(test_id, flavor)
        )

    def learn_and_predict(self, batch: TestResultBatch) -> PredictionBatch | None:
        """`learn`, returning what was predicted for each result before it was learned;
        None when the batch was already learned."""
        model_before = self.model_name
        learned = self._learn(batch)
        if learned is None:
            return None
        ran, served, failed = learned
        return PredictionBatch(
            project=batch.project,
            build_id=batch.build_id,
            report=batch.report,
            model=model_before,
            test_ids=ran.test_ids,
            probabilities=tuple(served),
            failed=tuple(failed),
            variants=ran.variants,
            slice=batch.slice,
            report_digest=batch.report_digest,
        )

    def _learn(
        self, batch: TestResultBatch
    ) -> tuple[ResultColumns, list[float], list[bool]] | None:
        """The results that ran, the chance served to each before it was learned, and whether
        each failed; None when the batch was learned before."""
        key = batch.identity
        if key in self.learned_batches:
            return None
        self.learned_batches[key] = None
        while len(self.learned_batches) > BATCHES_KEPT:
            self.learned_batches.popitem(last=False)
        state = self._build_state(batch.build_id)
        change = self._change(state)  # before the build counts as seen
        if state.index is None:
            state.index = self.history.start_build(state.build)
        results = ResultColumns.of(batch.results)
        ran = results.ran()
        failed = ran.failed()
        # Everything is predicted from what was known before the batch (progressive
        # validation): the candidates are scored on it before anything of it is learned.
        # A test that ran in several variants is one candidate of the build, one row here.
        test_ids = list(dict.fromkeys(ran.test_ids))
        values = feature_values(test_ids, change, self.history, batch.build_id)
        evidence = self._evidence_of(test_ids, values)
        width = len(COLUMNS)
        rows = [values[i : i + width] for i in range(0, len(values), width)]
        failing = set(compress(ran.test_ids, failed))
        if state.index > 0:  # the tests of a project's first build are not new tests
            self._learn_first_runs(evidence, failing)
        if failing:
            for decision in self.champions.validate(evidence, failing):
                self.decisions.append(
                    ChampionDecision(
                        project=self.project,
                        metric=decision.metric,
                        previous=decision.previous,
                        champion=decision.champion,
                        records=decision.records,
                        scored=decision.scored,
                        results_learned=self.results_learned,
                    )
                )
        if len(test_ids) < len(ran):  # rows and chances of each result, repeats included
            row_of = {test_id: row for row, test_id in enumerate(test_ids)}
            each = list(map(row_of.__getitem__, ran.test_ids))
            rows, learned = [rows[i] for i in each], evidence.learned[each]
        else:
            learned = evidence.learned
        served = self.calibration.chances(learned).tolist()
        learned = learned.tolist()
        self.model.learn_rows(rows, failed)
        self.calibration.learn_many(learned, failed)
        self.auc.update_many(failed, served)
        started = state.build.started_at if state.build is not None else batch.recorded_at
        at = started.timestamp()
        if len(ran) < len(results):
            self.history.note_skipped(state.index, skipped_ids(results), at)
        self.history.update(state.index, state.build, ran, failed, at)
        self.results_learned += len(ran)
        return ran, served, failed

    def _learn_first_runs(self, evidence: Evidence, failing: set[str]) -> None:
        """Count the first runs of the batch's new tests (`ProjectHistory.new_test_chance`)."""
        new = np.flatnonzero(evidence.new)
        if len(new):
            test_ids = evidence.test_ids
            self.history.learn_first_runs(
                (evidence.column(COLUMN["test_changed"])[new] > 0).tolist(),
                [test_ids[i] in failing for i in new.tolist()],
            )


def _reasons(x: np.ndarray) -> np.ndarray:
    """Why each test ranks where it does, from its feature row: the first signal that holds.
    `new`: the project never saw it; `never-ran`: it is known (named by a request, or only
    skipped) but never ran, so nothing of its own speaks for or against it."""
    column = x.T
    return np.select(
        [
            column[COLUMN["never_run"]] != 0,
            column[COLUMN["runs_log"]] == 0,
            column[COLUMN["test_changed"]] != 0,
            column[COLUMN["co_failure"]] > 0,
            column[COLUMN["last_failed"]] != 0,
            (column[COLUMN["subject_changed"]] != 0) | (column[COLUMN["name_similarity"]] >= 0.5),
        ],
        [
            "new",
            "never-ran",
            "changed",
            "failed-with-these-files",
            "failed-last-run",
            "tests-changed-code",
        ],
        default="model",
    )


class Selector:
    """Ranks for every project it has seen; a `Ranker`."""

    name = "pts"

    def __init__(
        self,
        model_kind: ModelKind = "logistic",
        seed: int = 0,
        scorer: str | None = None,
        policies: Policies | None = None,
    ) -> None:
        """`scorer` pins every project to one candidate scorer (`candidates.SCORERS`) instead
        of its champion: how `pts eval` scores each candidate on its own. `policies`: each
        project's safety nets (`PTS_PROJECTS_FILE`), under what a request asks."""
        if scorer is not None and scorer not in SCORER_NAMES:
            raise ValueError(f"unknown scorer {scorer!r}; choose one of {SCORER_NAMES}")
        self.model_kind = model_kind
        self.seed = seed
        self.scorer = scorer
        self.policies = policies if policies is not None else Policies()
        self.projects: dict[str, ProjectSelector] = {}

    def project(self, project: str) -> ProjectSelector:
        selector = self.projects.get(project)
        if selector is None:
            # A new project starts on the default champions, not on what does best across the
            # projects known here: which projects a worker holds depends on its partitions, and
            # a project's models must not depend on which worker of a group saw it first.
            selector = ProjectSelector(project, self.model_kind, self.seed)
            if self.scorer is not None:
                selector.champions.pin(self.scorer)
            self.projects[project] = selector
        return selector

    def observe_build(self, build: Build) -> str | None:
        return self.project(build.project).observe_build(build)

    def rank(self, request: SubsetRequest) -> SubsetResponse:
        nets = Nets.of_request(request).over(self.policies.of(request.project))
        selector = self.projects.get(request.project)
        if selector is None:
            # Answered in the order given, and its candidates remembered: the next request
            # must not take the tests this subset leaves out for new ones.
            selector = self.project(request.project)
            selector.history.name_candidates(dict.fromkeys(request.candidates), request.build_id, 0)
            state = selector._build_state(request.build_id)
            return selector._with_nets(request, cold_start(request), nets, state)
        return selector.rank(request, nets)

    def learn(self, batch: TestResultBatch) -> bool:
        return self.project(batch.project).learn(batch)

    def learn_and_predict(self, batch: TestResultBatch) -> PredictionBatch | None:
        return self.project(batch.project).learn_and_predict(batch)

    def known_tests(self, project: str, flavor: str = "") -> list[str]:
        selector = self.projects.get(project)
        return selector.known_tests(flavor) if selector is not None else []

    def take_decisions(self, project: str) -> list[ChampionDecision]:
        """The project's changes of champion since the last call."""
        selector = self.projects.get(project)
        return selector.take_decisions() if selector is not None else []

    def knows_build(self, project: str, build_id: str) -> bool:
        """Whether the build's changes were observed (read-only: safe from the event loop)."""
        selector = self.projects.get(project)
        state = selector.builds.get(build_id) if selector is not None else None
        return state is not None and state.build is not None


def cold_start(request: SubsetRequest) -> SubsetResponse:
    """Unknown project: the candidates as given, equally likely to fail, 1 s each."""
    candidates = list(dict.fromkeys(request.candidates))
    chance = 1.0 / len(candidates) if candidates else 0.0
    ranked = [RankedTest(t, chance, 1.0, COLD_START) for t in candidates]
    return respond(request, ranked, COLD_START)
