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
  .venv/bin/python -m pip install --quiet -e '.[worker,eval,dev,gateway,report]'
  touch "$stamp"
fi
# The unmodified Launchable CLI, pinned, in a virtualenv of its own (its pinned dependencies
# would clash with ours): tests/end_to_end/test_launchable_cli.py runs it against `pts gateway`.
launchable_version=1.125.3
if [ ! -x .venv-launchable/bin/launchable ] \
  || ! .venv-launchable/bin/python -c "import sys; from importlib.metadata import version; sys.exit(version('launchable') != '$launchable_version')" 2>/dev/null; then
  echo "install.sh: installing the Launchable CLI $launchable_version into .venv-launchable" >&2
  [ -x .venv-launchable/bin/python ] || "$python" -m venv .venv-launchable
  .venv-launchable/bin/python -m pip install --quiet "launchable==$launchable_version"
fi
# The Jest sample of the runner round-trip tests (tests/fixtures/runners/jest/project): its
# exact versions from the committed lock file, about 20 s; without npm (or offline) that test
# is skipped.
jest_sample=tests/fixtures/runners/jest/project
if command -v npm >/dev/null && [ ! -x "$jest_sample/node_modules/.bin/jest" ]; then
  (cd "$jest_sample" && npm ci --no-audit --no-fund --silent) \
    || echo "install.sh: npm ci of the Jest sample failed; its round-trip test will be skipped" >&2
fi
# Debian's Chromium and its chromedriver, for the browser test of `pts report`
# (tests/report/test_report_in_browser.py); never a browser build of its own. Skipped when
# both are there, or without apt-get (that test is then skipped).
if command -v apt-get >/dev/null && { ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; }; then
  echo "install.sh: installing chromium and chromium-driver from Debian's packages" >&2
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; } \
    || echo "install.sh: installing chromium failed; the report's browser test will be skipped" >&2
fi
# The Vitest, Playwright and Cucumber samples (their listings and round trips): the same, each
# a few seconds; Playwright's tests use no browser, so no `playwright install`.
for sample in vitest:vitest playwright:playwright cucumber:cucumber-js; do
  folder=tests/fixtures/runners/${sample%%:*}/project
  if command -v npm >/dev/null && [ ! -x "$folder/node_modules/.bin/${sample##*:}" ]; then
    (cd "$folder" && npm ci --no-audit --no-fund --silent) \
      || echo "install.sh: npm ci of $folder failed; its tests will be skipped" >&2
  fi
done
