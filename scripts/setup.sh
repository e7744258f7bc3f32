#!/usr/bin/env bash
# Create or update the core virtualenv at .venv from the pinned lock file. No root needed.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/locked_venv.sh

create_venv .venv
if ! installed_from .venv requirements/core.lock pyproject.toml; then
  echo "Installing pinned packages (requirements/core.lock)…"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements/core.lock
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
  record_installed .venv requirements/core.lock pyproject.toml
fi
