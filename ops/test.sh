#!/usr/bin/env bash
# The whole test suite, from nothing: install, fetch Kafka's jars, run pytest.
# The tests start their own Kafka broker (ops/broker/kafka.sh) and use embedded ClickHouse.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
ops/install.sh
ops/broker/kafka.sh fetch
.venv/bin/ruff check .
exec .venv/bin/pytest "$@"
