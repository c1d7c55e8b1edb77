"""pts's own API on the gateway (`pts.gateway.native`), with `pts.client.http_transport` as
its client, the topics and the worker replaced by fakes (tests/gateway/test_app.py's): what is
published and asked, and the status and reason of each refusal as the client reports it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from pydantic import SecretStr

from pts.client.http_transport import (
    EVENTS_PATH,
    SUBSET_PATH,
    GatewayRefused,
    GatewayUnavailable,
    ask_subset,
    frames,
    post_events,
)
from pts.client.publisher import batches_of, encoded
from pts.client.subset_client import new_request
from pts.core import wire
from pts.core.errors import BrokerUnavailable, ConfigError, SubsetTimeout
from pts.core.events import Build, Commit, Outcome, SubsetResponse, Target, TestResult
from pts.core.settings import Settings
from pts.gateway.app import make_app
from pts.gateway.tokens import new_token
from tests.conftest import free_port
from tests.gateway.test_app import AUTH, TOKEN, Fakes, fakes, refused, served

RESULTS = [TestResult("calc::test_add", "calc", "test_add", Outcome.FAILED, 0.5, "boom"),
           TestResult("calc::test_sub", "calc", "test_sub", Outcome.PASSED, 0.25)]  # fmt: skip
AT = datetime(2026, 12, 6, 10, tzinfo=UTC)  # the wire keeps milliseconds
COMMIT = Commit("shop", "ab12", AT, parents=("aa00",))
BUILD = Build("shop", "b2", "ab12", AT, base_sha="aa00", commits=("ab12",))


def client_settings(client: TestClient, token: str = TOKEN, **more: Any) -> Settings:
    """What `pts record` or `pts subset` run with: PTS_URL and PTS_TOKEN, and no broker."""
    return Settings(
        url=str(client.make_url("")), token=SecretStr(token), kafka_bootstrap="127.0.0.1:1",
        topic_prefix="the-client-s-own", **more,
    )  # fmt: skip


async def off_the_loop(call: Callable[[], Any]) -> Any:
    """A blocking client call, while the loop serves it."""
    return await asyncio.get_running_loop().run_in_executor(None, call)


def messages(*events: Any, **by_kind: Any) -> list[bytes]:
    return [value for _, _, value in encoded(Settings(), *events, **by_kind)]


@served
async def test_the_events_are_published_as_pts_record_would(
    client: TestClient, given: Fakes
) -> None:
    batches = batches_of("shop", "b2", "junit.xml", [RESULTS], "d1")
    sent = messages(BUILD, [COMMIT], batches)
    assert await off_the_loop(lambda: post_events(client_settings(client), sent)) == 3
    [published] = given.published.events
    assert published["build"] == BUILD and published["commits"] == [COMMIT]
    [batch] = published["batches"]
    assert (batch.identity, list(batch.results)) == (batches[0].identity, RESULTS)
    assert given.gateway.builds.started_at[("shop", "b2")] == BUILD.started_at.isoformat()
    assert given.gateway.commits.commit("shop", "ab12") == COMMIT
    assert "pts_gateway_results_recorded_total 2.0" in given.gateway.metrics.render()


@served
async def test_a_wrong_token_is_refused_and_one_of_another_project_too(
    client: TestClient, given: Fakes
) -> None:
    sent = messages(BUILD)
    for token, says in (
        (TOKEN[:-3] + "abc", "unknown, wrong or revoked (HTTP 401)"),
        (new_token("pts", "shop")[0], "unknown, wrong or revoked (HTTP 401)"),
    ):
        with pytest.raises(GatewayRefused, match=r"refused the events: the token") as refusal:
            await off_the_loop(
                lambda token=token: post_events(client_settings(client, token), sent)
            )
        assert says in str(refusal.value) and refusal.value.exit_code == 2
    other = replace(BUILD, project="cart")
    with pytest.raises(
        GatewayRefused, match=r"of project shop, not cart \(build b2\) \(HTTP 403\)"
    ):
        await off_the_loop(lambda: post_events(client_settings(client), messages(other)))
    await refused(await client.post(EVENTS_PATH, data=frames(sent)), 401, "a token is needed")
    assert given.published.events == []


@served
async def test_what_is_no_event_is_400_with_a_reason(client: TestClient, given: Fakes) -> None:
    request = new_request(Settings(), "shop", "b2", ["a"], Target.parse("20%"))
    for body, says in (
        (b"", "holds no event"),
        (b"\x00\x00\x00\x09ab", "cut short"),
        (frames([b"\xc3\x01nonsense"]), "does not decode"),
        (frames([wire.encode("SubsetRequest", request.to_record())]), "no event to record"),
        (frames(messages(BUILD) * 2), "one build per request"),
    ):
        await refused(await client.post(EVENTS_PATH, data=body, headers=AUTH), 400, says)
    await refused(await client.post(SUBSET_PATH, data=frames([b"x"]), headers=AUTH), 400, "no")
    assert given.published.events == []


@served
async def test_kafka_away_is_503_and_the_client_exits_3(client: TestClient, given: Fakes) -> None:
    given.published.fails = BrokerUnavailable("Kafka at 127.0.0.1:1 did not answer")
    answer = await client.post(EVENTS_PATH, data=frames(messages(BUILD)), headers=AUTH)
    await refused(answer, 503, "did not answer")
    assert answer.headers["Retry-After"] == "10"
    settings = client_settings(client, record_timeout_s=1)
    with pytest.raises(GatewayUnavailable, match=r"cannot take the events now") as unavailable:
        await off_the_loop(lambda: post_events(settings, messages(BUILD)))
    assert unavailable.value.exit_code == 3


@served
async def test_a_subset_is_asked_on_the_gateway_s_topics_and_answered_whole(
    client: TestClient, given: Fakes
) -> None:
    settings = client_settings(client)
    request = replace(
        new_request(settings, "shop", "b2", ["a::x", "b::y", "c::z"], Target.parse("20%")),
        flavor="os=linux", catch_up_s=1.5, requested_at=AT,
    )  # fmt: skip
    answer = await off_the_loop(lambda: ask_subset(settings, request, 10))
    assert isinstance(answer, SubsetResponse)
    assert (answer.request_id, answer.subset) == (request.request_id, ["c::z"])
    assert answer.rest == ["b::y", "a::x"] and answer.model == "learned@3"
    [asked] = given.asker.requests
    assert asked.request_id != request.request_id  # the gateway's own
    assert asked.reply_topic == "pts.subset-responses"  # the gateway's, not the client's
    assert replace(asked, request_id=request.request_id, reply_topic=request.reply_topic) == request

    other = replace(request, project="cart")
    with pytest.raises(GatewayRefused, match=r"of project shop, not cart \(a subset of build b2\)"):
        await off_the_loop(lambda: ask_subset(settings, other, 10))
    given.asker.fails = SubsetTimeout("no subset answer within 2 s")
    with pytest.raises(GatewayUnavailable, match=r"no subset answer within 2 s \(HTTP 503\)"):
        await off_the_loop(lambda: ask_subset(settings, request, 10))


def test_no_gateway_is_unavailable_and_a_missing_token_a_config_error() -> None:
    settings = Settings(url=f"http://127.0.0.1:{free_port()}", token=SecretStr(TOKEN),
                        record_timeout_s=0.5)  # fmt: skip
    with pytest.raises(GatewayUnavailable, match=r"no gateway answers at http://127.0.0.1:"):
        post_events(settings, messages(BUILD))
    with pytest.raises(GatewayUnavailable, match=r"no gateway answers"):
        ask_subset(settings, new_request(settings, "shop", "b", ["a"], Target.parse("5%")), 5)
    with pytest.raises(ConfigError, match=r"PTS_URL needs PTS_TOKEN"):
        post_events(replace_settings(settings, token=None), messages(BUILD))
    with pytest.raises(ConfigError, match=r"must start with http:// or https://"):
        post_events(replace_settings(settings, url="file:///etc/passwd"), messages(BUILD))


def replace_settings(settings: Settings, **changes: Any) -> Settings:
    return settings.model_copy(update=changes)


def test_the_gateway_publishes_to_kafka_whatever_pts_url_says() -> None:
    """Else a gateway started with PTS_URL set would post its events to itself."""
    given = fakes()
    given.gateway.settings = replace_settings(given.gateway.settings, url="http://127.0.0.1:1")
    make_app(given.gateway)
    assert given.gateway.settings.url is None
