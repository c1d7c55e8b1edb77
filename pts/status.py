"""`pts status`: the worker's health and lag in a few lines, for an operator at a terminal."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from pts.core.errors import WorkerUnreachable
from pts.core.settings import Settings

TIMEOUT_S = 10.0


def fetch(settings: Settings, path: str) -> dict[str, Any]:
    url = f"{settings.worker_url}{path}"
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as answer:
            body: dict[str, Any] = json.load(answer)
            return body
    except urllib.error.HTTPError as exc:
        return {"error": json.load(exc).get("error", str(exc))}
    except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
        raise WorkerUnreachable(f"no worker answers at {url} ({exc})") from exc


def status_lines(health: dict[str, Any], lag: dict[str, Any]) -> list[str]:
    """The report: the worker, its lag per reader, then one line per project.

    >>> status_lines(
    ...     {"worker": "w", "projects": {"shop": {"results_learned": 9, "model": "logistic@9",
    ...      "roc_auc": None}}},
    ...     {"model": {"builds": 0, "test-results": 2}, "history": {"builds": 0}})
    ['worker w: 1 project', 'model lag: 2 messages (test-results 2)', 'history lag: caught up', \
'  shop: 9 results learned, model logistic@9, ROC AUC -']
    """
    projects = health.get("projects", {})
    plural = "" if len(projects) == 1 else "s"
    lines = [f"worker {health.get('worker', '?')}: {len(projects)} project{plural}"]
    if "error" in lag:
        lines.append(f"lag: unknown ({lag['error']})")
    else:
        lines += [_lag_line(reader, lag.get(reader, {})) for reader in ("model", "history")]
    for name, project in sorted(projects.items()):
        auc = project.get("roc_auc")
        lines.append(
            f"  {name}: {project['results_learned']} results learned, model {project['model']}, "
            f"ROC AUC {'-' if auc is None else auc}"
        )
    return lines


def _lag_line(reader: str, per_topic: dict[str, int]) -> str:
    behind = {topic: n for topic, n in per_topic.items() if n}
    if not behind:
        return f"{reader} lag: caught up"
    detail = ", ".join(f"{topic} {n}" for topic, n in behind.items())
    return f"{reader} lag: {sum(behind.values())} messages ({detail})"
