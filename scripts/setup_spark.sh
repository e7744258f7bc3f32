#!/usr/bin/env bash
# Create or update the Spark virtualenv (.venv-spark) from the pinned lock file: pyspark (the
# whole Spark: daemons, Thrift server, Hive jars, ~500 MB) and dbt-spark with its own dbt-core.
# Kept out of .venv so the DuckDB default never installs it. Needs Java 17; no root.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/locked_venv.sh

VENV=${CHATSALES_SPARK_VENV:-.venv-spark}
command -v java >/dev/null || { echo "Spark needs Java 17 (Debian: openjdk-17-jre-headless)" >&2; exit 1; }
create_venv "$VENV"
if ! installed_from "$VENV" requirements/spark.lock; then
  echo "Installing Spark and dbt-spark (requirements/spark.lock, ~650 MB, about 1-2 min)…"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps \
    -r requirements/spark.lock
  "$VENV/bin/python" -m pip check
  record_installed "$VENV" requirements/spark.lock
fi
