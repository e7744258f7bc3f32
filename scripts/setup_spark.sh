#!/usr/bin/env bash
# Create or update the Spark virtualenv (.venv-spark) from the pinned lock file: pyspark (the
# whole Spark: daemons, Thrift server, Hive jars, ~500 MB) and dbt-spark with its own dbt-core.
# Kept out of .venv so the DuckDB default never installs it. Needs Java 17; no root.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${CHATSALES_SPARK_VENV:-.venv-spark}
PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3)}
command -v java >/dev/null || { echo "Spark needs Java 17 (Debian: openjdk-17-jre-headless)" >&2; exit 1; }
if [ ! -x "$VENV/bin/python" ]; then
  echo "Creating $VENV with $("$PYTHON" --version)"
  "$PYTHON" -m venv "$VENV"
fi
stamp=$VENV/.chatsales-lock.sha256
want=$(sha256sum requirements/spark.lock | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "Installing Spark and dbt-spark (requirements/spark.lock, ~650 MB, about 1-2 min)…"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps \
    -r requirements/spark.lock
  "$VENV/bin/python" -m pip check
  echo "$want" > "$stamp"
fi
