#!/usr/bin/env bash
# Create or update Superset's own virtualenv (.venv-superset) from the pinned lock file.
# Superset pins SQLAlchemy<2, pandas<2.2, numpy<2.3…: it cannot share .venv. No root needed.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${CHATSALES_SUPERSET_VENV:-.venv-superset}
PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3)}
if [ ! -x "$VENV/bin/python" ]; then
  echo "Creating $VENV with $("$PYTHON" --version)"
  "$PYTHON" -m venv "$VENV"
fi
stamp=$VENV/.chatsales-lock.sha256
want=$(sha256sum requirements/superset.lock | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "Installing Superset (requirements/superset.lock)…"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps \
    -r requirements/superset.lock
  "$VENV/bin/python" -m pip check
  echo "$want" > "$stamp"
fi
