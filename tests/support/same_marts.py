"""Whether a warehouse's marts equal those of a clean run of the same landing: per mart, the
rows only in one of them, counted with duplicates (EXCEPT ALL both ways). Both engines:
DuckDB files are compared in SQL, PostgreSQL databases (or mixed pairs) row by row."""

from __future__ import annotations

from collections import Counter

import duckdb

from chatsales.core.settings import Warehouse
from chatsales.core.warehouse import query

from .comparable_rows import comparable_rows

MARTS = [
    "fct_messages", "fct_dialogs", "fct_waits", "fct_deals", "fct_deal_channels",
    "dim_managers", "mart_manager_metrics", "mart_period_comparison", "mart_anomalies",
    "mart_interventions", "mart_message_norms",
]  # fmt: skip


def differing_rows(ours: Warehouse, clean: Warehouse) -> dict[str, tuple[int, int]]:
    """Per mart that differs: (rows only in ours, rows only in the clean one)."""
    if ours.kind == clean.kind == "duckdb":
        return _differing_in_duckdb(str(ours.duckdb_path), str(clean.duckdb_path))
    counts = {}
    for mart in MARTS:
        # by name: Spark puts a table's partition columns last, and adds chat_bucket
        select = f"select {', '.join(_columns(mart, clean))} from marts.{mart}"
        a, b = (Counter(comparable_rows(query(select, w))) for w in (ours, clean))
        only = (sum((a - b).values()), sum((b - a).values()))
        if any(only):
            counts[mart] = only
    return counts


def _columns(mart: str, warehouse: Warehouse) -> list[str]:
    """The mart's columns on a DuckDB or PostgreSQL warehouse, in their order."""
    sql = (
        "select column_name from information_schema.columns "
        f"where table_schema = 'marts' and table_name = '{mart}' order by ordinal_position"
    )
    return [name for (name,) in query(sql, warehouse)]


def _differing_in_duckdb(ours: str, clean: str) -> dict[str, tuple[int, int]]:
    con = duckdb.connect()
    con.execute(f"ATTACH '{ours}' AS ours (READ_ONLY)")
    con.execute(f"ATTACH '{clean}' AS clean (READ_ONLY)")
    counts = {}
    for mart in MARTS:
        only = tuple(
            con.execute(
                f"SELECT count(*) FROM (SELECT * FROM {a}.marts.{mart} "
                f"EXCEPT ALL SELECT * FROM {b}.marts.{mart})"
            ).fetchone()[0]
            for a, b in (("ours", "clean"), ("clean", "ours"))
        )
        if any(only):
            counts[mart] = only
    con.close()
    return counts
