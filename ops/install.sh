#!/usr/bin/env bash
# Installs pts and its dependencies into .venv (Python 3.11), from nothing. Idempotent.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
python="${PTS_PYTHON:-$(command -v python3.11 || command -v python3)}"
if ! "$python" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
  echo "install.sh: pts needs Python 3.11; set PTS_PYTHON to one" >&2; exit 1
fi
if [ ! -x .venv/bin/python ]; then
  echo "install.sh: creating .venv with $("$python" --version)" >&2
  "$python" -m venv .venv
fi
stamp=.venv/.pts-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "install.sh: installing pts and its dependencies (first time: a few minutes)" >&2
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e '.[worker,eval,dev]'
  touch "$stamp"
fi
# The Jest sample of the runner round-trip tests (tests/fixtures/runners/jest/project): its
# exact versions from the committed lock file, about 20 s; without npm (or offline) that test
# is skipped.
jest_sample=tests/fixtures/runners/jest/project
if command -v npm >/dev/null && [ ! -x "$jest_sample/node_modules/.bin/jest" ]; then
  (cd "$jest_sample" && npm ci --no-audit --no-fund --silent) \
    || echo "install.sh: npm ci of the Jest sample failed; its round-trip test will be skipped" >&2
fi
