"""The one typed settings object. It alone reads the environment (`PTS_*`)."""

from __future__ import annotations

import ipaddress
import re
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

from pts.core.errors import ConfigError


class Settings(BaseSettings):
    """Every knob of pts; `PTS_<FIELD>` sets a field, e.g. PTS_KAFKA_BOOTSTRAP."""

    model_config = SettingsConfigDict(env_prefix="PTS_", frozen=True, extra="ignore")

    kafka_bootstrap: str = Field("127.0.0.1:9092", description="Kafka bootstrap servers.")
    kafka_config: dict[str, str | int | float | bool] = Field(
        default_factory=dict,
        description="Extra librdkafka settings passed through untouched (JSON), e.g. SASL.",
    )
    topic_prefix: str = Field("pts", description="Prefix of every topic name.")
    partitions: int = Field(6, ge=1, description="Partitions of each keyed topic.")
    clickhouse_url: str | None = Field(
        None,
        description="ClickHouse server (http://user:pass@host:8123/db); unset = embedded chdb.",
    )
    data_dir: Path = Field(Path(".pts"), description="Local state: chdb data, model checkpoints.")
    datasets_dir: Path | None = Field(
        None, description="Folder of CI histories that `pts eval NAME` and `pts replay NAME` read."
    )
    projects_file: Path | None = Field(
        None,
        description="TOML file of each project's safety nets (must-run globs, starvation "
        "bound, full runs), read by the worker at start (`pts.selection.policies`).",
    )
    record_timeout_s: float = Field(10.0, gt=0, description="How long `pts record` retries.")
    subset_timeout_s: float = Field(5.0, gt=0, description="How long `pts subset` waits.")
    subset_catch_up_s: float = Field(
        2.0, ge=0, description="How long the worker may wait for the model to catch up."
    )
    worker_http_host: str = Field("127.0.0.1", description="Address the worker's HTTP binds.")
    worker_http_port: int = Field(6066, description="The worker's HTTP port (queries, health).")
    loader_http_port: int = Field(
        6067, description="`pts loader`'s HTTP port (health, queries), on the worker's host."
    )
    worker_id: str = Field("pts-worker", description="Consumer group of the stream worker.")
    record_predictions: bool = Field(
        True, description="Publish each result's prediction (pts.predictions) for model-quality."
    )
    record_author_emails: bool = Field(
        False, description="Record commit authors' e-mail addresses; by default a digest."
    )
    worker_token: SecretStr | None = Field(
        None,
        description="Bearer token /query requires; needed to listen beyond loopback. At least "
        "32 characters (`pts.core.secrets`).",
    )
    checkpoint_key: SecretStr | None = Field(
        None,
        description="Key that signs model checkpoints; unset: a key in PTS_DATA_DIR. At least "
        "32 characters (`pts.core.secrets`).",
    )
    gateway_host: str = Field("127.0.0.1", description="Address `pts gateway` binds.")
    gateway_port: int = Field(6068, description="`pts gateway`'s HTTP(S) port.")
    gateway_tls_cert: Path | None = Field(
        None, description="PEM certificate chain `pts gateway` serves HTTPS with."
    )
    gateway_tls_key: Path | None = Field(None, description="The certificate's PEM private key.")
    gateway_behind_tls_proxy: bool = Field(
        False,
        description="A proxy in front of `pts gateway` terminates TLS: it may then listen beyond "
        "loopback on plain HTTP.",
    )
    gateway_organization: str = Field(
        "pts", description="The organization in the gateway's Launchable tokens and URLs."
    )
    gateway_max_body_bytes: int = Field(
        64 * 1024 * 1024,
        ge=1024,
        description="Largest request body the gateway reads, gzip undone (larger: 413).",
    )
    url: str | None = Field(
        None,
        description="A `pts gateway` (https://host:6068): `pts record` and `pts subset` talk "
        "HTTP to it instead of Kafka, and need no Kafka settings.",
    )
    token: SecretStr | None = Field(
        None, description="The gateway token PTS_URL needs (`pts token create --project P`)."
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        "info", description="debug, info, warning or error."
    )
    log_format: Literal["auto", "json", "human", "off"] = Field(
        "auto",
        description="Log lines on stderr: json, human or off; auto: JSON for the services "
        "when stderr is not a terminal, else human lines (warnings and errors only, for the "
        "other commands).",
    )

    @property
    def worker_url(self) -> str:
        """Where to reach the worker's HTTP endpoint; a wildcard bind is asked on loopback."""
        host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(
            self.worker_http_host, self.worker_http_host
        )
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.worker_http_port}"

    @property
    def loader_url(self) -> str:
        """Where to reach `pts loader`'s HTTP endpoint: the worker's host, its own port."""
        return f"{self.worker_url.rpartition(':')[0]}:{self.loader_http_port}"

    @property
    def history_group_id(self) -> str:
        """The history loader's consumer group, beside the worker's own."""
        return f"{self.worker_id}-history"

    @property
    def chdb_dir(self) -> Path:
        return self.data_dir / "chdb"


def is_loopback(host: str) -> bool:
    """Whether an address to listen on is loopback only; a name may resolve anywhere.

    >>> is_loopback("127.0.0.1"), is_loopback("::1"), is_loopback("0.0.0.0"), is_loopback("ci")
    (True, True, False, False)
    """
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@cache
def settings() -> Settings:
    """The settings from the environment; an invalid PTS_* value is a one-line ConfigError."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"PTS_{'_'.join(str(part) for part in error['loc'][:1]).upper()}: {error['msg']}"
            for error in exc.errors()
        )
        raise ConfigError(f"invalid settings: {problems}") from None
    except SettingsError as exc:  # a JSON field that does not parse
        field = re.search(r'field "(\w+)"', str(exc))
        name = f"PTS_{field.group(1).upper()}" if field else "a PTS_* setting"
        raise ConfigError(f"invalid settings: {name} is not valid JSON") from None
