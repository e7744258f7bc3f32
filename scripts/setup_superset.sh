#!/usr/bin/env bash
# Create or update Superset's own virtualenv (.venv-superset) from the pinned lock file.
# Superset pins SQLAlchemy<2, pandas<2.2, numpy<2.3…: it cannot share .venv. No root needed.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/locked_venv.sh

VENV=${CHATSALES_SUPERSET_VENV:-.venv-superset}
create_venv "$VENV"
if ! installed_from "$VENV" requirements/superset.lock; then
  echo "Installing Superset (requirements/superset.lock)…"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps \
    -r requirements/superset.lock
  "$VENV/bin/python" -m pip check
  record_installed "$VENV" requirements/superset.lock
fi
