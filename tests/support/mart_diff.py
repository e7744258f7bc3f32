"""Two DuckDB warehouses' marts compared row for row: what a run after a fault must equal."""

from __future__ import annotations

import duckdb

MARTS = [
    "fct_messages", "fct_dialogs", "fct_waits", "fct_deals", "fct_deal_channels",
    "dim_managers", "mart_manager_metrics", "mart_period_comparison", "mart_anomalies",
    "mart_interventions", "mart_message_norms",
]  # fmt: skip


def differing_rows(ours: str, clean: str) -> dict[str, tuple[int, int]]:
    """Per mart: rows only in ours, rows only in the clean run's (EXCEPT ALL both ways)."""
    con = duckdb.connect()
    con.execute(f"ATTACH '{ours}' AS ours (READ_ONLY)")
    con.execute(f"ATTACH '{clean}' AS clean (READ_ONLY)")
    counts = {}
    for mart in MARTS:
        only = [
            con.execute(
                f"SELECT count(*) FROM (SELECT * FROM {a}.marts.{mart} "
                f"EXCEPT ALL SELECT * FROM {b}.marts.{mart})"
            ).fetchone()[0]
            for a, b in (("ours", "clean"), ("clean", "ours"))
        ]
        if any(only):
            counts[mart] = tuple(only)
    con.close()
    return counts
