"""`pts gateway` as a process: check the settings, read the tokens and builds, listen.

It refuses to listen beyond loopback on plain HTTP, unless PTS_GATEWAY_BEHIND_TLS_PROXY says a
proxy in front of it terminates TLS: tokens travel in every request.
"""

from __future__ import annotations

import ssl

from aiohttp import web

from pts.core.errors import ConfigError
from pts.core.logs import get_logger
from pts.core.secrets import check_secrets
from pts.core.settings import Settings, is_loopback
from pts.gateway.app import Gateway, make_app
from pts.gateway.subset_asker import SubsetAsker
from pts.gateway.topic_views import BuildView, CommitView, GoPackageView, TokenView

log = get_logger(__name__)


def check_exposure(settings: Settings) -> ssl.SSLContext | None:
    """The TLS context to serve with (None: plain HTTP); ConfigError for plain HTTP beyond
    loopback without a TLS proxy in front, or half a TLS setting."""
    check_secrets(settings)
    cert, key = settings.gateway_tls_cert, settings.gateway_tls_key
    if (cert is None) != (key is None):
        raise ConfigError("set both PTS_GATEWAY_TLS_CERT and PTS_GATEWAY_TLS_KEY, or neither")
    if cert is not None and key is not None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        try:
            context.load_cert_chain(cert, key)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(
                f"PTS_GATEWAY_TLS_CERT/PTS_GATEWAY_TLS_KEY ({cert}, {key}) do not load: {exc}"
            ) from None
        return context
    if not settings.gateway_behind_tls_proxy and not is_loopback(settings.gateway_host):
        raise ConfigError(
            f"PTS_GATEWAY_HOST={settings.gateway_host} would carry tokens beyond loopback in "
            "plain HTTP: set PTS_GATEWAY_TLS_CERT and PTS_GATEWAY_TLS_KEY, or "
            "PTS_GATEWAY_BEHIND_TLS_PROXY=true when a proxy in front terminates TLS"
        )
    return None


def run_gateway(settings: Settings) -> None:
    """Serve until SIGINT or SIGTERM."""
    tls = check_exposure(settings)
    timeout_s = settings.record_timeout_s
    tokens, builds, commits = TokenView(settings), BuildView(settings), CommitView(settings)
    go_packages = GoPackageView(settings)
    asker = SubsetAsker(settings)
    views = (tokens.view, builds.view, commits.view, go_packages.view)
    for view in views:
        view.start(timeout_s)
    asker.start(timeout_s)
    for view in views:
        view.catch_up(timeout_s)
    app = make_app(Gateway(settings, tokens, builds, asker, commits, go_packages))

    async def close(_app: web.Application) -> None:
        asker.close()
        for view in views:
            view.close()

    app.on_cleanup.append(close)
    log.info(
        "gateway_listening", host=settings.gateway_host, port=settings.gateway_port,
        tls=tls is not None, tokens=len(tokens.book.records), builds=len(builds.started_at),
    )  # fmt: skip
    web.run_app(
        app,
        host=settings.gateway_host,
        port=settings.gateway_port,
        ssl_context=tls,
        print=None,
        access_log=None,
    )
