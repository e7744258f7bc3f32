#!/usr/bin/env bash
# The second command: lint and run the whole test suite (DuckDB and a throwaway PostgreSQL).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

if [ ! -x /usr/lib/postgresql/15/bin/initdb ] && [ -z "${TEST_PG_URL:-}" ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "Installing Debian's postgresql (PostgreSQL 15 binaries for the test server)…"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  else
    echo "PostgreSQL 15 binaries missing: install Debian's postgresql or set TEST_PG_URL" >&2
    exit 1
  fi
fi

echo "ruff…"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "sqlfluff…"
.venv/bin/sqlfluff lint dbt_project --disable-progress-bar
echo "pytest…"
.venv/bin/pytest "$@"
