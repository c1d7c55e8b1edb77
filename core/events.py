"""The events pts records and answers, as Python values. Their wire contracts are `schemas/*.avsc`.

`to_record` gives the dict an Avro schema expects; each class's `from_record` takes it back.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from itertools import compress
from operator import itemgetter
from typing import Any, Self, overload

from pts.core.errors import ConfigError


def utc_now() -> datetime:
    return datetime.now(UTC)


def to_record(event: Any) -> dict[str, Any]:
    """The Avro-ready dict of an event (nested events become dicts, tuples become lists): the
    event's own `to_record` where it has one, written by hand for speed."""
    own = getattr(event, "to_record", None)
    if own is not None:
        return own()
    return dataclasses.asdict(event, dict_factory=_listify)


def _listify(items: list[tuple[str, Any]]) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in items}


@dataclass(frozen=True, slots=True)
class ChangedFile:
    path: str
    added: int = 0
    deleted: int = 0

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Self:
        return cls(record["path"], record.get("added", 0), record.get("deleted", 0))


def _files(records: list[dict[str, Any]]) -> tuple[ChangedFile, ...]:
    return tuple(ChangedFile.from_record(r) for r in records)


@dataclass(frozen=True, slots=True)
class Commit:
    project: str
    sha: str
    committed_at: datetime
    parents: tuple[str, ...] = ()
    author: str = ""
    message: str = ""
    changed_files: tuple[ChangedFile, ...] = ()

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Self:
        return cls(
            project=record["project"],
            sha=record["sha"],
            committed_at=record["committed_at"],
            parents=tuple(record.get("parents", ())),
            author=record.get("author", ""),
            message=record.get("message", ""),
            changed_files=_files(record.get("changed_files", [])),
        )


@dataclass(frozen=True, slots=True)
class Build:
    project: str
    build_id: str
    commit_sha: str
    started_at: datetime = field(default_factory=utc_now)
    base_sha: str | None = None
    commits: tuple[str, ...] = ()
    changed_files: tuple[ChangedFile, ...] = ()

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Self:
        return cls(
            project=record["project"],
            build_id=record["build_id"],
            commit_sha=record["commit_sha"],
            started_at=record["started_at"],
            base_sha=record.get("base_sha"),
            commits=tuple(record.get("commits", ())),
            changed_files=_files(record.get("changed_files", [])),
        )


class Outcome(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"
    SKIPPED = "skipped"


@dataclass(frozen=True, slots=True)
class TestResult:
    __test__ = False  # not a pytest class

    test_id: str
    suite: str
    name: str
    outcome: Outcome
    duration_s: float = 0.0
    message: str = ""
    variant: str = ""  # tells repeats of the test in one report apart (see junit_reports)

    @property
    def failed(self) -> bool:
        """Failed or errored: the build would go red because of this test."""
        return self.outcome in (Outcome.FAILED, Outcome.ERROR)

    @property
    def ran(self) -> bool:
        return self.outcome is not Outcome.SKIPPED

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Self:
        # Positional, and the outcome by lookup: the worker builds one per result it learns.
        return cls(
            record["test_id"],
            record["suite"],
            record["name"],
            _OUTCOMES[record["outcome"]],
            record.get("duration_s", 0.0),
            record.get("message", ""),
            record.get("variant", ""),
        )

    def to_record(self) -> dict[str, Any]:
        return {
            "test_id": self.test_id,
            "suite": self.suite,
            "name": self.name,
            "outcome": self.outcome,
            "duration_s": self.duration_s,
            "message": self.message,
            "variant": self.variant,
        }


_OUTCOMES = {outcome.value: outcome for outcome in Outcome}
_RESULT_FIELDS = ("test_id", "suite", "name", "outcome", "duration_s", "message", "variant")
_result_fields_of = itemgetter(*_RESULT_FIELDS)
RESULT_COLUMNS = ("test_ids", "suites", "names", "outcomes", "durations_s", "messages", "variants")
"""A `TestResultBatch` record's columns (v4), one per field of `TestResult`, in its order."""


class ResultColumns(Sequence[TestResult]):
    """Results held as columns, one tuple per field of `TestResult`: what a decoded batch holds,
    so that the worker learns from a message without building an object per result. It reads
    as the sequence of `TestResult`s it stands for and equals any sequence of the same results.

    >>> columns = ResultColumns.of([TestResult("a", "a", "", Outcome.FAILED, 1.5)])
    >>> columns.test_ids, columns.failed(), columns[0].duration_s
    (('a',), [True], 1.5)
    """

    __slots__ = ("test_ids", "suites", "names", "outcomes", "durations_s", "messages", "variants")

    def __init__(
        self,
        test_ids: Sequence[str],
        suites: Sequence[str],
        names: Sequence[str],
        outcomes: Sequence[Outcome],
        durations_s: Sequence[float],
        messages: Sequence[str],
        variants: Sequence[str],
    ) -> None:
        columns = (test_ids, suites, names, outcomes, durations_s, messages, variants)
        if len({len(column) for column in columns}) > 1:
            raise ValueError(f"columns of different lengths: {[len(c) for c in columns]}")
        self.test_ids: tuple[str, ...] = tuple(test_ids)
        self.suites: tuple[str, ...] = tuple(suites)
        self.names: tuple[str, ...] = tuple(names)
        self.outcomes: tuple[Outcome, ...] = tuple(outcomes)
        self.durations_s: tuple[float, ...] = tuple(durations_s)
        self.messages: tuple[str, ...] = tuple(messages)
        self.variants: tuple[str, ...] = tuple(variants)

    @classmethod
    def of(cls, results: Iterable[TestResult]) -> ResultColumns:
        """The results as columns (themselves when they are columns already)."""
        if isinstance(results, ResultColumns):
            return results
        return cls._of_rows(
            [
                (r.test_id, r.suite, r.name, r.outcome, r.duration_s, r.message, r.variant)
                for r in results
            ]  # fmt: skip
        )

    @classmethod
    def from_records(cls, records: Sequence[Mapping[str, Any]]) -> ResultColumns:
        """From `TestResult` records as the wire decodes them (every field present) or as
        written by hand (the fields with defaults may be left out)."""
        try:
            rows = list(map(_result_fields_of, records))
        except KeyError:
            rows = [
                (r["test_id"], r["suite"], r["name"], r["outcome"], r.get("duration_s", 0.0),
                 r.get("message", ""), r.get("variant", ""))
                for r in records
            ]  # fmt: skip
        if not rows:
            return cls._of_rows(rows)
        test_ids, suites, names, outcomes, durations, messages, variants = zip(*rows, strict=True)
        return cls(
            test_ids, suites, names, tuple(map(_OUTCOMES.__getitem__, outcomes)), durations,
            messages, variants,
        )  # fmt: skip

    @classmethod
    def from_columns(cls, record: Mapping[str, Any]) -> ResultColumns:
        """From the columns of a `TestResultBatch` record (`RESULT_COLUMNS`)."""
        test_ids, suites, names, outcomes, durations, messages, variants = (
            record[name] for name in RESULT_COLUMNS
        )
        outcomes = tuple(map(_OUTCOMES.__getitem__, outcomes))
        return cls(test_ids, suites, names, outcomes, durations, messages, variants)

    def to_columns(self) -> dict[str, tuple[Any, ...]]:
        """The columns of a `TestResultBatch` record."""
        return dict(zip(RESULT_COLUMNS, self._columns(), strict=True))

    @classmethod
    def _of_rows(cls, rows: list[tuple[Any, ...]]) -> ResultColumns:
        if not rows:
            return cls((), (), (), (), (), (), ())
        return cls(*zip(*rows, strict=True))

    def ran(self) -> ResultColumns:
        """The results that ran (`TestResult.ran`): all but the skipped."""
        outcomes = self.outcomes
        if Outcome.SKIPPED not in outcomes:
            return self
        keep = [outcome is not Outcome.SKIPPED for outcome in outcomes]
        return ResultColumns(*(tuple(compress(column, keep)) for column in self._columns()))

    def failed(self) -> list[bool]:
        """`TestResult.failed` of each result."""
        failure, error = Outcome.FAILED, Outcome.ERROR
        return [outcome is failure or outcome is error for outcome in self.outcomes]

    def _columns(self) -> tuple[tuple[Any, ...], ...]:
        return (self.test_ids, self.suites, self.names, self.outcomes, self.durations_s,
                self.messages, self.variants)  # fmt: skip

    def __len__(self) -> int:
        return len(self.test_ids)

    @overload
    def __getitem__(self, index: int) -> TestResult: ...

    @overload
    def __getitem__(self, index: slice) -> ResultColumns: ...

    def __getitem__(self, index: int | slice) -> TestResult | ResultColumns:
        if isinstance(index, slice):
            return ResultColumns(*(column[index] for column in self._columns()))
        return TestResult(*(column[index] for column in self._columns()))

    def __iter__(self) -> Iterator[TestResult]:
        return map(TestResult, *self._columns())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ResultColumns):
            return self._columns() == other._columns()
        if isinstance(other, Sequence) and not isinstance(other, str):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self))  # as the tuple of the same results

    def __repr__(self) -> str:
        return f"ResultColumns({list(self)!r})"


@dataclass(frozen=True, slots=True)
class TestResultBatch:
    __test__ = False

    project: str
    build_id: str
    report: str  # the report's path, relative to the working directory when under it
    results: Sequence[TestResult]  # a tuple, or the columns a decoded batch holds
    recorded_at: datetime = field(default_factory=utc_now)
    slice: int = 0
    slices: int = 1
    report_digest: str = ""  # of the report's bytes; with build, report and slice, the identity
    flavor: str = ""  # canonical key=value,... (core/flavors.py); the test ids carry it too

    @property
    def identity(self) -> tuple[str, str, int]:
        """What makes a batch this batch: the same report recorded again has the same one.

        >>> TestResultBatch("p", "b1", "a/junit.xml", (), report_digest="ab12").identity
        ('b1', 'a/junit.xml#ab12', 0)
        """
        report = f"{self.report}#{self.report_digest}" if self.report_digest else self.report
        return (self.build_id, report, self.slice)

    def to_record(self) -> dict[str, Any]:
        # By hand: dataclasses.asdict took 13 µs per result of a large report. The results
        # travel as columns (v4); `results`, their form before, stays empty.
        return {
            "project": self.project,
            "build_id": self.build_id,
            "report": self.report,
            "results": [],
            **ResultColumns.of(self.results).to_columns(),
            "recorded_at": self.recorded_at,
            "slice": self.slice,
            "slices": self.slices,
            "report_digest": self.report_digest,
            "flavor": self.flavor,
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Self:
        return cls(
            project=record["project"],
            build_id=record["build_id"],
            report=record["report"],
            results=result_columns_of(record),
            recorded_at=record["recorded_at"],
            slice=record.get("slice", 0),
            slices=record.get("slices", 1),
            report_digest=record.get("report_digest", ""),
            flavor=record.get("flavor", ""),
        )


def result_columns_of(record: Mapping[str, Any]) -> ResultColumns:
    """The results of a `TestResultBatch` record: its columns, or the records a writer before
    v4 sent (a record from a v4 writer has no `results`; one from before, no columns)."""
    if holds_result_columns(record):
        return ResultColumns.from_columns(record)
    return ResultColumns.from_records(record.get("results", ()))


def holds_result_columns(record: Mapping[str, Any]) -> bool:
    """Whether a `TestResultBatch` record holds its results as columns (written since v4)."""
    return not record.get("results") and "test_ids" in record


@dataclass(frozen=True, slots=True)
class Prediction:
    test_id: str
    probability: float
    failed: bool
    variant: str = ""


@dataclass(frozen=True, slots=True)
class ChampionDecision:
    """A project's serving ranker changed on a metric, and the records that decided it."""

    project: str
    metric: str  # "apfd" serves confidence targets, "apfdc" time targets
    previous: str
    champion: str
    records: dict[str, float]  # candidate -> its record on the metric at the decision
    scored: int  # recent failing builds the decision rests on
    results_learned: int
    decided_at: datetime = field(default_factory=utc_now)

    def to_record(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in self.__dataclass_fields__}

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Self:
        return cls(**{f: record[f] for f in cls.__dataclass_fields__})


@dataclass(frozen=True, slots=True)
class PredictionBatch:
    """What the model predicted for a learned batch's results, before learning them: one
    column per field, a value per result that ran, in the batch's order."""

    project: str
    build_id: str
    report: str
    model: str
    test_ids: tuple[str, ...]
    probabilities: tuple[float, ...]
    failed: tuple[bool, ...]
    variants: tuple[str, ...]
    predicted_at: datetime = field(default_factory=utc_now)
    slice: int = 0
    report_digest: str = ""

    @classmethod
    def of(
        cls, project: str, build_id: str, report: str, model: str,
        predictions: Sequence[Prediction], **rest: Any,
    ) -> Self:  # fmt: skip
        """From one `Prediction` per result."""
        return cls(
            project, build_id, report, model,
            tuple(p.test_id for p in predictions), tuple(p.probability for p in predictions),
            tuple(p.failed for p in predictions), tuple(p.variant for p in predictions), **rest,
        )  # fmt: skip

    @property
    def predictions(self) -> tuple[Prediction, ...]:
        return tuple(map(Prediction, self.test_ids, self.probabilities, self.failed, self.variants))

    def to_record(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "build_id": self.build_id,
            "report": self.report,
            "report_digest": self.report_digest,
            "slice": self.slice,
            "model": self.model,
            "predicted_at": self.predicted_at,
            "predictions": [],
            "test_ids": self.test_ids,
            "variants": self.variants,
            "probabilities": self.probabilities,
            "failed": self.failed,
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Self:
        columns = prediction_columns(record)
        return cls(
            project=record["project"],
            build_id=record["build_id"],
            report=record["report"],
            model=record["model"],
            test_ids=tuple(columns["test_ids"]),
            probabilities=tuple(columns["probabilities"]),
            failed=tuple(columns["failed"]),
            variants=tuple(columns["variants"]),
            predicted_at=record["predicted_at"],
            slice=record.get("slice", 0),
            report_digest=record.get("report_digest", ""),
        )


PREDICTION_COLUMNS = ("test_ids", "variants", "probabilities", "failed")


def prediction_columns(record: Mapping[str, Any]) -> dict[str, Sequence[Any]]:
    """A PredictionBatch record's columns, also of a record written by a worker from before
    the columns (one `predictions` record per result).

    >>> prediction_columns({"predictions": [
    ...     {"test_id": "t", "variant": "", "probability": 0.5, "failed": True}]})["failed"]
    [True]
    """
    rows = record.get("predictions")
    if not rows:
        return {name: record.get(name, ()) for name in PREDICTION_COLUMNS}
    return {
        "test_ids": [row["test_id"] for row in rows],
        "variants": [row.get("variant", "") for row in rows],
        "probabilities": [row["probability"] for row in rows],
        "failed": [row["failed"] for row in rows],
    }


class TargetKind(StrEnum):
    SHARE_OF_TIME = "share_of_time"
    DURATION = "duration"
    CONFIDENCE = "confidence"


_TARGET = re.compile(r"^\s*(?P<number>\d+(?:\.\d+)?)\s*(?P<unit>%c|%|s|m|h)\s*$")
_SECONDS = {"s": 1, "m": 60, "h": 3600}


@dataclass(frozen=True, slots=True)
class Target:
    """How much of the suite a subset should cover.

    >>> Target.parse("20%")
    Target(kind=<TargetKind.SHARE_OF_TIME: 'share_of_time'>, value=0.2)
    >>> Target.parse("5m").value
    300.0
    >>> Target.parse("90%c").kind.value
    'confidence'
    """

    kind: TargetKind
    value: float

    @classmethod
    def parse(cls, text: str) -> Self:
        match = _TARGET.match(text)
        if match is None:
            raise ConfigError(
                f"target {text!r} is not a share of time (20%), a duration (300s, 5m, 1h) "
                "or a confidence (90%c)"
            )
        number, unit = float(match["number"]), match["unit"]
        if unit in _SECONDS:
            if number <= 0:
                raise ConfigError(f"target {text!r}: a duration must be positive")
            return cls(TargetKind.DURATION, number * _SECONDS[unit])
        if not 0 < number <= 100:
            raise ConfigError(f"target {text!r}: a share must be in (0%, 100%]")
        kind = TargetKind.CONFIDENCE if unit == "%c" else TargetKind.SHARE_OF_TIME
        return cls(kind, number / 100)

    def __str__(self) -> str:
        if self.kind is TargetKind.DURATION:
            return f"{self.value:g}s"
        return f"{self.value * 100:g}%" + ("c" if self.kind is TargetKind.CONFIDENCE else "")


@dataclass(frozen=True, slots=True)
class SubsetRequest:
    request_id: str
    project: str
    build_id: str
    candidates: tuple[str, ...]
    target: Target
    reply_topic: str
    requested_at: datetime = field(default_factory=utc_now)
    part: int = 0  # a large request travels in parts; candidates is this part's share
    parts: int = 1
    flavor: str = ""  # the candidates carry it as a suffix (core/flavors.py)
    observe: bool = False  # observation mode: the build runs everything; the subset is recorded
    known_tests: bool = False  # no candidate list: the project's recent tests of this flavor
    catch_up_s: float = 2.0  # how long the worker may wait for the model to catch up
    reply_columns: bool = False  # the client reads an answer's ranked tests as columns
    # Safety nets (`selection/safety_nets.py`); -1: the project's setting, else the default.
    must_run: tuple[str, ...] = ()  # globs on test ids
    starve_after_builds: int = -1
    starve_after_days: float = -1.0
    full_run_every: int = -1
    full_run: bool = False

    def to_record(self) -> dict[str, Any]:
        return {
            "must_run": list(self.must_run),
            "starve_after_builds": self.starve_after_builds,
            "starve_after_days": self.starve_after_days,
            "full_run_every": self.full_run_every,
            "full_run": self.full_run,
            "catch_up_s": self.catch_up_s,
            "reply_columns": self.reply_columns,
            "part": self.part,
            "parts": self.parts,
            "flavor": self.flavor,
            "observe": self.observe,
            "known_tests": self.known_tests,
            "request_id": self.request_id,
            "project": self.project,
            "build_id": self.build_id,
            "candidates": list(self.candidates),
            "target_kind": self.target.kind.value,
            "target_value": self.target.value,
            "reply_topic": self.reply_topic,
            "requested_at": self.requested_at,
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Self:
        return cls(
            request_id=record["request_id"],
            project=record["project"],
            build_id=record["build_id"],
            candidates=tuple(record["candidates"]),
            target=Target(TargetKind(record["target_kind"]), record["target_value"]),
            reply_topic=record["reply_topic"],
            requested_at=record["requested_at"],
            part=record.get("part", 0),
            parts=record.get("parts", 1),
            flavor=record.get("flavor", ""),
            observe=record.get("observe", False),
            known_tests=record.get("known_tests", False),
            catch_up_s=record.get("catch_up_s", 2.0),
            reply_columns=record.get("reply_columns", False),
            must_run=tuple(record.get("must_run", ())),
            starve_after_builds=record.get("starve_after_builds", -1),
            starve_after_days=record.get("starve_after_days", -1.0),
            full_run_every=record.get("full_run_every", -1),
            full_run=record.get("full_run", False),
        )


@dataclass(frozen=True, slots=True)
class RankedTest:
    test_id: str
    failure_probability: float
    expected_duration_s: float
    reason: str = ""


@dataclass(frozen=True, slots=True)
class SubsetResponse:
    request_id: str
    project: str
    build_id: str
    ranked: tuple[RankedTest, ...]
    subset_size: int
    expected_share_of_time: float
    expected_share_of_failures: float
    model: str
    answered_at: datetime = field(default_factory=utc_now)
    part: int = 0  # a large answer travels in parts; ranked is this part's share
    parts: int = 1
    candidates: int = -1  # in the whole answer; -1: len(ranked), as before parts existed
    flavor: str = ""
    observe: bool = False  # the build runs every test; the subset is what it would have run
    results_behind: int = 0  # results written before the request that the model had not learned
    # On the wire, the ranked tests as columns (the request's reply_columns), not a record each:
    # a 10,000-test answer encodes and decodes in a third of the time.
    columns: bool = False

    @property
    def subset(self) -> list[str]:
        return [t.test_id for t in self.ranked[: self.subset_size]]

    def to_record(self) -> dict[str, Any]:
        # By hand: dataclasses.asdict took 12 ms for a 1,000-test answer, on the model thread.
        return {
            "request_id": self.request_id,
            "project": self.project,
            "build_id": self.build_id,
            **(self._ranked_columns() if self.columns else self._ranked_records()),
            "subset_size": self.subset_size,
            "expected_share_of_time": self.expected_share_of_time,
            "expected_share_of_failures": self.expected_share_of_failures,
            "model": self.model,
            "answered_at": self.answered_at,
            "part": self.part,
            "parts": self.parts,
            "candidates": self.candidates,
            "flavor": self.flavor,
            "observe": self.observe,
            "results_behind": self.results_behind,
        }

    def _ranked_records(self) -> dict[str, Any]:
        ranked = [
            {
                "test_id": t.test_id,
                "failure_probability": t.failure_probability,
                "expected_duration_s": t.expected_duration_s,
                "reason": t.reason,
            }
            for t in self.ranked
        ]
        return {"ranked": ranked, **{column: [] for column in RANKED_COLUMNS}}

    def _ranked_columns(self) -> dict[str, Any]:
        ranked = self.ranked
        return {
            "ranked": [],
            "test_ids": [t.test_id for t in ranked],
            "failure_probabilities": [t.failure_probability for t in ranked],
            "expected_durations_s": [t.expected_duration_s for t in ranked],
            "reasons": [t.reason for t in ranked],
        }

    @property
    def rest(self) -> list[str]:
        return [t.test_id for t in self.ranked[self.subset_size :]]

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Self:
        columns = bool(record.get("test_ids"))
        return cls(
            request_id=record["request_id"],
            project=record["project"],
            build_id=record["build_id"],
            ranked=tuple(
                map(RankedTest, *(record[column] for column in RANKED_COLUMNS))
                if columns
                else [
                    RankedTest(
                        r["test_id"],
                        r["failure_probability"],
                        r["expected_duration_s"],
                        r.get("reason", ""),
                    )
                    for r in record["ranked"]
                ]
            ),
            subset_size=record["subset_size"],
            expected_share_of_time=record["expected_share_of_time"],
            expected_share_of_failures=record["expected_share_of_failures"],
            model=record["model"],
            answered_at=record["answered_at"],
            part=record.get("part", 0),
            parts=record.get("parts", 1),
            candidates=record.get("candidates", -1),
            flavor=record.get("flavor", ""),
            observe=record.get("observe", False),
            results_behind=record.get("results_behind", 0),
            columns=columns,
        )


RANKED_COLUMNS = ("test_ids", "failure_probabilities", "expected_durations_s", "reasons")
# The reasons of tests a safety net added to a subset (`pts.selection.safety_nets`).
MUST_RUN, STARVED, FULL_RUN = "must-run", "starved", "full-run"
SAFETY_NET_REASONS = (MUST_RUN, STARVED, FULL_RUN)


def ranked_test_ids(record: Mapping[str, Any]) -> list[str]:
    """A SubsetResponse record's ranked test ids, in order, whether it carries them as columns
    or (from a client that did not ask for columns, or an earlier worker) a record each."""
    return list(record.get("test_ids") or [test["test_id"] for test in record["ranked"]])


def ranked_reasons(record: Mapping[str, Any]) -> list[str]:
    """Why each of `ranked_test_ids` is where it is, in the same order."""
    if record.get("test_ids"):
        return list(record.get("reasons") or [""] * len(record["test_ids"]))
    return [test.get("reason", "") for test in record["ranked"]]
