#!/usr/bin/env bash
# The first command: set up, generate the demo company, run the whole pipeline on DuckDB.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
.venv/bin/chatsales demo --seed "${DEMO_SEED:-42}"
.venv/bin/chatsales run
