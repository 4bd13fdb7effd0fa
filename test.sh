#!/usr/bin/env bash
# One command: set up (first run only, including chromium for the browser tests) and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/setup.sh
bash scripts/setup_browser.sh
bash scripts/setup_services.sh
# The shared-library tests run against a real PostgreSQL on loopback, started here for the whole run unless
# $MUSICXAI_TEST_DATABASE_URL names one; if it cannot start, the run says so and fails (nothing is skipped).
if [ -z "${MUSICXAI_TEST_DATABASE_URL:-}" ]; then
  pgdir=$(mktemp -d /tmp/musicxai-pg-XXXXXX)
  chmod 755 "$pgdir"
  trap 'bash scripts/start_postgres.sh stop "$pgdir"; rm -rf "$pgdir"' EXIT
  if ! MUSICXAI_TEST_DATABASE_URL=$(bash scripts/start_postgres.sh start "$pgdir"); then
    echo "PostgreSQL could not be started for the tests (the reason is above); failing rather than skipping." >&2
    exit 1
  fi
  export MUSICXAI_TEST_DATABASE_URL
fi
.venv/bin/python -m pytest "$@"
