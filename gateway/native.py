"""pts's own API beside the Launchable one, for `pts record` and `pts subset` with PTS_URL set
(`pts.client.http_transport` is the other end).

`POST /pts/v1/events` takes the Avro messages `pts record` would publish (Commit, Build,
TestResultBatch), framed one after another; each is decoded to check it, then published to
its topic as `pts record` would. `POST /pts/v1/subset` takes one SubsetRequest and answers the
worker's whole SubsetResponse, both Avro. The token is the Launchable routes' (`Authorization:
Bearer v1:<org>/<project>:<token>`) and must be of the events' project: 401 for a missing,
wrong or revoked token, 403 for one of another project; the other errors are the Launchable
routes' (400, 413, 503 with Retry-After).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from aiohttp import web

from pts.client.http_transport import CONTENT_TYPE, EVENTS_PATH, SUBSET_PATH, unframed
from pts.core import wire
from pts.core.errors import DecodeError
from pts.core.events import Build, Commit, SubsetRequest, TestResultBatch
from pts.core.logs import get_logger
from pts.core.topics import topic_name
from pts.gateway.app import GATEWAY, Refused, blocking, token_project
from pts.gateway.tokens import parse_token

if TYPE_CHECKING:
    from pts.gateway.app import Gateway

log = get_logger(__name__)


@dataclass
class Recorded:
    """The events of one request, in the order they are published."""

    commits: list[Commit] = field(default_factory=list)
    build: Build | None = None
    batches: list[TestResultBatch] = field(default_factory=list)

    @property
    def results(self) -> int:
        return sum(len(batch.results) for batch in self.batches)


def events_of(body: bytes, project: str) -> Recorded:
    """The events of a request body, each of `project`; Refused (400, 403) otherwise.

    >>> from pts.client.http_transport import frames
    >>> from pts.core.events import to_record
    >>> build = wire.encode("Build", to_record(Build("shop", "b1", "ab12")))
    >>> events_of(frames([build]), "shop").build.build_id
    'b1'
    >>> events_of(frames([build]), "cart")
    Traceback (most recent call last):
    ...
    pts.gateway.app.Refused: the token is of project cart, not shop (build b1)
    """
    try:
        messages = unframed(body)
    except ValueError as exc:
        raise Refused(400, f"the request body is no framed pts events: {exc}") from None
    if not messages:
        raise Refused(400, "the request body holds no event")
    recorded = Recorded()
    for message in messages:
        try:
            kind, record = wire.decode(message)
        except DecodeError as exc:
            raise Refused(400, f"an event does not decode: {exc.reason}") from None
        if kind == "Commit":
            event: Commit | Build | TestResultBatch = Commit.from_record(record)
            recorded.commits.append(event)
        elif kind == "Build" and recorded.build is None:
            event = recorded.build = Build.from_record(record)
        elif kind == "Build":
            raise Refused(400, "one build per request: send each build on its own")
        elif kind == "TestResultBatch":
            event = TestResultBatch.from_record(record)
            recorded.batches.append(event)
        else:
            raise Refused(400, f"a {kind} is no event to record: Commit, Build, TestResultBatch")
        if event.project != project:
            raise Refused(
                403, f"the token is of project {project}, not {event.project} ({_named(event)})"
            )
    return recorded


def _named(event: Commit | Build | TestResultBatch) -> str:
    if isinstance(event, Commit):
        return f"commit {event.sha}"
    if isinstance(event, Build):
        return f"build {event.build_id}"
    return f"the results of build {event.build_id} from {event.report}"


def request_of(body: bytes, project: str) -> SubsetRequest:
    """The whole subset request of a body, of `project`; Refused (400, 403) otherwise."""
    try:
        _, record = wire.decode(body, expected="SubsetRequest")
    except DecodeError as exc:
        raise Refused(400, f"the request body is no subset request: {exc.reason}") from None
    asked = SubsetRequest.from_record(record)
    if asked.project != project:
        raise Refused(
            403,
            f"the token is of project {project}, not {asked.project} (a subset of build "
            f"{asked.build_id})",
        )
    if asked.parts != 1:
        raise Refused(400, "send the whole subset request in one body, not in parts")
    return asked


async def project_of(request: web.Request) -> str:
    """The project of the request's token (as the Launchable routes check it); 401 if none."""
    presented = parse_token(request.headers.get("Authorization"))
    if presented is None:
        raise Refused(401, "a token is needed: PTS_TOKEN from `pts token create --project P`")
    project = await token_project(request.app[GATEWAY], presented)
    if project is None:
        raise Refused(401, "the token (PTS_TOKEN) is unknown, wrong or revoked")
    return project


async def record_events(request: web.Request) -> web.Response:
    gateway, project = request.app[GATEWAY], await project_of(request)
    recorded = events_of(await request.read(), project)
    await blocking(
        lambda: gateway.publish(
            gateway.settings,
            build=recorded.build,
            commits=recorded.commits,
            batches=recorded.batches,
        )
    )
    for commit in recorded.commits:
        gateway.commits.keep(commit)
    build = recorded.build
    if build is not None:  # a Launchable session may follow on this build
        gateway.builds.started_at.setdefault(
            (project, build.build_id), build.started_at.isoformat()
        )
    gateway.metrics.count("pts_gateway_results_recorded_total", recorded.results)
    published = len(recorded.commits) + (build is not None) + len(recorded.batches)
    log.info("events_recorded", project=project, build=build.build_id if build else None,
             commits=len(recorded.commits), results=recorded.results)  # fmt: skip
    return web.json_response({"published": published})


async def subset(request: web.Request) -> web.Response:
    gateway, project = request.app[GATEWAY], await project_of(request)
    asked = request_of(await request.read(), project)
    # Under an id of the gateway's own, on its reply topic: no client takes another's answer.
    ours = replace(
        asked,
        request_id=uuid.uuid4().hex,
        reply_topic=topic_name(gateway.settings, "subset-responses"),
    )
    answer = await gateway.asker.ask(ours, gateway.settings.subset_timeout_s)
    response = replace(answer.response, request_id=asked.request_id)
    gateway.metrics.count("pts_gateway_subsets_answered_total")
    log.info("subset_answered", project=project, build=asked.build_id, request=ours.request_id,
             subset=response.subset_size, candidates=len(response.ranked))  # fmt: skip
    return web.Response(
        body=wire.encode("SubsetResponse", response.to_record()), content_type=CONTENT_TYPE
    )


def add_routes(app: web.Application, gateway: Gateway) -> None:
    """Serve the pts API on `app`. The gateway publishes to Kafka itself, whatever PTS_URL
    says (it is for the gateway's clients): else it would post its events to itself."""
    gateway.settings = gateway.settings.model_copy(update={"url": None})
    app.router.add_post(EVENTS_PATH, record_events)
    app.router.add_post(SUBSET_PATH, subset)
