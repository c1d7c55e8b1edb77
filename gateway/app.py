"""The gateway's HTTP application: the Launchable API (`/intake/organizations/{org}/workspaces/
{ws}/...`, what the CLI 1.125.3 calls), and /health.

Handlers are thin: read the body, call the plain functions of `case_events`, `subsets` and
`test_paths`, then publish to the topics `pts record` writes or ask the worker the way `pts
subset` does. Every error is JSON with a `reason` (which the CLI prints): 400 for a body that
is no JSON or names no test, 401 for a missing, wrong or revoked token, 404 for an unknown
build, session or subset, 413 beyond PTS_GATEWAY_MAX_BODY_BYTES, 422 for a subset goal pts has
no target for, 503 with Retry-After while Kafka or the worker does not answer.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

from aiohttp import web
from confluent_kafka import KafkaException

from pts.client.junit_reports import slice_results
from pts.client.publisher import batches_of, publish
from pts.client.subset_client import new_request
from pts.core.errors import BrokerUnavailable, ConfigError, PtsError, SubsetTimeout
from pts.core.events import Build, Commit, SubsetResponse
from pts.core.flavors import flavored, unflavored
from pts.core.logs import get_logger
from pts.core.settings import Settings
from pts.gateway.case_events import results_of
from pts.gateway.commits import commit_of
from pts.gateway.errors import BadInput, StillReading
from pts.gateway.go_packages import full_packages, short_packages
from pts.gateway.launchable_paths import TestPath, test_id
from pts.gateway.metrics import Metrics
from pts.gateway.sessions import (
    SubsetRef,
    TestSession,
    UnknownId,
    flavors_of,
    parse_session_id,
    parse_subset_id,
    session_id,
    subset_id,
)
from pts.gateway.subset_asker import SubsetAsker
from pts.gateway.subsets import (
    UnsupportedGoal,
    inspect_body,
    printable_only,
    slice_body,
    subset_body,
    target_of,
)
from pts.gateway.tokens import PresentedToken, parse_token
from pts.gateway.topic_views import BuildView, GoPackages, RecentCommits, TokenView

log = get_logger(__name__)
WORKSPACE = "/intake/organizations/{org}/workspaces/{ws}"
RETRY_AFTER_S = 10
CATCH_UP_S = 5.0
LATEST_COMMITS = 100


class Refused(PtsError):
    """A request answered with an HTTP error and a reason."""

    def __init__(self, status: int, reason: str) -> None:
        self.status, self.reason = status, reason
        super().__init__(reason)


@dataclass
class Gateway:
    """What the handlers answer from."""

    settings: Settings
    tokens: TokenView
    builds: BuildView
    asker: SubsetAsker
    commits: RecentCommits  # a CommitView, which reads the topic
    go_packages: GoPackages  # a GoPackageView, which reads the topic
    publish: Callable[..., int] = publish  # blocking: run on the executor
    metrics: Metrics = field(default_factory=Metrics)


GATEWAY = web.AppKey("gateway", Gateway)


def reason(status: int, text: str, **headers: str) -> web.Response:
    return web.json_response({"reason": text}, status=status, headers=headers or None)


@web.middleware
async def measured(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    started = time.monotonic()
    response = await handler(request)
    resource = request.match_info.route.resource
    route = resource.canonical.removeprefix(WORKSPACE) if resource is not None else "unmatched"
    request.app[GATEWAY].metrics.request(
        f"{request.method} {route}", response.status, time.monotonic() - started
    )
    return response


@web.middleware
async def errors(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Every error as JSON with a reason; Kafka or the worker away as 503 with Retry-After."""
    try:
        return await handler(request)
    except Refused as exc:
        return reason(exc.status, exc.reason)
    except (BadInput, ConfigError) as exc:
        return reason(400, str(exc))
    except UnknownId as exc:
        return reason(404, str(exc))
    except UnsupportedGoal as exc:
        return reason(422, str(exc))
    except (BrokerUnavailable, SubsetTimeout, KafkaException, StillReading) as exc:
        log.warning("gateway_unavailable", path=request.path, reason=str(exc))
        return reason(503, f"pts cannot answer now: {exc}", **{"Retry-After": str(RETRY_AFTER_S)})
    except web.HTTPRequestEntityTooLarge:
        limit = request.app[GATEWAY].settings.gateway_max_body_bytes
        return reason(413, f"the request body is larger than {limit} bytes")
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return reason(exc.status, exc.reason)


@web.middleware
async def authenticated(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """The Launchable API needs a token of its organization and workspace (the project)."""
    org, ws = request.match_info.get("org"), request.match_info.get("ws")
    if org is None or ws is None:
        return await handler(request)
    presented = parse_token(request.headers.get("Authorization"))
    if presented is None:
        raise Refused(401, "a token is needed: LAUNCHABLE_TOKEN from `pts token create`")
    project = await token_project(request.app[GATEWAY], presented)
    if project is None or (org, ws) != (presented.organization, presented.workspace):
        raise Refused(401, "the token is unknown, wrong or revoked, or not of this workspace")
    return await handler(request)  # the workspace in the path is the token's project


async def token_project(gateway: Gateway, presented: PresentedToken) -> str | None:
    """The project of a token; None when it is unknown, wrong or revoked."""
    book, asked_at = gateway.tokens.book, time.monotonic()
    project = book.project_of(presented)
    if project is None and not book.knows(presented.token_id):
        # Created a moment ago, perhaps through another replica: read the topic to its end.
        await _caught_up(gateway.tokens.view, asked_at)
        project = book.project_of(presented)
    return project


async def _caught_up(view: Any, asked_at: float) -> None:
    """Read `view`'s topic to its end before a miss is an answer (StillReading if it cannot)."""
    if not await blocking(view.catch_up_since, asked_at, CATCH_UP_S):
        raise StillReading(f"the gateway has not read {view.topic} to its end yet")


async def json_body(request: web.Request) -> Any:
    """The request's JSON (gzip and chunked bodies are read by aiohttp, up to its limit)."""
    raw = await request.read()
    try:
        return json.loads(raw) if raw else {}
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Refused(400, f"the request body is not JSON: {exc}") from None


async def json_object(request: web.Request) -> dict[str, Any]:
    body = await json_body(request)
    if not isinstance(body, dict):
        raise Refused(400, "the request body must be a JSON object")
    return body


async def blocking(function: Callable[..., Any], *args: Any) -> Any:
    return await asyncio.get_running_loop().run_in_executor(None, function, *args)


# --- routes -------------------------------------------------------------------------------

routes = web.RouteTableDef()


@routes.get("/health")
async def health(request: web.Request) -> web.Response:
    gateway = request.app[GATEWAY]
    return web.json_response(
        {
            "status": "ok",
            "tokens": len(gateway.tokens.book.records),
            "builds": len(gateway.builds.started_at),
        }
    )


@routes.get("/metrics")
async def metrics(request: web.Request) -> web.Response:
    text = request.app[GATEWAY].metrics.render()
    return web.Response(text=text, content_type="text/plain", charset="utf-8")


@routes.post("/intake/cli_tracking")
async def cli_tracking(request: web.Request) -> web.Response:
    return web.json_response({})


@routes.get(WORKSPACE + "/state")
async def state(request: web.Request) -> web.Response:
    return web.json_response(
        {"isFailFastMode": False, "isPtsV2Enabled": False, "isCbpWorkspace": False}
    )


@routes.get(WORKSPACE + "/verification")
async def verification(request: web.Request) -> web.Response:
    return web.json_response({"project": request.match_info["ws"]})


@routes.get(WORKSPACE + "/slack/notification/key/list")
async def slack_keys(request: web.Request) -> web.Response:
    return web.json_response({"keys": []})


@routes.get(WORKSPACE + "/commits/collect/options")
async def commit_options(request: web.Request) -> web.Response:
    return web.json_response({"commitMessage": False, "files": False})


@routes.get(WORKSPACE + "/commits/latest")
async def latest_commits(request: web.Request) -> web.Response:
    """The newest commits pts has of the project: the jar sends only those after them."""
    commits = request.app[GATEWAY].commits
    return web.json_response(commits.newest(request.match_info["ws"], LATEST_COMMITS))


@routes.post(WORKSPACE + "/commits/collect")
async def collect_commits(request: web.Request) -> web.Response:
    """The commit jar's (or `record commit`'s) commits, to the commits topic: the history."""
    project = request.match_info["ws"]
    body = await json_object(request)
    commits = [commit_of(project, c) for c in body.get("commits") or []]
    if commits:
        gateway = request.app[GATEWAY]
        await blocking(lambda: gateway.publish(gateway.settings, commits=commits))
        for commit in commits:
            gateway.commits.keep(commit)
    return web.json_response({})


@routes.post(WORKSPACE + "/commits/collect/tree")
async def collect_tree(request: web.Request) -> web.Response:
    await request.read()
    return web.json_response([])  # no file contents wanted


@routes.post(WORKSPACE + "/commits/collect/files")
async def collect_files(request: web.Request) -> web.Response:
    await request.read()
    return web.json_response({})


@routes.post(WORKSPACE + "/builds")
async def record_build(request: web.Request) -> web.Response:
    gateway, project = request.app[GATEWAY], request.match_info["ws"]
    body = await json_object(request)
    name = body.get("buildNumber")
    if not isinstance(name, str) or not name or "/" in name:
        raise Refused(400, "buildNumber must be a non-empty string without '/'")
    known = await _known_build(gateway, project, name)
    if known is None:
        shas = [
            c["commitHash"]
            for c in body.get("commitHashes") or []
            if isinstance(c, dict) and isinstance(c.get("commitHash"), str)
        ]
        head = await _known_commit(gateway, project, shas[0]) if shas else None
        build = Build(
            project=project,
            build_id=name,
            commit_sha=shas[0] if shas else "",
            # As `pts record build` computes it: the changes of the commit over its parent.
            base_sha=head.parents[0] if head is not None and head.parents else None,
            commits=(head.sha,) if head is not None else (),
            changed_files=head.changed_files if head is not None else (),
        )
        await blocking(lambda: gateway.publish(gateway.settings, build=build))
        known = build.started_at.isoformat()
        gateway.builds.started_at.setdefault((project, name), known)
        log.info("build_recorded", project=project, build=name)
    return web.json_response(_build_json(name, known))


async def _known_commit(gateway: Gateway, project: str, sha: str) -> Commit | None:
    """The commit the commit jar sent (perhaps through another replica), or None."""
    asked_at = time.monotonic()
    known = gateway.commits.commit(project, sha)
    if known is None:
        await _caught_up(gateway.commits.view, asked_at)
        known = gateway.commits.commit(project, sha)
    return known


def _build_json(name: str, created_at: str) -> dict[str, Any]:
    return {"id": name, "buildNumber": name, "build": name, "createdAt": created_at}


async def _known_build(gateway: Gateway, project: str, name: str) -> str | None:
    """When the build was recorded, or None for a build the builds topic does not hold."""
    asked_at = time.monotonic()
    known = gateway.builds.started_at.get((project, name))
    if known is None:
        await _caught_up(gateway.builds.view, asked_at)
        known = gateway.builds.started_at.get((project, name))
    return known


async def _existing_build(gateway: Gateway, project: str, name: str) -> str:
    known = await _known_build(gateway, project, name)
    if known is None:
        raise Refused(404, f"Build {name} was not found in project {project}")
    return known


@routes.get(WORKSPACE + "/builds/{build}")
async def get_build(request: web.Request) -> web.Response:
    name = request.match_info["build"]
    created = await _existing_build(request.app[GATEWAY], request.match_info["ws"], name)
    return web.json_response(_build_json(name, created))


@routes.post(WORKSPACE + "/builds/{build}/test_sessions")
async def record_session(request: web.Request) -> web.Response:
    name = request.match_info["build"]
    await _existing_build(request.app[GATEWAY], request.match_info["ws"], name)
    body = await json_object(request)
    session = TestSession(name, flavors_of(body.get("flavors")), bool(body.get("isObservation")))
    session.flavor  # noqa: B018 -- a flavor pts cannot key is refused here, with its reason
    return web.json_response(_session_json(session))


def _session_json(session: TestSession) -> dict[str, Any]:
    return {
        "id": session_id(session),
        "buildNumber": session.build,
        "isObservation": session.observation,
        "flavors": session.flavors,
    }


def _session_of(request: web.Request) -> TestSession:
    session = parse_session_id(request.match_info["session"])
    if session.build != request.match_info["build"]:
        raise UnknownId(f"test session {request.match_info['session'][:40]!r} is of another build")
    return session


@routes.get(WORKSPACE + "/builds/{build}/test_sessions/{session}")
async def get_session(request: web.Request) -> web.Response:
    return web.json_response(_session_json(_session_of(request)))


@routes.patch(WORKSPACE + "/builds/{build}/test_sessions/{session}")
async def name_session(request: web.Request) -> web.Response:
    await json_body(request)
    return web.json_response(_session_json(_session_of(request)))  # names are not kept


@routes.get(WORKSPACE + "/builds/{build}/test_session_names/{name}")
async def session_by_name(request: web.Request) -> web.Response:
    raise Refused(404, "pts keeps no test session names")


@routes.post(WORKSPACE + "/builds/{build}/test_sessions/{session}/events")
async def record_tests(request: web.Request) -> web.Response:
    """A `record tests` upload: its case events as one batch of results (sliced when large),
    identified by the digest of its body, so an upload sent twice is learned once."""
    gateway, project = request.app[GATEWAY], request.match_info["ws"]
    session = _session_of(request)
    await _existing_build(gateway, project, session.build)
    raw = await request.read()
    body = await _parsed(raw)
    events, runner = body.get("events") or [], body.get("testRunner") or ""
    if not isinstance(events, list) or not isinstance(runner, str):
        raise Refused(400, "events must be a list and testRunner a string")
    flavors = {**flavors_of(body.get("flavors")), **session.flavors}
    flavor = replace(session, flavors=flavors).flavor
    go_packages = await _go_packages(
        gateway, project, runner, [e.get("testPath") for e in events if isinstance(e, dict)]
    )
    results = results_of(events, runner, go_packages)
    if flavor:
        results = [replace(r, test_id=flavored(r.test_id, flavor)) for r in results]
    if results:
        digest = hashlib.sha256(raw).hexdigest()[:16]
        batches = [
            replace(batch, flavor=flavor)
            for batch in batches_of(
                project, session.build, f"launchable/{runner or 'tests'}", slice_results(results),
                digest,
            )
        ]  # fmt: skip
        await blocking(lambda: gateway.publish(gateway.settings, batches=batches))
        gateway.metrics.count("pts_gateway_results_recorded_total", len(results))
        log.info("results_recorded", project=project, build=session.build, results=len(results))
    return web.json_response(
        {
            "testSession": {
                "id": request.match_info["session"],
                "isObservation": session.observation,
            },
            "build": {"build": session.build, "buildNumber": session.build},
            "results": len(results),
        }
    )


async def _go_packages(
    gateway: Gateway, project: str, runner: str, paths: list[Any]
) -> dict[str, str]:
    """The full import path of each Go package the go-test paths name by its last element
    alone, where the project's tests named exactly one (`pts.gateway.go_packages`)."""
    if runner != "go-test":
        return {}
    elements, asked_at = short_packages(paths), time.monotonic()
    if not elements:
        return {}
    known = gateway.go_packages
    if not all(known.of(project, element) for element in elements):
        # Named a moment ago, perhaps: read the topic to its end first.
        await _caught_up(known.view, asked_at)
    resolved = full_packages(elements, lambda element: known.of(project, element))
    unresolved = sorted(elements - resolved.keys())
    if unresolved:
        gateway.metrics.count("pts_gateway_go_packages_unresolved_total", len(unresolved))
        log.debug("go_packages_unresolved", project=project, elements=unresolved,
                  known={e: known.of(project, e) for e in unresolved})  # fmt: skip
    return resolved


async def _parsed(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw) if raw else {}
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Refused(400, f"the request body is not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise Refused(400, "the request body must be a JSON object")
    return body


@routes.post(WORKSPACE + "/subset")
async def subset(request: web.Request) -> web.Response:
    gateway, project = request.app[GATEWAY], request.match_info["ws"]
    body = await json_object(request)
    runner = body.get("testRunner") or ""
    raw_session = (
        (body.get("session") or {}).get("id") if isinstance(body.get("session"), dict) else None
    )
    if not isinstance(raw_session, str) or not isinstance(runner, str):
        raise Refused(400, "a subset needs session.id (a string) and testRunner")
    session = parse_session_id(raw_session)
    target = target_of(body.get("goal"))
    paths: dict[str, list[TestPath]] = {}
    raw_paths = body.get("testPaths")
    if not isinstance(raw_paths, list):
        raise Refused(400, "testPaths must be a list of test paths")
    # --get-tests-from-previous-sessions: no candidates; the project's recent tests instead.
    from_previous = body.get("getTestsFromPreviousSessions") is True
    go_packages = await _go_packages(gateway, project, runner, raw_paths)
    for path in [] if from_previous else raw_paths:
        paths.setdefault(test_id(path, runner, go_packages), []).append(path)
    if not paths and not from_previous:
        raise UnsupportedGoal("no candidate tests: nothing to choose from")
    flavor = session.flavor
    request_ = replace(
        new_request(
            gateway.settings, project, session.build, [flavored(t, flavor) for t in paths], target
        ),
        flavor=flavor,
        observe=session.observation,
        known_tests=from_previous,
    )
    answer = await gateway.asker.ask(request_, gateway.settings.subset_timeout_s)
    response = _without_flavor(answer.response, flavor)
    if from_previous:
        response = printable_only(response, runner)
    gateway.metrics.count("pts_gateway_subsets_answered_total")
    ref = SubsetRef(answer.partition, answer.offset, runner or "file", raw_session)
    log.info("subset_answered", project=project, build=session.build, request=request_.request_id,
             subset=response.subset_size, candidates=len(response.ranked))  # fmt: skip
    return web.json_response(
        subset_body(response, paths, runner, subset_id(ref), session.observation)
    )


def _without_flavor(response: SubsetResponse, flavor: str) -> SubsetResponse:
    if not flavor:
        return response
    ranked = tuple(replace(t, test_id=unflavored(t.test_id, flavor)) for t in response.ranked)
    return replace(response, ranked=ranked)


async def _saved_subset(request: web.Request) -> tuple[SubsetRef, TestSession, SubsetResponse]:
    gateway, project = request.app[GATEWAY], request.match_info["ws"]
    ref = parse_subset_id(request.match_info["subset"])
    session = parse_session_id(ref.session)
    response = await blocking(
        gateway.asker.answer_at, ref.partition, ref.offset, gateway.settings.subset_timeout_s
    )
    if response is None or response.project != project:
        raise Refused(404, f"subset {request.match_info['subset']} was not found")
    return ref, session, _without_flavor(response, session.flavor)


@routes.post(WORKSPACE + "/subset/{subset}/slice")
async def slice_subset(request: web.Request) -> web.Response:
    ref, session, response = await _saved_subset(request)
    body = await json_object(request)
    count, index = body.get("sliceCount"), body.get("sliceIndex")
    if not (isinstance(count, int) and isinstance(index, int) and 1 <= index <= count):
        raise Refused(400, "sliceIndex and sliceCount must be whole numbers, 1 <= index <= count")
    return web.json_response(slice_body(response, ref.runner, index, count, session.observation))


@routes.post(WORKSPACE + "/subset/{subset}/split-by-groups")
async def split_by_groups(request: web.Request) -> web.Response:
    raise Refused(422, "pts does not split subsets by groups: use --bin i/N")


@routes.get(WORKSPACE + "/subset/{subset}")
async def inspect_subset(request: web.Request) -> web.Response:
    ref, session, response = await _saved_subset(request)
    created = request.app[GATEWAY].builds.started_at.get((response.project, response.build_id))
    build = {"buildNumber": response.build_id, "build": response.build_id, "createdAt": created}
    return web.json_response(
        inspect_body(response, ref.runner, build, ref.session, session.observation)
    )


def make_app(gateway: Gateway) -> web.Application:
    app = web.Application(
        middlewares=[measured, errors, authenticated],
        client_max_size=gateway.settings.gateway_max_body_bytes,
    )
    app[GATEWAY] = gateway
    app.add_routes(routes)
    from pts.gateway import native  # pts's own API (it builds on this module)

    native.add_routes(app, gateway)
    return app
