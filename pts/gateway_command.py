"""`pts gateway`: the HTTP gateway CI talks to with a token (the Launchable CLI works as is)."""

from __future__ import annotations

from pts.extras import needs_extra
from pts.options import settings


def gateway() -> None:
    """Serve the Launchable API on PTS_GATEWAY_HOST:PTS_GATEWAY_PORT: CI records builds and
    results and asks for subsets with `launchable` and LAUNCHABLE_BASE_URL pointing here."""
    with needs_extra("gateway"):
        from pts.gateway.process import run_gateway

        run_gateway(settings())
