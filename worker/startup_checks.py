"""What the worker checks before it starts: that its secrets are secrets, that it can serve
HTTP where it is told to, and who else is in its consumer group."""

from __future__ import annotations

import socket

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from pts.core.errors import ConfigError
from pts.core.kafka import admin_client, retry_broker_call, unreachable
from pts.core.logs import get_logger
from pts.core.secrets import check_secrets
from pts.core.settings import Settings, is_loopback
from pts.worker.http_client import worker_answering

log = get_logger(__name__)


@retry_broker_call
def _group_members(admin: AdminClient, group: str) -> list[str]:
    """Who is in the group; retried while its coordinator loads (a new or restarted broker)."""
    # A fresh broker can leave this unanswered for a while: each try waits 10 s, then retries.
    description = admin.describe_consumer_groups([group], request_timeout=10)[group].result(
        timeout=10
    )
    return [f"{m.client_id} on {m.host}" for m in description.members]


def check_http_exposure(settings: Settings) -> None:
    """Refuse to serve the history beyond loopback without a token. A token that is set is a
    good one (`check_secrets` refuses an empty or short one first), so `/query`, which requires
    it whenever it is not None, agrees with this check."""
    check_secrets(settings)
    if settings.worker_token is not None or is_loopback(settings.worker_http_host):
        return
    raise ConfigError(
        f"PTS_WORKER_HTTP_HOST={settings.worker_http_host} serves the history beyond loopback: "
        "set PTS_WORKER_TOKEN, which /query then requires as a Bearer token"
    )


def check_http_address(settings: Settings) -> None:
    """Refuse up front, before any history is loaded, an HTTP address another process holds."""
    host, port = settings.worker_http_host, settings.worker_http_port
    try:
        _bind_and_release(host, port)
    except OSError as exc:
        refuse_if_the_group_answers_there(settings)
        raise ConfigError(
            f"the worker cannot listen on {host}:{port} ({exc.strerror or exc}): stop what "
            "listens there, or set PTS_WORKER_HTTP_PORT to a free port"
        ) from exc


def _bind_and_release(host: str, port: int) -> None:
    family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))


def refuse_if_the_group_answers_there(settings: Settings) -> None:
    """A live worker of this group on the configured endpoint: no session to wait out."""
    if worker_answering(settings) == settings.worker_id:
        raise _group_taken(settings, f"answering on {settings.worker_url}/health")


def _group_taken(settings: Settings, running: str) -> ConfigError:
    return ConfigError(
        f"consumer group {settings.worker_id} already has a running worker ({running}): to "
        "add a worker to the group, give it its own PTS_WORKER_HTTP_PORT (and PTS_DATA_DIR)"
    )


def group_members(settings: Settings) -> list[str]:
    """The members of the worker's consumer group now (a crashed worker stays one until its
    session times out)."""
    try:
        return _group_members(admin_client(settings), settings.worker_id)
    except KafkaException as exc:
        raise unreachable(settings, f"did not describe group {settings.worker_id}: {exc}") from exc
