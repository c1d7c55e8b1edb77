"""The records of the `rebuilds` control topic: an operator's request to rebuild one project's
model from the topics (`pts rebuild`), and what the worker that owns the project answers on the
same topic and partition (keyed by project): progress, then that the rebuilt model took over,
or why it did not.

JSON, like the other control records: no model or history reads them, and a record of a kind a
reader does not know is skipped.

>>> request = RebuildRecord(REQUEST, "r1", "shop")
>>> RebuildRecord.parse(request.to_json()) == request
True
>>> RebuildRecord.parse(b"{") is None, RebuildRecord.parse(b'{"kind": "request"}') is None
(True, True)
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

REQUEST = "request"  # an operator asks
PROGRESS = "progress"  # the owner read `done` of `total` messages of the project's partition
TOOK_OVER = "took-over"  # the rebuilt model serves the project from now on
REFUSED = "refused"  # the live model stays; `reason` says why
KINDS = (REQUEST, PROGRESS, TOOK_OVER, REFUSED)


@dataclass(frozen=True)
class RebuildRecord:
    kind: str
    request_id: str
    project: str
    done: int = 0  # messages of the partition read (PROGRESS)
    total: int = 0  # messages of the partition to read (PROGRESS)
    builds: int = 0  # builds observed by the rebuilt model (TOOK_OVER)
    batches: int = 0  # result batches learned by the rebuilt model (TOOK_OVER)
    results: int = 0  # results learned by the rebuilt model (TOOK_OVER)
    reason: str = ""  # REFUSED
    worker: str = ""  # who answers
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), separators=(",", ":")).encode()

    @staticmethod
    def parse(value: bytes | None) -> RebuildRecord | None:
        """The record, or None for a value that is none of ours."""
        try:
            data = json.loads(value or b"")
            record = RebuildRecord(**data)
        except (ValueError, TypeError):
            return None
        if record.kind not in KINDS or not isinstance(record.project, str):
            return None
        return record
