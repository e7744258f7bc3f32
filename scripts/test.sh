#!/usr/bin/env bash
# The second command: lint and run the whole test suite (DuckDB and a throwaway PostgreSQL).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/setup_superset.sh  # the dashboards tests start a real Superset

missing=()
if [ ! -x /usr/lib/postgresql/15/bin/initdb ] && [ -z "${TEST_PG_URL:-}" ]; then
  missing+=(postgresql)
fi
if ! command -v chromium >/dev/null; then
  missing+=(chromium)  # headless screenshots of what people look at
fi
if ! command -v java >/dev/null; then
  missing+=(openjdk-17-jre-headless)  # the local Spark cluster (tests/test_spark.py)
fi
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "Installing Debian's ${missing[*]} for the tests…"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  elif [[ " ${missing[*]} " == *" postgresql "* ]]; then
    echo "PostgreSQL 15 binaries missing: install Debian's postgresql or set TEST_PG_URL" >&2
    exit 1
  else
    echo "${missing[*]} missing: the screenshot or Spark tests will be skipped" >&2
  fi
fi

echo "ruff…"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "sqlfluff…"
.venv/bin/sqlfluff lint dbt_project --disable-progress-bar
echo "pytest…"
.venv/bin/pytest --durations=40 "$@"  # the slowest tests, for whoever cuts CI time next
