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
