"""What the gateway refuses, under pts's one exception family; `app` answers each with its
HTTP status and the error as the `reason` the Launchable CLI prints."""

from __future__ import annotations

from pts.core.errors import PtsError


class BadInput(PtsError):
    """A request body the gateway cannot read as the Launchable CLI's: 400."""

    exit_code = 2


class StillReading(PtsError):
    """A lookup missed, and the topic that could hold it was not read to its end in time (the
    gateway has just started, or the topic is far ahead): 503, never a wrong 401 or 404."""

    exit_code = 3
