"""`/query` holds and queues only so much, on the worker (a real `pts worker` on the session's
broker) and on `pts loader`'s server (its real HTTP server on a real chdb store): SQL of any length
by POST, a result past the limit refused, a query beyond MAX_CONCURRENT_QUERIES refused with 429
while `/health` and `/lag` answer, and `pts query` saying each on one line with its exit code."""

from __future__ import annotations

import contextlib
import http.client
import http.server
import json
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pts.consumers.loader_http import MAX_BODY_BYTES, LoaderHttp
from pts.core.errors import QueryRejected
from pts.core.settings import Settings
from pts.sinks.chdb_store import ChdbStore
from pts.sinks.store import MAX_CONCURRENT_QUERIES
from pts.worker.http_client import run_query
from tests.conftest import RunningWorker, free_port, run_pts, wait_until

pytestmark = pytest.mark.integration

SLOW = "SELECT sleep(3) + sleep(2.5) + sleep(2) AS slept"  # 7.5 s, within the 10 s limit
LONG = (
    "SELECT count() AS n FROM pts.builds WHERE build_id NOT IN ("
    + ", ".join(f"'build-{i}'" for i in range(1500))
    + ")"
)  # 17 KB: more than a URL may carry to the worker's server (8 KB)
HUGE_RESULT = "SELECT repeat('x', 100000) AS x FROM (SELECT arrayJoin(range(2000)))"  # 200 MB


@dataclass
class Endpoint:
    """Where a `/query` answers, and the token it wants."""

    url: str
    token: str | None = None

    def post(self, body: Any, token: str | None = None, timeout: float = 120) -> tuple[int, Any]:
        """POST `body` (JSON, or bytes as they are) to /query: the status and the answer."""
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"}
        if token or self.token:
            headers["Authorization"] = f"Bearer {token or self.token}"
        request = urllib.request.Request(f"{self.url}/query", data, headers, method="POST")
        return _answer(request, timeout)

    def get(self, path: str, timeout: float = 120) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return _answer(urllib.request.Request(self.url + path, headers=headers), timeout)


def _answer(request: urllib.request.Request, timeout: float) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return answer.status, json.load(answer)
    except urllib.error.HTTPError as exc:
        text = exc.read()
        try:
            return exc.code, json.loads(text)
        except ValueError:
            return exc.code, text.decode(errors="replace")


@pytest.fixture(scope="module")
def loader(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Endpoint]:
    """`pts loader`'s HTTP server, on a chdb store of its own, with a token."""
    store = ChdbStore(tmp_path_factory.mktemp("loader") / "chdb")
    server = LoaderHttp("127.0.0.1", 0, lambda: {"status": "ok"}, store.query, "s3cret")
    server.start()
    try:
        yield Endpoint(f"http://127.0.0.1:{server.port}", "s3cret")
    finally:
        server.close()
        store.close()


@pytest.fixture(params=["worker", "loader"])
def endpoint(request: pytest.FixtureRequest) -> Endpoint:
    if request.param == "worker":
        worker: RunningWorker = request.getfixturevalue("pts_worker")
        return Endpoint(worker.url)
    loader_endpoint: Endpoint = request.getfixturevalue("loader")
    return loader_endpoint


def test_long_sql_runs_by_post_and_short_sql_by_get_still(endpoint: Endpoint) -> None:
    assert len(LONG) > 10_000
    assert endpoint.post({"sql": LONG}) == (200, {"rows": [{"n": 0}]})
    filled = {"sql": "SELECT {project:String} AS p", "params": {"project": "shop"}}
    assert endpoint.post(filled) == (200, {"rows": [{"p": "shop"}]})
    assert endpoint.get("/query?sql=SELECT%201%20AS%20one") == (200, {"rows": [{"one": 1}]})
    assert endpoint.get("/query?sql=SELECT%20%7Bp%3AString%7D%20AS%20p&param_p=x") == (
        200,
        {"rows": [{"p": "x"}]},
    )


def test_a_refused_query_and_a_bad_body_are_400_with_one_line(endpoint: Endpoint) -> None:
    status, answer = endpoint.post({"sql": "SELECT 0 IN system.one"})
    assert status == 400 and answer["error"].startswith("query rejected: it reads system.one")
    for body in (b"SELECT 1", b'{"query": "SELECT 1"}', b'["SELECT 1"]', b'{"sql": 1}'):
        status, answer = endpoint.post(body)
        assert status == 400 and answer["error"].startswith("query rejected: the body is not JSON")
        assert "\n" not in answer["error"]


def test_a_result_past_the_limit_is_refused(endpoint: Endpoint) -> None:
    status, answer = endpoint.post({"sql": HUGE_RESULT})
    assert status == 400
    assert answer["error"] == (
        "query rejected: the result is larger than 16 MB, the most a query may return: "
        "add LIMIT or aggregate"
    )
    assert endpoint.post({"sql": "SELECT 1 AS one"}) == (200, {"rows": [{"one": 1}]})


def test_a_body_past_1_mb_is_413(endpoint: Endpoint) -> None:
    body = json.dumps({"sql": "SELECT 1 -- " + "x" * MAX_BODY_BYTES}).encode()
    status, answer = _post_raw(endpoint, body)
    assert status == 413
    assert answer == {
        "error": "query rejected: the request is larger than 1 MB, the most /query reads"
    }


def _post_raw(endpoint: Endpoint, body: bytes) -> tuple[int, Any]:
    """POST over a connection of its own: the server may stop reading once it has enough."""
    host, port = endpoint.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=120)
    headers = {"Content-Type": "application/json", "Content-Length": str(len(body))}
    if endpoint.token:
        headers["Authorization"] = f"Bearer {endpoint.token}"
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        connection.request("POST", "/query", body, headers)  # it may stop reading: it answered
    answer = connection.getresponse()
    status, text = answer.status, answer.read()
    connection.close()
    return status, json.loads(text)


def test_the_token_applies_to_get_and_post(loader: Endpoint) -> None:
    unauthorized = Endpoint(loader.url)
    assert unauthorized.post({"sql": "SELECT 1"})[0] == 401
    assert unauthorized.get("/query?sql=SELECT%201")[0] == 401
    assert Endpoint(loader.url, "guess").post({"sql": "SELECT 1"})[0] == 401
    assert loader.post({"sql": "SELECT 1 AS one"}) == (200, {"rows": [{"one": 1}]})


def while_all_slots_run(endpoint: Endpoint, action: Callable[[], Any]) -> Any:
    """`action()` while MAX_CONCURRENT_QUERIES slow queries run at `endpoint`: started, seen
    taking every slot (one more is refused with 429) before `action`, and still after it, or
    else the whole round again (a loaded machine may take longer than the queries last)."""
    for _ in range(5):
        answers: list[tuple[int, Any]] = []
        slow = [
            threading.Thread(target=_post_into, args=(endpoint, {"sql": SLOW}, answers))
            for _ in range(MAX_CONCURRENT_QUERIES)
        ]
        for thread in slow:
            thread.start()
        try:
            busy = wait_until(lambda: endpoint.post({"sql": "SELECT 1"})[0] == 429, 60, 0.1)
            done = action() if busy else None
            still_busy = endpoint.post({"sql": "SELECT 1"})
        finally:
            for thread in slow:
                thread.join(timeout=120)
        assert answers == [(200, {"rows": [{"slept": 0}]})] * MAX_CONCURRENT_QUERIES
        if busy and still_busy[0] == 429:
            assert still_busy[1] == {"error": "4 queries are running; retry later"}
            return done
    pytest.fail("never saw the slow queries take every slot around the action")


def _post_into(endpoint: Endpoint, body: dict[str, Any], answers: list[tuple[int, Any]]) -> None:
    """POST until a slot takes it (a probe may hold one for a moment), then keep the answer."""
    answer = endpoint.post(body)
    deadline = time.monotonic() + 60
    while answer[0] == 429 and time.monotonic() < deadline:
        time.sleep(0.05)
        answer = endpoint.post(body)
    answers.append(answer)


def test_a_query_beyond_the_slots_is_429_and_the_rest_answers(endpoint: Endpoint) -> None:
    answered = while_all_slots_run(endpoint, lambda: [endpoint.get(p) for p in _others(endpoint)])
    assert [status for status, _ in answered] == [200] * len(answered)
    assert answered[0][1]["status"] in ("ok", "degraded")


def _others(endpoint: Endpoint) -> list[str]:
    """What else the endpoint's process serves: the worker /health and /lag, the loader
    /health."""
    return ["/health", "/lag"] if endpoint.token is None else ["/health"]


def test_pts_query_says_busy_on_one_line_with_exit_3(pts_worker: RunningWorker) -> None:
    endpoint = Endpoint(pts_worker.url)
    done = while_all_slots_run(endpoint, lambda: run_pts(pts_worker.env, "query", "SELECT 1"))
    assert done.returncode == 3 and "Traceback" not in done.stderr
    assert done.stderr.strip() == (
        f"pts: error: the history at {pts_worker.url} is busy: 4 queries are running; retry later"
    )


def test_pts_query_runs_long_sql_and_says_refusals_on_one_line(pts_worker: RunningWorker) -> None:
    env = pts_worker.env
    long_sql = run_pts(env, "query", LONG)
    assert long_sql.returncode == 0, long_sql.stderr
    assert json.loads(long_sql.stdout) == {"n": 0}
    refused = run_pts(env, "query", LONG.replace("pts.builds", "system.one"))
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert refused.stderr.count("\n") == 1
    assert refused.stderr.startswith("pts: error: query rejected: it reads system.one;")
    too_large = run_pts(env, "query", HUGE_RESULT)
    assert too_large.returncode == 2 and too_large.stderr.count("\n") == 1
    assert "the result is larger than 16 MB" in too_large.stderr


def test_pts_query_refuses_sql_past_1_mb_before_sending_it(pts_worker: RunningWorker) -> None:
    settings = Settings(worker_http_port=int(pts_worker.env["PTS_WORKER_HTTP_PORT"]))
    with pytest.raises(QueryRejected, match="larger than 1 MB"):
        list(run_query(settings, "SELECT 1 -- " + "x" * MAX_BODY_BYTES))


class Answers(http.server.BaseHTTPRequestHandler):
    """Whatever a proxy, an old server or aiohttp itself may answer instead of pts's JSON."""

    status = 500
    body = b""

    def do_POST(self) -> None:  # noqa: N802 (the stdlib's name)
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(self.status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.mark.parametrize(
    ("status", "body", "code", "said"),
    [
        (400, b"400: Bad Request\n\nGot more than 8190 bytes", 2,
         "query rejected by the history at {url}: 400: Bad Request; Got more than 8190 bytes"),
        (413, b"413: Request Entity Too Large", 2,
         "query rejected by the history at {url}: 413: Request Entity Too Large"),
        (429, b"Too Many Requests", 3, "the history at {url} is busy: Too Many Requests"),
        (500, b"500 Internal Server Error\n\nServer got itself in trouble", 1,
         "the history at {url} failed: 500 Internal Server Error; Server got itself in trouble"),
        (502, b"<html><body>Bad Gateway</body></html>", 3,
         "the history at {url} did not answer: <html><body>Bad Gateway</body></html>"),
        (200, b"<html>not rows</html>", 1, "the history at {url} answered no rows"),
        (405, b"", 2, "query rejected by the history at {url}: 405 Method Not Allowed"),
    ],
)  # fmt: skip
def test_pts_query_says_any_other_answer_on_one_line(
    pts_env: dict[str, str], tmp_path: Path, status: int, body: bytes, code: int, said: str
) -> None:
    handler = type("Handler", (Answers,), {"status": status, "body": body})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}"
    env = {**pts_env, "PTS_WORKER_HTTP_PORT": str(server.server_port),
           "PTS_LOADER_HTTP_PORT": str(free_port()), "PTS_DATA_DIR": str(tmp_path)}  # fmt: skip
    try:
        done = run_pts(env, "query", "SELECT 1 AS one")
    finally:
        server.shutdown()
        server.server_close()
    assert done.returncode == code and "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith(f"pts: error: {said.format(url=url)}")


def test_nothing_listening_is_not_an_answer(pts_env: dict[str, str], tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**pts_env, "PTS_WORKER_HTTP_PORT": str(port), "PTS_LOADER_HTTP_PORT": str(port),
           "PTS_DATA_DIR": str(tmp_path / "none")}  # fmt: skip
    done = run_pts(env, "query", "SELECT 1 AS one", cwd=tmp_path)
    assert done.returncode == 2 and "start `pts worker`" in done.stderr
