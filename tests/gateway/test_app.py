"""The gateway's HTTP answers, with the topics and the worker replaced by fakes: the status
and reason of each kind of bad input, gzip and chunked bodies, and Kafka away."""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from pts.core.errors import BrokerUnavailable, ConfigError, SubsetTimeout
from pts.core.events import RankedTest, SubsetRequest, SubsetResponse
from pts.core.go_packages import PackagesOf
from pts.core.settings import Settings
from pts.gateway.app import Gateway, make_app
from pts.gateway.process import check_exposure
from pts.gateway.sessions import TestSession, session_id
from pts.gateway.subset_asker import Answer
from pts.gateway.tokens import TokenBook, new_token
from pts.gateway.topic_views import GoPackages, RecentCommits

TOKEN, RECORD = new_token("pts", "shop")
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SHOP = "/intake/organizations/pts/workspaces/shop"
CREATED = "2026-12-06T10:00:00.123000+00:00"


class FakeView:
    topic = "test.builds"

    def __init__(self) -> None:
        self.catch_ups = 0
        self.reads_to_the_end = True

    def catch_up_since(self, asked_at: float, timeout_s: float) -> bool:
        self.catch_ups += 1
        return self.reads_to_the_end


@dataclass
class FakeAsker:
    requests: list[SubsetRequest] = field(default_factory=list)
    fails: Exception | None = None

    async def ask(self, request: SubsetRequest, timeout_s: float) -> Answer:
        self.requests.append(request)
        if self.fails is not None:
            raise self.fails
        ranked = tuple(RankedTest(t, 0.5, 1.0, "model") for t in reversed(request.candidates))
        return Answer(
            SubsetResponse(request.request_id, request.project, request.build_id, ranked, 1,
                           0.5, 0.5, "learned@3", flavor=request.flavor),
            partition=1, offset=7,
        )  # fmt: skip

    def answer_at(self, partition: int, offset: int, timeout_s: float) -> SubsetResponse | None:
        ranked = (RankedTest("calc::TestAdd", 0.5, 1.0, "model"),)
        return SubsetResponse("r", "other-project", "b1", ranked, 1, 1.0, 1.0, "m")


@dataclass
class Published:
    events: list[dict[str, Any]] = field(default_factory=list)
    fails: Exception | None = None

    def __call__(self, settings: Settings, **events: Any) -> int:
        if self.fails is not None:
            raise self.fails
        self.events.append(events)
        return 1


@dataclass
class Fakes:
    gateway: Gateway
    published: Published
    asker: FakeAsker


def fakes() -> Fakes:
    published, asker = Published(), FakeAsker()
    tokens = SimpleNamespace(book=TokenBook({RECORD.token_id: RECORD}), view=FakeView())
    builds = SimpleNamespace(started_at={("shop", "b1"): CREATED}, view=FakeView())
    settings = Settings(gateway_max_body_bytes=64 * 1024, subset_timeout_s=2)
    commits = RecentCommits()
    commits.view = FakeView()  # type: ignore[attr-defined]
    go_packages = GoPackages()
    go_packages.view = FakeView()  # type: ignore[attr-defined]
    gateway = Gateway(settings, tokens, builds, asker, commits, go_packages, published)  # type: ignore[arg-type]
    return Fakes(gateway, published, asker)


def served(test: Callable[[TestClient, Fakes], Awaitable[None]]) -> Callable[[], None]:
    """Run `test` against the app on a real local server, with fresh fakes."""

    def run() -> None:
        async def main() -> None:
            given = fakes()
            async with TestClient(TestServer(make_app(given.gateway))) as client:
                await test(client, given)

        asyncio.run(main())

    run.__name__ = test.__name__
    run.__doc__ = test.__doc__
    return run


async def refused(answer: Any, status: int, says: str) -> None:
    assert answer.status == status, await answer.text()
    assert says in (await answer.json())["reason"]


@served
async def test_a_missing_wrong_or_foreign_token_is_401(client: TestClient, given: Fakes) -> None:
    await refused(await client.get(SHOP + "/verification"), 401, "a token is needed")
    wrong = {"Authorization": f"Bearer {TOKEN[:-3]}abc"}
    await refused(await client.get(SHOP + "/verification", headers=wrong), 401, "unknown, wrong")
    other = "/intake/organizations/pts/workspaces/cart/verification"
    await refused(await client.get(other, headers=AUTH), 401, "not of this workspace")
    assert (await client.get(SHOP + "/verification", headers=AUTH)).status == 200
    assert (await client.get("/health")).status == 200  # no token needed


@served
async def test_an_unknown_token_id_is_looked_up_before_it_is_refused(
    client: TestClient, given: Fakes
) -> None:
    token, record = new_token("pts", "shop")  # created through another replica, say
    view = given.gateway.tokens.view
    headers = {"Authorization": f"Bearer {token}"}
    await refused(await client.get(SHOP + "/state", headers=headers), 401, "unknown")
    assert view.catch_ups == 1
    given.gateway.tokens.book.keep(record)
    answer = await client.get(SHOP + "/state", headers=headers)
    assert (await answer.json())["isFailFastMode"] is False


@served
async def test_a_build_is_published_from_a_gzipped_body(client: TestClient, given: Fakes) -> None:
    body = {"buildNumber": "b2", "commitHashes": [{"repositoryName": ".", "commitHash": "ab12"}]}
    answer = await client.post(
        SHOP + "/builds", data=gzip.compress(json.dumps(body).encode()),
        headers={**AUTH, "Content-Encoding": "gzip", "Content-Type": "application/json"},
    )  # fmt: skip
    assert answer.status == 200, await answer.text()
    [published] = given.published.events
    assert (published["build"].project, published["build"].commit_sha) == ("shop", "ab12")
    found = await client.get(SHOP + "/builds/b2", headers=AUTH)
    assert (await found.json())["createdAt"] == (await answer.json())["createdAt"]


@served
async def test_malformed_json_is_400_with_a_reason(client: TestClient, given: Fakes) -> None:
    await refused(await client.post(SHOP + "/builds", data=b"{nope", headers=AUTH), 400, "JSON")
    await refused(await client.post(SHOP + "/builds", data=b"[1]", headers=AUTH), 400, "object")
    await refused(
        await client.post(SHOP + "/builds", json={"buildNumber": "a/b"}, headers=AUTH), 400, "'/'"
    )
    assert given.published.events == []


@served
async def test_an_unknown_build_is_404_after_a_look_at_the_topic(
    client: TestClient, given: Fakes
) -> None:
    await refused(await client.get(SHOP + "/builds/b9", headers=AUTH), 404, "b9 was not found")
    assert given.gateway.builds.view.catch_ups == 1
    sessions = SHOP + "/builds/b9/test_sessions"
    await refused(await client.post(sessions, json={}, headers=AUTH), 404, "not found")
    await refused(await client.get(SHOP + "/no/such/call", headers=AUTH), 404, "Not Found")


@served
async def test_a_body_beyond_the_limit_is_413(client: TestClient, given: Fakes) -> None:
    """Also when it is small gzipped: the limit is on what the gateway reads."""
    bomb = gzip.compress(b'{"events": "' + b"x" * 1_000_000 + b'"}')
    assert len(bomb) < 64 * 1024
    session = session_id(TestSession("b1"))
    answer = await client.post(
        f"{SHOP}/builds/b1/test_sessions/{session}/events", data=bomb,
        headers={**AUTH, "Content-Encoding": "gzip"},
    )  # fmt: skip
    await refused(answer, 413, "larger than 65536 bytes")


def events_body(*statuses: int) -> dict[str, Any]:
    return {
        "events": [
            {"type": "case", "status": status, "duration": 0.5, "stderr": "boom" * (status == 0),
             "testPath": [{"type": "class", "name": "calc"},
                          {"type": "testcase", "name": f"Test{i}"}]}
            for i, status in enumerate(statuses)
        ],
        "testRunner": "go-test", "flavors": {},
    }  # fmt: skip


@served
async def test_results_arrive_chunked_and_carry_the_sessions_flavor(
    client: TestClient, given: Fakes
) -> None:
    session = session_id(TestSession("b1", {"os": "linux"}))
    raw = gzip.compress(json.dumps(events_body(0, 1, 2)).encode())

    async def chunks():  # Transfer-Encoding: chunked
        for start in range(0, len(raw), 50):
            yield raw[start : start + 50]

    url = f"{SHOP}/builds/b1/test_sessions/{session}/events"
    answer = await client.post(url, data=chunks(), headers={**AUTH, "Content-Encoding": "gzip"})
    assert answer.status == 200, await answer.text()
    [batch] = given.published.events[0]["batches"]
    assert batch.flavor == "os=linux" and batch.build_id == "b1"
    assert [(r.test_id, r.outcome.value) for r in batch.results] == [
        ("calc::Test0 [os=linux]", "failed"), ("calc::Test1 [os=linux]", "passed"),
        ("calc::Test2 [os=linux]", "skipped"),
    ]  # fmt: skip
    other_build = f"{SHOP}/builds/b2/test_sessions/{session}/events"
    await refused(await client.post(other_build, json={}, headers=AUTH), 404, "another build")


@served
async def test_kafka_away_is_503_with_retry_after(client: TestClient, given: Fakes) -> None:
    given.published.fails = BrokerUnavailable("Kafka at 127.0.0.1:1 did not answer")
    session = session_id(TestSession("b1"))
    answer = await client.post(
        f"{SHOP}/builds/b1/test_sessions/{session}/events", json=events_body(1), headers=AUTH
    )
    await refused(answer, 503, "did not answer")
    assert int(answer.headers["Retry-After"]) > 0
    given.asker.fails = SubsetTimeout("no subset answer within 2 s")
    answer = await client.post(SHOP + "/subset", json=subset_body(), headers=AUTH)
    await refused(answer, 503, "no subset answer")
    assert "Retry-After" in answer.headers


def subset_body(**goal: Any) -> dict[str, Any]:
    return {
        "testPaths": [
            [{"type": "file", "name": "tests/test_a.py"}, {"type": "class", "name": "tests.test_a"},
             {"type": "testcase", "name": name}]
            for name in ("test_x", "test_y")
        ],
        "testRunner": "pytest",
        "session": {"id": session_id(TestSession("b1", {"os": "linux"}))},
        "goal": goal or {"type": "subset-by-percentage", "percentage": 0.5},
    }  # fmt: skip


@served
async def test_a_subset_asks_for_flavored_ids_and_answers_the_candidates_paths(
    client: TestClient, given: Fakes
) -> None:
    answer = await client.post(SHOP + "/subset", json=subset_body(), headers=AUTH)
    assert answer.status == 200, await answer.text()
    [request] = given.asker.requests
    assert request.candidates == (
        "tests/test_a.py::test_x [os=linux]", "tests/test_a.py::test_y [os=linux]",
    )  # fmt: skip
    assert (request.project, request.build_id, request.flavor) == ("shop", "b1", "os=linux")
    body = await answer.json()
    assert body["testPaths"] == [subset_body()["testPaths"][1]]
    assert body["rest"] == [subset_body()["testPaths"][0]]
    assert body["subsettingId"].startswith("1.7.pytest.s")


@served
async def test_a_subset_without_a_goal_pts_knows_is_422(client: TestClient, given: Fakes) -> None:
    body = {**subset_body(), "goal": None, "useServerSideOptimizationTarget": True}
    await refused(await client.post(SHOP + "/subset", json=body, headers=AUTH), 422, "--target")
    body = {**subset_body(), "testPaths": []}
    await refused(await client.post(SHOP + "/subset", json=body, headers=AUTH), 422, "no candidate")
    assert given.asker.requests == []


@served
async def test_another_projects_subset_is_not_found(client: TestClient, given: Fakes) -> None:
    subset = "subset/0.3.go-test." + session_id(TestSession("b1"))
    answer = await client.post(f"{SHOP}/{subset}/slice", json={"sliceCount": 2, "sliceIndex": 1},
                               headers=AUTH)  # fmt: skip
    await refused(answer, 404, "was not found")
    await refused(await client.get(f"{SHOP}/subset/42", headers=AUTH), 404, "not issued")


@pytest.mark.parametrize(
    ("settings", "says"),
    [
        ({"gateway_host": "0.0.0.0"}, "PTS_GATEWAY_BEHIND_TLS_PROXY"),
        ({"gateway_host": "ci.example.com"}, "beyond loopback"),
        ({"gateway_tls_cert": "cert.pem"}, "both"),
        ({"gateway_tls_cert": "nowhere.pem", "gateway_tls_key": "nowhere.key"}, "do not load"),
    ],
)
def test_plain_http_beyond_loopback_is_refused(settings: dict[str, str], says: str) -> None:
    with pytest.raises(ConfigError, match=says):
        check_exposure(Settings(**settings))


def test_loopback_or_a_tls_proxy_may_serve_plain_http() -> None:
    assert check_exposure(Settings()) is None
    assert check_exposure(Settings(gateway_host="::1")) is None
    assert check_exposure(Settings(gateway_host="0.0.0.0", gateway_behind_tls_proxy=True)) is None


@served
async def test_a_build_carries_the_changes_of_its_commit_the_jar_sent(
    client: TestClient, given: Fakes
) -> None:
    commit = {
        "commitHash": "c2", "authorEmailAddress": "9f86d081884c7d65", "authorWhen": 1765000000000,
        "committerWhen": 1765000000000, "message": "", "shallow": False,
        "parentHashes": {"c1": [
            {"linesAdded": 3, "linesDeleted": 1, "status": "MODIFY", "path": "src/a.py",
             "pathTo": "src/a.py"},
            {"linesAdded": 0, "linesDeleted": 9, "status": "DELETE", "path": "src/old.py",
             "pathTo": "/dev/null"},
        ]},
    }  # fmt: skip
    collected = await client.post(SHOP + "/commits/collect", json={"commits": [commit]},
                                  headers=AUTH)  # fmt: skip
    assert collected.status == 200, await collected.text()
    assert await (await client.get(SHOP + "/commits/latest", headers=AUTH)).json() == ["c2"]
    body = {"buildNumber": "b7", "commitHashes": [{"repositoryName": ".", "commitHash": "c2"}]}
    assert (await client.post(SHOP + "/builds", json=body, headers=AUTH)).status == 200
    build = given.published.events[-1]["build"]
    assert (build.base_sha, build.commits) == ("c1", ("c2",))
    assert [(f.path, f.added, f.deleted) for f in build.changed_files] == [
        ("src/a.py", 3, 1), ("src/old.py", 0, 9),
    ]  # fmt: skip


@served
async def test_metrics_count_requests_results_and_subsets(client: TestClient, given: Fakes) -> None:
    session = session_id(TestSession("b1"))
    url = f"{SHOP}/builds/b1/test_sessions/{session}/events"
    assert (await client.post(url, json=events_body(0, 1), headers=AUTH)).status == 200
    assert (await client.post(SHOP + "/subset", json=subset_body(), headers=AUTH)).status == 200
    await client.get(SHOP + "/builds/b9", headers=AUTH)
    text = await (await client.get("/metrics")).text()
    assert 'route="POST /builds/{build}/test_sessions/{session}/events",status="200"} 1.0' in text
    assert 'route="GET /builds/{build}",status="404"} 1.0' in text
    assert "pts_gateway_results_recorded_total 2.0" in text
    assert "pts_gateway_subsets_answered_total 1.0" in text


@served
async def test_a_miss_before_the_topic_is_read_is_503_not_404(
    client: TestClient, given: Fakes
) -> None:
    given.gateway.builds.view.reads_to_the_end = False
    answer = await client.get(SHOP + "/builds/b9", headers=AUTH)
    await refused(answer, 503, "not read test.builds to its end")
    assert "Retry-After" in answer.headers
    assert (await client.get(SHOP + "/builds/b1", headers=AUTH)).status == 200  # known: served


def go_path(package: str, name: str) -> list[dict[str, str]]:
    return [{"type": "class", "name": package}, {"type": "testcase", "name": name}]


@served
async def test_a_go_package_published_a_moment_ago_is_looked_up_and_resolved(
    client: TestClient, given: Fakes
) -> None:
    """The CLI names `calc`; the worker published its import path just before: the gateway
    reads the topic to its end and records the full id. `strs`, known nowhere, stays short."""
    known = given.gateway.go_packages

    def published_meanwhile(asked_at: float, timeout_s: float) -> bool:
        known.keep(PackagesOf("shop", "calc", ("example.com/m/calc",)))
        return True

    known.view.catch_up_since = published_meanwhile  # type: ignore[attr-defined]
    events = [{"type": "case", "status": 1, "duration": 0.1, "testPath": path}
              for path in (go_path("calc", "TestAdd"), go_path("strs", "TestUpper"))]  # fmt: skip
    session = session_id(TestSession("b1"))
    answer = await client.post(
        f"{SHOP}/builds/b1/test_sessions/{session}/events",
        json={"events": events, "testRunner": "go-test"}, headers=AUTH,
    )  # fmt: skip
    assert answer.status == 200, await answer.text()
    [batch] = given.published.events[0]["batches"]
    assert [r.test_id for r in batch.results] == ["example.com/m/calc::TestAdd", "strs::TestUpper"]
    text = await (await client.get("/metrics")).text()
    assert "pts_gateway_go_packages_unresolved_total 1.0" in text


@served
async def test_a_go_subset_asks_for_full_ids_and_answers_the_clis_own_paths(
    client: TestClient, given: Fakes
) -> None:
    given.gateway.go_packages.keep(PackagesOf("shop", "calc", ("example.com/m/calc",)))
    listed = [go_path("calc", "TestAdd"), go_path("calc", "TestDiv")]
    body = {**subset_body(), "testPaths": listed, "testRunner": "go-test"}
    answer = await client.post(SHOP + "/subset", json=body, headers=AUTH)
    assert answer.status == 200, await answer.text()
    [request] = given.asker.requests
    assert request.candidates == (
        "example.com/m/calc::TestAdd [os=linux]", "example.com/m/calc::TestDiv [os=linux]",
    )  # fmt: skip
    assert given.gateway.go_packages.view.catch_ups == 0  # type: ignore[attr-defined]
    answered = await answer.json()
    assert answered["testPaths"] + answered["rest"] == [listed[1], listed[0]]
