"""Publish the marts the dashboards read into a serving DuckDB file, swapped in by rename.

DuckDB locks a file across processes: while the pipeline writes the warehouse no one can
read it, and while anyone reads it the pipeline cannot write. Superset therefore reads a
copy. The copy is written beside it under a temporary name and renamed over the old one,
so a reader sees either the previous copy or the new one, never half of one, and a crash
leaves only a temporary file that the next publish removes.

A Spark warehouse is served the same way, from the Parquet files Spark exports: each click on
a dashboard would otherwise pay Spark's seconds of planning and scheduling per query.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlparse

import duckdb

from chatsales.core.settings import Warehouse, serving_duckdb_path, settings, warehouse
from chatsales.core.warehouse import connect, set_duckdb_settings

SCHEMA = "marts"
# in a Spark warehouse's raw folder (CHATSALES_SPARK_RAW): Spark's export of the served marts
SPARK_EXPORT = "_serving_export"
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


# how Spark stores the chat-keyed marts (their partition, dbt macro chat_bucket_column), not
# what they say
STORAGE_COLUMNS = {"chat_bucket"}


def _select_list(con: duckdb.DuckDBPyConnection, relation: str) -> str:
    """Every column but storage ones, HUGEINT sums narrowed to BIGINT (the SQLAlchemy driver
    has no HUGEINT)."""
    columns = con.execute(f"describe select * from {relation}").fetchall()
    return ", ".join(
        f'cast("{name}" as bigint) as "{name}"' if kind == "HUGEINT" else f'"{name}"'
        for name, kind, *_ in columns
        if name not in STORAGE_COLUMNS
    )


def _duckdb_sources(con: duckdb.DuckDBPyConnection, wh: Warehouse) -> dict[str, str]:
    """The served marts of a DuckDB warehouse, attached read-only."""
    con.execute("attach ? as src (read_only)", [str(wh.duckdb_path)])
    present = {row[0] for row in con.execute(
        "select table_name from information_schema.tables "
        "where table_catalog = 'src' and table_schema = ?", [SCHEMA],
    ).fetchall()}  # fmt: skip
    if missing := [table for table in SERVED_TABLES if table not in present]:
        raise LookupError(f"{SCHEMA}.{missing[0]} is missing from the warehouse: build the marts")
    return {table: f"src.{SCHEMA}.{table}" for table in SERVED_TABLES}


def _spark_sources(wh: Warehouse) -> dict[str, str]:
    """The served marts of a Spark warehouse, exported by Spark as Parquet into a folder of
    the raw files' place (which the cluster writes and this machine reads)."""
    root = urlparse(settings().spark_raw_url)
    if root.scheme != "file":
        raise ValueError(
            f"the serving copy reads Spark's export from a local folder; CHATSALES_SPARK_RAW "
            f"is {root.scheme}://…"
        )
    folders = {table: Path(root.path) / SPARK_EXPORT / table for table in SERVED_TABLES}
    with connect(wh) as conn:
        cursor = conn.cursor()
        # timestamps as UTC instants, which DuckDB reads as timestamptz (Spark's default,
        # INT96, reads as a local timestamp)
        cursor.execute("set spark.sql.parquet.outputTimestampType = TIMESTAMP_MICROS")
        for table, folder in folders.items():
            cursor.execute(
                f"insert overwrite directory %s using parquet select * from {SCHEMA}.{table}",
                (folder.as_uri(),),
            )
    return {table: f"read_parquet('{folder}/*.parquet')" for table, folder in folders.items()}


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
            sources = _spark_sources(wh) if wh.kind == "spark" else _duckdb_sources(con, wh)
            con.execute(f"create schema {SCHEMA}")
            for table, relation in sources.items():
                columns = _select_list(con, relation)
                con.execute(f"create table {SCHEMA}.{table} as select {columns} from {relation}")
                rows[table] = con.execute(f"select count(*) from {SCHEMA}.{table}").fetchone()[0]
            if wh.kind == "duckdb":
                con.execute("detach src")
            con.execute("checkpoint")
        os.replace(temporary, target)
    finally:
        Path(temporary).unlink(missing_ok=True)
    return rows
