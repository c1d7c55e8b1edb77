"""docker-compose.yml and the Dockerfile, read against the code, without Docker: the settings
they set exist, Kafka is the tests' version and reachable from the host and the containers,
the ClickHouse database is created, every dependency waits for a healthcheck, nothing is
published beyond loopback without a secret, the gateway may listen beyond loopback, and every
command is one the CLI has."""

from __future__ import annotations

import importlib.metadata
import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml

from pts.cli import app
from pts.core.settings import Settings
from pts.gateway.process import check_exposure
from pts.sinks.server_store import parse_clickhouse_url

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "docker-compose.yml"
DOCKERFILE = REPO / "Dockerfile"
BROKER_POM = REPO / "ops" / "broker" / "pom.xml"
# What a user puts in .env; the file gives none of them a default.
SECRETS = {
    "PTS_WORKER_TOKEN": "token-of-the-test-0123456789abcdef",  # 32 characters at least
    "PTS_CHECKPOINT_KEY": "key-of-the-test-0123456789abcdef",
    "CLICKHOUSE_PASSWORD": "password0of0the0test",
}
LOOPBACK = "127.0.0.1"

_VARIABLE = re.compile(r"\$\$|\$\{(\w+)(?:(:?[?-])([^}]*))?\}|\$(\w+)")


class MissingVariable(Exception):
    """A ${NAME:?...} the environment does not set: compose refuses to start."""


def interpolate(text: str, env: Mapping[str, str]) -> str:
    """Compose's variable substitution: $$, ${NAME}, ${NAME:-default}, ${NAME:?error}.

    >>> interpolate("a ${X:-b} $$HOME ${Y}", {"Y": "c"})
    'a b $HOME c'
    """

    def substitute(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1) or match.group(4)
        operator, argument = match.group(2) or "", match.group(3) or ""
        value = env.get(name)
        if operator.endswith("?") and not value:
            raise MissingVariable(f"{name}: {argument}")
        if operator.endswith("-") and not value:
            return argument
        return value or ""

    return _VARIABLE.sub(substitute, text)


def _interpolated(node: Any, env: Mapping[str, str]) -> Any:
    if isinstance(node, str):
        return interpolate(node, env)
    if isinstance(node, dict):
        return {key: _interpolated(value, env) for key, value in node.items()}
    if isinstance(node, list):
        return [_interpolated(value, env) for value in node]
    return node


def load_compose(env: Mapping[str, str] = SECRETS) -> dict[str, Any]:
    """docker-compose.yml as compose reads it with `env`: anchors merged, variables filled."""
    return _interpolated(yaml.safe_load(COMPOSE.read_text()), env)


def environment(service: Mapping[str, Any]) -> dict[str, str]:
    """A service's environment, from the mapping or the list form."""
    entries = service.get("environment") or {}
    if isinstance(entries, list):
        entries = dict(entry.split("=", 1) for entry in entries)
    return {name: str(value) for name, value in entries.items()}


def published_ports(service: Mapping[str, Any]) -> list[tuple[str, int, int]]:
    """(host address, host port, container port) of each published port; 0.0.0.0 when the
    short form names no address."""
    published = []
    for port in service.get("ports") or []:
        if isinstance(port, dict):
            published.append(
                (port.get("host_ip", "0.0.0.0"), int(port["published"]), int(port["target"]))
            )
            continue
        *host, container = str(port).split("/")[0].rsplit(":", 2)
        address, host_port = (host[0], host[1]) if len(host) == 2 else ("0.0.0.0", host[0])
        published.append((address, int(host_port), int(container)))
    return published


def settings_of(service: Mapping[str, Any]) -> Settings:
    """The settings a service's PTS_* environment gives (the defaults for the rest)."""
    env = environment(service)
    return Settings(**{k[4:].lower(): v for k, v in env.items() if k.startswith("PTS_")})


def pts_services(compose: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The services that run the pts image (built from the Dockerfile)."""
    return {name: s for name, s in compose["services"].items() if "build" in s}


def by_command(compose: Mapping[str, Any], command: str) -> dict[str, dict[str, Any]]:
    return {
        name: service
        for name, service in pts_services(compose).items()
        if (service.get("command") or ["worker"])[0] == command
    }


def _listeners(value: str) -> dict[str, tuple[str, int]]:
    """KAFKA_LISTENERS-style "NAME://host:port,..." as {NAME: (host, port)}."""
    listeners = {}
    for listener in value.split(","):
        name, _, address = listener.partition("://")
        host, _, port = address.rpartition(":")
        listeners[name] = (host, int(port))
    return listeners


def test_the_secrets_have_no_default() -> None:
    text = COMPOSE.read_text()
    referenced = {m.group(1) or m.group(4) for m in _VARIABLE.finditer(text) if m.group(0) != "$$"}
    # $$NAME is the container's own variable (a healthcheck's shell expands it).
    assert referenced == set(SECRETS)
    for name in SECRETS:
        assert not re.search(rf"\$\{{{name}:?-", text), f"{name} has a default"
        without = {other: value for other, value in SECRETS.items() if other != name}
        with pytest.raises(MissingVariable, match=name):
            load_compose(without)


def test_every_pts_variable_is_a_setting_and_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, service in load_compose()["services"].items():
        env = environment(service)
        unknown = [
            v for v in env if v.startswith("PTS_") and v[4:].lower() not in Settings.model_fields
        ]
        assert not unknown, f"{name} sets {unknown}, which core/settings.py does not read"
        with monkeypatch.context() as patched:
            for variable in [v for v in os.environ if v.startswith("PTS_")]:
                patched.delenv(variable)
            for variable, value in env.items():
                patched.setenv(variable, value)
            Settings()  # every value parses


def test_kafka_is_the_version_the_tests_use() -> None:
    version = re.search(r"<kafka.version>(.+)</kafka.version>", BROKER_POM.read_text())
    assert version is not None
    image = load_compose()["services"]["kafka"]["image"]
    assert image == f"apache/kafka:{version.group(1)}"


def test_kafka_is_reachable_from_the_containers_and_from_the_host() -> None:
    compose = load_compose()
    kafka = compose["services"]["kafka"]
    env = environment(kafka)
    bound = _listeners(env["KAFKA_LISTENERS"])
    advertised = _listeners(env["KAFKA_ADVERTISED_LISTENERS"])
    protocols = dict(
        pair.split(":") for pair in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(",")
    )
    controllers = set(env["KAFKA_CONTROLLER_LISTENER_NAMES"].split(","))
    assert set(bound) == set(protocols)
    assert set(advertised) <= set(bound) and not controllers & set(advertised)
    voter_host, _, voter_port = (
        env["KAFKA_CONTROLLER_QUORUM_VOTERS"].partition("@")[2].rpartition(":")
    )
    assert (voter_host, int(voter_port)) == ("kafka", bound[next(iter(controllers))][1])

    # Containers: the service name, on the port the listener binds (no mapping in between).
    in_network = {
        name
        for name, (host, port) in advertised.items()
        if host == "kafka" and bound[name][1] == port
    }
    assert env["KAFKA_INTER_BROKER_LISTENER_NAME"] in in_network
    for name, service in pts_services(compose).items():
        bootstrap = environment(service)["PTS_KAFKA_BOOTSTRAP"]
        assert any(bootstrap == f"kafka:{advertised[n][1]}" for n in in_network), name

    # The host: a listener advertised on loopback whose port is published there.
    published = {
        (host, host_port): container for host, host_port, container in published_ports(kafka)
    }
    from_host = [
        name
        for name, (host, port) in advertised.items()
        if host == LOOPBACK and published.get((LOOPBACK, port)) == bound[name][1]
    ]
    assert from_host, f"no listener of {advertised} is published on {LOOPBACK}"


def test_the_clickhouse_urls_database_is_created() -> None:
    compose = load_compose()
    server = environment(compose["services"]["clickhouse"])
    urls = [
        (name, environment(service)["PTS_CLICKHOUSE_URL"])
        for name, service in compose["services"].items()
        if "PTS_CLICKHOUSE_URL" in environment(service)
    ]
    assert {name for name, _ in urls} >= set(by_command(compose, "loader"))
    for name, url in urls:
        address = parse_clickhouse_url(url)
        assert (address.host, address.port) == ("clickhouse", 8123), name
        assert (address.username, address.password) == (
            server["CLICKHOUSE_USER"],
            server["CLICKHOUSE_PASSWORD"],
        ), name
        # The image creates CLICKHOUSE_DB at first start (and ServerStore.connect creates the
        # URL's database if it is missing: tests/sinks/test_server_database.py).
        assert address.database == server["CLICKHOUSE_DB"], name


def test_every_dependency_waits_for_a_healthcheck() -> None:
    services = load_compose()["services"]
    for name in ("kafka", "clickhouse"):
        assert services[name]["healthcheck"]["test"], name
    for name, service in services.items():
        depends_on = service.get("depends_on") or {}
        assert isinstance(depends_on, dict), f"{name}: depends_on without conditions"
        for needed, how in depends_on.items():
            assert how == {"condition": "service_healthy"}, f"{name} on {needed}"
            assert services[needed].get("healthcheck", {}).get("test"), needed
    for name in pts_services(load_compose()):
        if name != "pts":
            assert "kafka" in services[name]["depends_on"], name
    for name in by_command(load_compose(), "loader"):
        assert "clickhouse" in services[name]["depends_on"], name


def test_nothing_is_published_beyond_loopback_without_a_secret() -> None:
    compose = load_compose()
    services = compose["services"]
    assert (
        environment(services["clickhouse"])["CLICKHOUSE_PASSWORD"] == SECRETS["CLICKHOUSE_PASSWORD"]
    )
    for name, service in services.items():
        env = environment(service)
        secret = env.get("PTS_WORKER_TOKEN") or env.get("CLICKHOUSE_PASSWORD")
        for address, _, _ in published_ports(service):
            assert address == LOOPBACK or secret in SECRETS.values(), f"{name} on {address}"
        if name in pts_services(compose):
            is_loopback = settings_of(service).worker_http_host in ("127.0.0.1", "::1", "localhost")
            if service.get("command", ["worker"])[0] == "worker" and not is_loopback:
                assert env.get("PTS_WORKER_TOKEN") == SECRETS["PTS_WORKER_TOKEN"], name


def test_two_workers_in_one_group_each_with_its_own_state() -> None:
    compose = load_compose()
    workers = by_command(compose, "worker")
    assert len(workers) == 2
    envs = [environment(worker) for worker in workers.values()]
    assert len({env["PTS_WORKER_ID"] for env in envs}) == 1  # one consumer group
    assert len({env["PTS_CHECKPOINT_KEY"] for env in envs}) == 1  # each reads the other's
    assert len({worker["container_name"] for worker in workers.values()}) == 2
    data_volumes = set()
    for name, worker in workers.items():
        assert worker["command"] == ["worker", "--no-history"], name
        assert worker["restart"] == "unless-stopped", name
        [volume] = [v for v in worker["volumes"] if v.endswith(":/data")]
        source = volume.split(":")[0]
        assert source in compose["volumes"], f"{name}: /data is not a named volume"
        data_volumes.add(source)
        port = settings_of(worker).worker_http_port
        assert [(LOOPBACK, port)] == [(a, c) for a, _, c in published_ports(worker)], name
        assert f":{port}/health" in " ".join(worker["healthcheck"]["test"]), name
    assert len(data_volumes) == 2
    assert len({h for w in workers.values() for _, h, _ in published_ports(w)}) == 2

    [loader] = by_command(compose, "loader").values()
    assert loader["restart"] == "unless-stopped"
    assert environment(loader)["PTS_WORKER_ID"] == envs[0]["PTS_WORKER_ID"]


def test_the_gateway_serves_the_launchable_api_behind_a_tls_proxy() -> None:
    compose = load_compose()
    [(name, gateway)] = by_command(compose, "gateway").items()
    assert gateway["command"] == ["gateway"], name
    assert gateway["restart"] == "unless-stopped", name
    [worker, *_] = by_command(compose, "worker").values()
    assert (gateway["build"], gateway["image"]) == (worker["build"], worker["image"])
    settings = settings_of(gateway)
    # It listens beyond loopback inside the network (where the published port arrives) on plain
    # HTTP, which `pts gateway` refuses unless a TLS proxy in front terminates TLS.
    assert settings.gateway_host == "0.0.0.0", name
    assert settings.gateway_behind_tls_proxy, name
    assert (settings.gateway_tls_cert, settings.gateway_tls_key) == (None, None), name
    assert check_exposure(settings) is None  # ConfigError if it would refuse to start
    port = settings.gateway_port
    assert [(LOOPBACK, port)] == [(a, c) for a, _, c in published_ports(gateway)], name
    assert f":{port}/health" in " ".join(gateway["healthcheck"]["test"]), name
    assert {"kafka", "worker-1"} <= set(gateway["depends_on"]), name  # the worker makes topics
    assert environment(gateway)["PTS_KAFKA_BOOTSTRAP"] == "kafka:9092", name


def _package(requirement: str) -> str:
    """The package a requirement names.

    >>> _package("aiohttp<4.0,>=3.8.0"), _package("aiokafka[zstd]>=0.11")
    ('aiohttp', 'aiokafka')
    """
    return re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0].lower()


def test_the_image_holds_what_the_gateway_imports() -> None:
    """The image installs the worker extra; the gateway extra's packages come with it (aiohttp
    with faust-streaming) unless the Dockerfile installs the gateway extra too."""
    [extras_installed] = re.findall(
        r"pip install --no-cache-dir '\.\[([\w,]+)\]'", DOCKERFILE.read_text()
    )
    if "gateway" in extras_installed.split(","):
        return
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    brought = {
        _package(requirement)
        for package in extras["worker"]
        for requirement in importlib.metadata.requires(_package(package)) or []
        if "extra ==" not in requirement
    }
    missing = [r for r in extras["gateway"] if _package(r) not in brought]
    assert not missing, f"the image lacks {missing}: install '.[worker,gateway]' in the Dockerfile"


def _cli() -> typer.core.TyperGroup:
    group = typer.main.get_command(app)
    assert isinstance(group, typer.core.TyperGroup)
    return group


@pytest.mark.parametrize(
    "command",
    [
        command
        for command in sorted(
            {tuple(s.get("command") or ["worker"]) for s in pts_services(load_compose()).values()}
        )
    ],
    ids=" ".join,
)
def test_every_command_is_one_the_cli_has(command: tuple[str, ...]) -> None:
    name, *arguments = command
    cli = _cli()
    assert name in cli.commands, f"`pts {name}` is not a command"
    cli.commands[name].make_context(name, list(arguments))  # refuses an unknown option


def test_the_image_holds_every_package_and_the_worker_extra() -> None:
    dockerfile = DOCKERFILE.read_text()
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    copied = {line.split()[1] for line in dockerfile.splitlines() if line.startswith("COPY ")}
    folders = set(pyproject["tool"]["setuptools"]["package-dir"].values())
    assert folders <= copied, f"the Dockerfile does not copy {sorted(folders - copied)}"
    assert {"pyproject.toml", pyproject["project"]["readme"]} <= {
        name
        for line in dockerfile.splitlines()
        if line.startswith("COPY ")
        for name in line.split()[1:-1]
    }
    assert "pip install --no-cache-dir '.[worker,gateway]'" in dockerfile
    assert "worker" in pyproject["project"]["optional-dependencies"]
    assert 'ENTRYPOINT ["pts"]' in dockerfile
    images = {(s["build"], s.get("image")) for s in pts_services(load_compose()).values()}
    assert len(images) == 1  # one image, built once
