#!/usr/bin/env bash
# The demo, from nothing: install, start Kafka and the worker, replay a CI history, then ask
# for the subset of a new build and print it with failure probabilities and time covered.
#
#   ops/demo.sh         start everything and run the demo (leaves broker and worker running)
#   ops/demo.sh stop    stop the worker and the broker
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
export PTS_DATA_DIR="${PTS_DATA_DIR:-$repo/.pts}"  # the same store a plain `pts worker` here uses
worker_pid="$PTS_DATA_DIR/worker.pid"

if [ "${1:-}" = "stop" ]; then
  if [ -f "$worker_pid" ]; then kill "$(cat "$worker_pid")" 2>/dev/null || true; rm -f "$worker_pid"; fi
  ops/broker/kafka.sh stop
  exit 0
fi

step() { printf '\n== %s\n' "$*" >&2; }
step "1/5 install"
ops/install.sh
step "2/5 broker: Apache Kafka (KRaft) on 127.0.0.1:${PTS_BROKER_PORT:-9092}"
if [ -z "${PTS_KAFKA_BOOTSTRAP:-}" ]; then ops/broker/kafka.sh start; fi
.venv/bin/pts topics
step "3/5 worker (log: $PTS_DATA_DIR/worker.log)"
mkdir -p "$PTS_DATA_DIR"
if [ -f "$worker_pid" ] && kill -0 "$(cat "$worker_pid")" 2>/dev/null; then
  echo "worker already running (pid $(cat "$worker_pid"))" >&2
else
  nohup .venv/bin/pts worker >"$PTS_DATA_DIR/worker.log" 2>&1 &
  echo $! > "$worker_pid"
fi
port="${PTS_WORKER_HTTP_PORT:-6066}"
for _ in $(seq 1 60); do
  if .venv/bin/python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/health', timeout=1)" 2>/dev/null; then break; fi
  sleep 1
done
step "4/5 replay a CI history, then 5/5 ask for a new build's subset"
.venv/bin/python -m pts.ops.demo
echo >&2
echo "The broker and the worker keep running: try '.venv/bin/pts status', 'pts query --list', 'pts subset'; 'ops/demo.sh stop' stops them." >&2
