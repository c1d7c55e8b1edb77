#!/usr/bin/env bash
# The whole test suite, from nothing: install, fetch Kafka's jars, run pytest.
# The tests start their own Kafka broker (ops/broker/kafka.sh) and use embedded ClickHouse.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
ops/install.sh
ops/broker/kafka.sh fetch
.venv/bin/ruff check .
# Two pytest processes (pytest-xdist), each with its own broker, a test file to one process:
# most tests wait on subprocesses and the broker, so the 2 cores of CI are used twice as well.
# PTS_TEST_WORKERS=0 runs the suite in one process.
workers="${PTS_TEST_WORKERS:-2}"
if [ "$workers" = 0 ]; then exec .venv/bin/pytest "$@"; fi
exec .venv/bin/pytest -n "$workers" --dist loadfile "$@"
