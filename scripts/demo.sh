#!/usr/bin/env bash
# The first command: set up, generate the demo company, run the whole pipeline on DuckDB,
# then serve the dashboards in Superset (its own pinned virtualenv).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
.venv/bin/chatsales demo --seed "${DEMO_SEED:-42}"
.venv/bin/chatsales run
scripts/setup_superset.sh
.venv/bin/chatsales superset setup
.venv/bin/chatsales superset start
.venv/bin/chatsales superset import
echo
echo "Dashboards: http://127.0.0.1:${CHATSALES_SUPERSET_PORT:-8088}/dashboard/list/"
echo "Users and passwords: printed above by 'chatsales superset setup', kept in" \
  "${CHATSALES_STATE_DIR:-data}/superset/credentials.json. Stop it: .venv/bin/chatsales superset stop"
