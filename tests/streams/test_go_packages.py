"""The worker's book of Go packages: what it publishes when an element gains a package, and
that a restored partition publishes its projects' packages again (real broker)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from pts.core.events import Build, Outcome, TestResult, TestResultBatch
from pts.core.go_packages import PackagesOf, go_package
from pts.core.settings import Settings
from pts.core.topics import topic_name
from pts.selection.selector import Selector
from pts.streams.app import WorkerState
from pts.streams.go_packages import GoPackageBook
from pts.streams.snapshots import PartitionSnapshot

T0 = datetime(2026, 12, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("test_id", "package"),
    [
        ("example.com/sample/calc::TestDiv", "example.com/sample/calc"),
        ("example.com/sample/calc::BenchmarkAdd [os=linux]", "example.com/sample/calc"),
        ("gopkg.in/yaml.v3::TestDecode", "gopkg.in/yaml.v3"),  # a Go test names it: a package
        ("example.com/broken/parse", "example.com/broken/parse"),  # it did not build
        ("example.com/broken/parse [os=linux,py=3]", "example.com/broken/parse"),
        ("calc::TestAdd", None),  # one element: the CLI names it in full already
        ("calc", None),
        ("tests/test_calc.py::test_add", None),  # pytest
        ("tests/test_calc.py::TestDiv::test_exact[4-2]", None),
        ("tests/test_calc.py", None),  # a pytest module, a Jest spec file
        ("src/app.test.js", None),
        ("com.acme.CalcTest", None),  # a JUnit class
        ("spec/models/user_spec.rb[1:2]", None),
        ("a/b::test_lower", None),  # no Go test's name
    ],
)
def test_the_package_a_test_id_names(test_id: str, package: str | None) -> None:
    assert go_package(test_id) == package


def test_an_element_is_published_with_every_package_known_for_it() -> None:
    book = GoPackageBook()
    first = book.learn("shop", ["example.com/a/util::TestX", "example.com/m/calc::TestAdd"])
    assert first == [
        PackagesOf("shop", "calc", ("example.com/m/calc",)),
        PackagesOf("shop", "util", ("example.com/a/util",)),
    ]
    assert book.learn("shop", ["example.com/m/calc::TestDiv", "example.com/a/util"]) == []
    assert book.learn("other", ["example.com/b/util::TestY"]) == [
        PackagesOf("other", "util", ("example.com/b/util",))
    ]
    assert book.learn("shop", ["example.com/b/util::TestY"]) == [
        PackagesOf("shop", "util", ("example.com/a/util", "example.com/b/util"))
    ]


def test_a_restored_project_publishes_its_whole_book_again() -> None:
    book = GoPackageBook()
    ids = ["example.com/m/calc::TestAdd", "example.com/m/strs::TestUpper"]
    gained = book.learn("shop", ids)
    assert book.restore("shop", ids) == gained  # the same records: a replay writes the same
    book.forget("shop")
    assert book.learn("shop", ids[:1]) == gained[:1]  # forgotten: gained again


@pytest.mark.integration
def test_a_restored_partition_publishes_its_projects_go_packages(settings: Settings) -> None:
    asyncio.run(restore_publishes(settings))


async def restore_publishes(settings: Settings) -> None:
    learned = Selector()
    learned.observe_build(Build("shop", "b1", "abc", started_at=T0))
    results = (
        TestResult("example.com/m/calc::TestAdd", "example.com/m/calc", "TestAdd",
                   Outcome.PASSED, 0.1),
        TestResult("example.com/m/parse", "example.com/m/parse", "", Outcome.FAILED, 0.0),
        TestResult("example.com/x/calc::TestMul", "example.com/x/calc", "TestMul",
                   Outcome.PASSED, 0.1),
    )  # fmt: skip
    assert learned.learn(TestResultBatch("shop", "b1", "r.xml", results, T0))
    snapshot = PartitionSnapshot(0, {"shop": learned.projects["shop"]}, {"test-results": 0})
    state = WorkerState(settings, Selector(), {}, {0: snapshot})
    try:
        await state.ensure_restored(0)
        state.producer.flush()
    finally:
        state.close()
    assert read_records(settings, 2) == {
        ("shop", "calc"): ("example.com/m/calc", "example.com/x/calc"),
        ("shop", "parse"): ("example.com/m/parse",),
    }


def read_records(settings: Settings, count: int) -> dict[tuple[str, str], tuple[str, ...]]:
    """The first `count` records of the go-packages topic."""
    topic = topic_name(settings, "go-packages")
    consumer = Consumer({"bootstrap.servers": settings.kafka_bootstrap,
                         "group.id": f"test-{uuid.uuid4().hex[:8]}"})  # fmt: skip
    found: dict[tuple[str, str], tuple[str, ...]] = {}
    try:
        consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
        for message in consumer.consume(count, timeout=30):
            assert message.error() is None, message.error()
            record = PackagesOf.from_json(message.value())
            assert message.key() == record.key
            found[(record.project, record.element)] = record.packages
    finally:
        consumer.close()
    return found
