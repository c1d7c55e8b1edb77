#!/usr/bin/env bash
# The demo, from nothing: install, start Kafka and the worker, replay a CI history, wait until
# the model has learned it, then ask for the subset of a new build and print it with failure
# probabilities, and how it compares with running every test.
#
#   ops/demo.sh [--cycles N]   start everything and run the demo (leaves broker and worker running)
#   ops/demo.sh stop           stop the worker (returns once it has exited) and the broker
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
export PTS_DATA_DIR="${PTS_DATA_DIR:-$repo/.pts}"  # the same store a plain `pts worker` here uses
worker_pid="$PTS_DATA_DIR/worker.pid"

# Whether process $1 is gone (a zombie, exited but not yet reaped, counts as gone).
gone() {
  local state
  state="$(ps -o stat= -p "$1" 2>/dev/null)" || return 0
  [[ "${state// /}" == Z* ]]
}

if [ "${1:-}" = "stop" ]; then
  if [ -f "$worker_pid" ]; then
    pid="$(cat "$worker_pid")"
    if ! gone "$pid"; then
      echo "stopping the worker (pid $pid) ..." >&2
      kill -TERM "$pid" 2>/dev/null || true
      # It commits, snapshots and leaves its group first: wait for that, up to a minute.
      for _ in $(seq 1 600); do if gone "$pid"; then break; fi; sleep 0.1; done
      if ! gone "$pid"; then
        echo "the worker did not stop within 60 s; killing it" >&2
        kill -KILL "$pid" 2>/dev/null || true
        for _ in $(seq 1 50); do if gone "$pid"; then break; fi; sleep 0.1; done
      fi
      echo "the worker has exited" >&2
    fi
    rm -f "$worker_pid"
  fi
  if [ -z "${PTS_KAFKA_BOOTSTRAP:-}" ]; then ops/broker/kafka.sh stop; fi  # only the one it started
  exit 0
fi

step() { printf '\n== %s\n' "$*" >&2; }
step "1/5 install"
ops/install.sh
if [ -z "${PTS_KAFKA_BOOTSTRAP:-}" ]; then
  step "2/5 broker: Apache Kafka (KRaft) on 127.0.0.1:${PTS_BROKER_PORT:-9092}"
  ops/broker/kafka.sh start
else
  step "2/5 broker: the one at $PTS_KAFKA_BOOTSTRAP"
fi
PTS_LOG_LEVEL=warning .venv/bin/pts topics  # its sentence, not a log line per topic
step "3/5 worker (log: $PTS_DATA_DIR/worker.log)"
mkdir -p "$PTS_DATA_DIR"
if [ -f "$worker_pid" ] && kill -0 "$(cat "$worker_pid")" 2>/dev/null; then
  echo "worker already running (pid $(cat "$worker_pid"))" >&2
else
  nohup .venv/bin/pts worker >"$PTS_DATA_DIR/worker.log" 2>&1 &
  echo $! > "$worker_pid"
fi
port="${PTS_WORKER_HTTP_PORT:-6066}"
answered=""
for _ in $(seq 1 120); do
  if .venv/bin/python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/health', timeout=1)" 2>/dev/null; then answered=1; break; fi
  if gone "$(cat "$worker_pid")"; then break; fi
  sleep 1
done
if [ -z "$answered" ]; then
  echo "demo.sh: the worker did not answer on 127.0.0.1:$port; its log is $PTS_DATA_DIR/worker.log" >&2
  exit 1
fi
step "4/5 replay a CI history and wait until the model has learned it, then 5/5 ask for a new build's subset"
.venv/bin/python -m pts.ops.demo "$@"
echo >&2
echo "The broker and the worker keep running: try '.venv/bin/pts status', 'pts query --list', 'pts subset'; 'ops/demo.sh stop' stops them." >&2
