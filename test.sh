#!/usr/bin/env bash
# One command: set up (first run only, including chromium for the browser tests) and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/setup.sh
bash scripts/setup_browser.sh
exec .venv/bin/python -m pytest "$@"
