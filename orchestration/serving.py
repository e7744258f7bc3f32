"""Publish the marts the dashboards read into a serving DuckDB file, swapped in by rename.

DuckDB locks a file across processes: while the pipeline writes the warehouse no one can
read it, and while anyone reads it the pipeline cannot write. Superset therefore reads a
copy. The copy is written beside it under a temporary name and renamed over the old one,
so a reader sees either the previous copy or the new one, never half of one, and a crash
leaves only a temporary file that the next publish removes.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from chatsales.core.settings import Warehouse, serving_duckdb_path, warehouse
from chatsales.core.warehouse import set_duckdb_settings

SCHEMA = "marts"
SERVED_TABLES = (
    "dim_managers",
    "dim_metrics",
    "fct_deals",
    "fct_deal_channels",
    "fct_dialogs",
    "fct_messages",
    "fct_waits",
    "mart_manager_metrics",
    "mart_period_comparison",
    "mart_anomalies",
    "mart_interventions",
    "mart_message_norms",
)


def _select_list(con: duckdb.DuckDBPyConnection, table: str) -> str:
    """Every column, HUGEINT sums narrowed to BIGINT (the SQLAlchemy driver has no HUGEINT)."""
    columns = con.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_catalog = 'src' and table_schema = ? and table_name = ? "
        "order by ordinal_position",
        [SCHEMA, table],
    ).fetchall()
    if not columns:
        raise LookupError(f"{SCHEMA}.{table} is missing from the warehouse: build the marts first")
    return ", ".join(
        f'cast("{name}" as bigint) as "{name}"' if kind == "HUGEINT" else f'"{name}"'
        for name, kind in columns
    )


def publish(wh: Warehouse | None = None) -> dict[str, int]:
    """Copy the served marts into the serving file; returns rows per table."""
    wh = wh or warehouse()
    target = serving_duckdb_path(wh)
    for stale in target.parent.glob(f"{target.name}.tmp-*"):
        stale.unlink()
    temporary = target.with_name(f"{target.name}.tmp-{os.getpid()}")
    rows: dict[str, int] = {}
    try:
        with duckdb.connect(str(temporary)) as con:
            set_duckdb_settings(con)
            con.execute("attach ? as src (read_only)", [str(wh.duckdb_path)])
            con.execute(f"create schema {SCHEMA}")
            for table in SERVED_TABLES:
                columns = _select_list(con, table)
                con.execute(
                    f"create table {SCHEMA}.{table} as select {columns} from src.{SCHEMA}.{table}"
                )
                rows[table] = con.execute(f"select count(*) from {SCHEMA}.{table}").fetchone()[0]
            con.execute("detach src")
            con.execute("checkpoint")
        os.replace(temporary, target)
    finally:
        Path(temporary).unlink(missing_ok=True)
    return rows
