"""The gateway's counters, in Prometheus's text format (`GET /metrics`), without a client
library: requests by route and status with their time, results recorded and subsets answered.

>>> metrics = Metrics()
>>> metrics.request("POST /builds", 200, 0.25)
>>> metrics.count("pts_gateway_results_recorded_total", 12)
>>> print(metrics.render())  # doctest: +NORMALIZE_WHITESPACE
# HELP pts_gateway_requests_total Requests answered, by route and status.
# TYPE pts_gateway_requests_total counter
pts_gateway_requests_total{route="POST /builds",status="200"} 1
# HELP pts_gateway_request_seconds_total Time spent answering, by route.
# TYPE pts_gateway_request_seconds_total counter
pts_gateway_request_seconds_total{route="POST /builds"} 0.25
# HELP pts_gateway_results_recorded_total Test results published to the topics.
# TYPE pts_gateway_results_recorded_total counter
pts_gateway_results_recorded_total 12
# HELP pts_gateway_subsets_answered_total Subsets answered by the worker.
# TYPE pts_gateway_subsets_answered_total counter
pts_gateway_subsets_answered_total 0
"""

from __future__ import annotations

import threading
from collections import Counter

HELP = {
    "pts_gateway_results_recorded_total": "Test results published to the topics.",
    "pts_gateway_subsets_answered_total": "Subsets answered by the worker.",
}


class Metrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: Counter[tuple[str, int]] = Counter()
        self._seconds: Counter[str] = Counter()
        self._totals: Counter[str] = Counter({name: 0 for name in HELP})

    def request(self, route: str, status: int, seconds: float) -> None:
        with self._lock:
            self._requests[(route, status)] += 1
            self._seconds[route] += seconds

    def count(self, name: str, n: int = 1) -> None:
        with self._lock:
            self._totals[name] += n

    def render(self) -> str:
        with self._lock:
            lines = [
                "# HELP pts_gateway_requests_total Requests answered, by route and status.",
                "# TYPE pts_gateway_requests_total counter",
                *(
                    f'pts_gateway_requests_total{{route="{_label(route)}",status="{status}"}} {n}'
                    for (route, status), n in sorted(self._requests.items())
                ),
                "# HELP pts_gateway_request_seconds_total Time spent answering, by route.",
                "# TYPE pts_gateway_request_seconds_total counter",
                *(
                    f'pts_gateway_request_seconds_total{{route="{_label(route)}"}} {s:g}'
                    for route, s in sorted(self._seconds.items())
                ),
            ]
            for name, help_text in HELP.items():
                lines += [
                    f"# HELP {name} {help_text}",
                    f"# TYPE {name} counter",
                    f"{name} {self._totals[name]}",
                ]
        return "\n".join(lines) + "\n"


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
