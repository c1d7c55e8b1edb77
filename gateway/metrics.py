"""The gateway's metrics (`GET /metrics`, Prometheus's text format, by prometheus-client):
requests by route and status, their time by route, results recorded and subsets answered.
Each gateway app has its own registry, so that several apps in one process (tests) do not
share counts.

>>> metrics = Metrics()
>>> metrics.request("POST /builds", 200, 0.25)
>>> metrics.count("pts_gateway_results_recorded_total", 12)
>>> text = metrics.render()
>>> 'pts_gateway_requests_total{route="POST /builds",status="200"} 1.0' in text
True
>>> "pts_gateway_results_recorded_total 12.0" in text
True
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

CONTENT_TYPE = "text/plain"  # version 0.0.4 of the text format, as generate_latest writes it
TOTALS = {
    "pts_gateway_results_recorded_total": "Test results published to the topics.",
    "pts_gateway_subsets_answered_total": "Subsets answered by the worker.",
    "pts_gateway_go_packages_unresolved_total": (
        "Go packages the Launchable CLI named by their last path element that the gateway "
        "left so, as the project's tests named none or several packages with it."
    ),
}


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._requests = Counter(
            "pts_gateway_requests", "Requests answered, by route and status.",
            ("route", "status"), registry=self.registry,
        )  # fmt: skip
        self._seconds = Histogram(
            "pts_gateway_request_seconds", "Time spent answering, by route.",
            ("route",), registry=self.registry,
        )  # fmt: skip
        # prometheus-client adds the `_total` of a counter's name itself.
        self._totals = {
            name: Counter(name.removesuffix("_total"), help_text, registry=self.registry)
            for name, help_text in TOTALS.items()
        }

    def request(self, route: str, status: int, seconds: float) -> None:
        self._requests.labels(route, str(status)).inc()
        self._seconds.labels(route).observe(seconds)

    def count(self, name: str, n: int = 1) -> None:
        self._totals[name].inc(n)

    def render(self) -> str:
        return generate_latest(self.registry).decode()
