#!/usr/bin/env bash
# The servers the scaling tests run (issue 20), from Debian's packages when missing: nginx for the example
# reverse-proxy config (tests/test_deploy.py). PostgreSQL is installed and started by scripts/start_postgres.sh.
# A failed install is not fatal here: the tests that need the server then fail and say why.
set -euo pipefail
if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
  echo "Installing nginx (Debian nginx-light) for the deployment test..."
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  { $SUDO apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q \
      --no-install-recommends nginx-light >/dev/null; } || echo "nginx could not be installed." >&2
fi
