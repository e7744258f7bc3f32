"""Concurrency pools (limits in the instance's dagster.yaml, see orchestration/runner.py)."""

# Every step that opens the warehouse: DuckDB allows one writer per file, and no reader
# while it writes, so these steps take turns across all runs (limit 1).
WAREHOUSE_POOL = "warehouse"
