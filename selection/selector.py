"""The learned selector: per-project history and River model, predict first, then learn.

A project never seen gets the cold-start answer: the candidates in the order given, each
equally likely to fail and 1 s long, so a 20% target keeps the first 20% of the list.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from pts.core.events import (
    Build,
    Prediction,
    PredictionBatch,
    RankedTest,
    SubsetRequest,
    SubsetResponse,
    TargetKind,
    TestResultBatch,
)
from pts.core.flavors import of_flavor
from pts.selection.features import ChangeView, features, view_change
from pts.selection.history import ProjectHistory
from pts.selection.models import FailureModel, ModelKind
from pts.selection.running_auc import RunningAUC
from pts.selection.subsets import respond

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

    def __init__(self, project: str, model_kind: ModelKind = "logistic", seed: int = 0) -> None:
        self.project = project
        self.history = ProjectHistory()
        self.model = FailureModel(model_kind, seed)
        self.builds: OrderedDict[str, _BuildState] = OrderedDict()
        self.learned_batches: OrderedDict[tuple[str, str, int], None] = OrderedDict()
        self.auc = RunningAUC()
        self.results_learned = 0

    def __setstate__(self, state: dict) -> None:
        # Checkpoints written before the windowed AUC held River's ROCAUC: start a new window.
        if not isinstance(state.get("auc"), RunningAUC):
            state["auc"] = RunningAUC()
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

    def rank(self, request: SubsetRequest) -> SubsetResponse:
        change = self._change(self._build_state(request.build_id))
        scored = [self._score(test_id, change) for test_id in dict.fromkeys(request.candidates)]
        time_bound = request.target.kind is not TargetKind.CONFIDENCE
        floor = _cost_floor([test for test, _ in scored])
        scored.sort(key=lambda pair: _order_key(*pair, time_bound, floor))
        return respond(request, [test for test, _ in scored], self.model_name)

    def _score(self, test_id: str, change: ChangeView) -> tuple[RankedTest, Closeness]:
        """The ranked test, and how closely it relates to the change (to break ties)."""
        x = features(test_id, change, self.history)
        test = RankedTest(
            test_id=test_id,
            failure_probability=round(self.model.predict_proba(x), 6),
            expected_duration_s=round(self.history.expected_duration(test_id), 6),
            reason=_reason(x),
        )
        return test, (x["subject_changed"], x["name_similarity"], x["directory_similarity"])

    def learn(self, batch: TestResultBatch) -> bool:
        """Predict, then learn, each result of the batch; False when it was already learned."""
        return self._learn(batch, None) is not None

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
        return self._learn(batch, [])

    def _learn(
        self, batch: TestResultBatch, predictions: list[Prediction] | None
    ) -> PredictionBatch | None:
        # Predictions are collected only when asked for: they cost ~9% of learning's time.
        key = batch.identity
        if key in self.learned_batches:
            return None
        model_before = self.model_name
        self.learned_batches[key] = None
        while len(self.learned_batches) > BATCHES_KEPT:
            self.learned_batches.popitem(last=False)
        state = self._build_state(batch.build_id)
        change = self._change(state)  # before the build counts as seen
        if state.index is None:
            state.index = self.history.start_build(state.build)
        ran = [r for r in batch.results if r.ran]
        for result in ran:
            x = features(result.test_id, change, self.history)
            probability = self.model.predict_proba(x)
            self.auc.update(result.failed, probability)
            self.model.learn(x, result.failed)
            if predictions is not None:
                predictions.append(
                    Prediction(result.test_id, probability, result.failed, result.variant)
                )
        self.history.update(state.index, state.build, ran)
        self.results_learned += len(ran)
        return PredictionBatch(
            project=batch.project,
            build_id=batch.build_id,
            report=batch.report,
            model=model_before,
            predictions=tuple(predictions or ()),
            slice=batch.slice,
            report_digest=batch.report_digest,
        )


# The subject of the test changed; name and directory similarity to the changed code.
Closeness = tuple[float, ...]
MIN_COST_S = 0.1  # below this, a test's run time is noise next to the runner's own overhead


def _cost_floor(ranked: list[RankedTest]) -> float:
    """The least cost a test is charged in a time-bound order: the median expected duration.

    Density (chance per second) is the right order when chances are exact; they are estimates,
    and dividing by a tiny duration turns their noise into large scores. With the floor a test
    shorter than a typical one is ranked by its chance alone: cheapness cannot buy more than
    that, while long tests still pay their full time.
    """
    durations = sorted(t.expected_duration_s for t in ranked)
    median = durations[len(durations) // 2] if durations else 0.0
    return max(MIN_COST_S, median)


def _order_key(
    test: RankedTest, closeness: Closeness, time_bound: bool, floor: float
) -> tuple[int, float, Closeness, str]:
    """New and changed tests first; then by failure chance, per second when time is the limit;
    equal chances (new tests of a project without history, say) by closeness to the change."""
    first = 0 if test.reason in ("new", "changed") else 1
    score = test.failure_probability
    if time_bound:
        score /= max(test.expected_duration_s, floor)
    return (first, -score, tuple(-c for c in closeness), test.test_id)


def _reason(x: dict[str, float]) -> str:
    if x["never_run"]:
        return "new"
    if x["test_changed"]:
        return "changed"
    if x["co_failure"] > 0:
        return "failed-with-these-files"
    if x["last_failed"]:
        return "failed-last-run"
    if x["subject_changed"] or x["name_similarity"] >= 0.5:
        return "tests-changed-code"
    return "model"


class Selector:
    """Ranks for every project it has seen; a `Ranker`."""

    name = "pts"

    def __init__(self, model_kind: ModelKind = "logistic", seed: int = 0) -> None:
        self.model_kind = model_kind
        self.seed = seed
        self.projects: dict[str, ProjectSelector] = {}

    def project(self, project: str) -> ProjectSelector:
        selector = self.projects.get(project)
        if selector is None:
            selector = self.projects[project] = ProjectSelector(project, self.model_kind, self.seed)
        return selector

    def observe_build(self, build: Build) -> str | None:
        return self.project(build.project).observe_build(build)

    def rank(self, request: SubsetRequest) -> SubsetResponse:
        selector = self.projects.get(request.project)
        if selector is None:
            return cold_start(request)
        return selector.rank(request)

    def learn(self, batch: TestResultBatch) -> bool:
        return self.project(batch.project).learn(batch)

    def learn_and_predict(self, batch: TestResultBatch) -> PredictionBatch | None:
        return self.project(batch.project).learn_and_predict(batch)

    def known_tests(self, project: str, flavor: str = "") -> list[str]:
        selector = self.projects.get(project)
        return selector.known_tests(flavor) if selector is not None else []

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
