#!/usr/bin/env bash
# One command: set up (first run only) and start the app on http://127.0.0.1:${PORT:-8501}
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/setup.sh
echo "Starting the app on http://127.0.0.1:${PORT:-8501} (Ctrl+C stops it)"
exec .venv/bin/python -m streamlit run app.py --server.address 127.0.0.1 --server.port "${PORT:-8501}" \
  --server.headless true --browser.gatherUsageStats false
