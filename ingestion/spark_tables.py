"""A Spark warehouse's raw tables, made from the Parquet files dlt writes.

dlt loads a Spark warehouse through its filesystem destination: each load writes Parquet
files named for it (`<dataset>/<table>/<load id>.<file id>.parquet`, SPARK_RAW_LAYOUT) and
then records the load in `<dataset>/_dlt_loads`. Plain Parquet has no merge, so dlt appends
what a SQL warehouse would merge. After each load, `expose` gives Spark two things per table:

- `<dataset>_files.<table>`: an external table over the table's folder, its columns taken
  from dlt's schema (an empty table needs no file to infer them from, and an older file
  without a newer column reads it as null);
- `<dataset>.<table>`, what the dbt sources read: a view of the table as a SQL warehouse
  would hold it. It shows the rows of completed loads only, so the files of a load killed
  midway are never read, and the next run loads the same rows again under a new load id.
  For a merge table it keeps the newest load's row per primary key; within one load, the
  `dedup_sort` column breaks ties, as in dlt's merge.
"""

from __future__ import annotations

import hashlib
import logging

import dlt
from dlt.common.schema import Schema
from dlt.common.schema.typing import TColumnSchema

from chatsales.core.settings import Warehouse, settings
from chatsales.core.warehouse import connect, quoted

FILES_SUFFIX = "_files"
LOADS_TABLE = "_dlt_loads"
# dlt's load ids are `<unix seconds>.<fraction>`, the start of every file's name
LOAD_ID = r"regexp_extract(_metadata.file_name, '^([0-9]+[.][0-9]+)[.]', 1)"
# the table property that records which columns an external table was created with
COLUMNS_PROPERTY = "chatsales.columns"


class _ExpectedAppend(logging.Filter):
    """dlt warns, per table and load, that it appends what it would merge and so ignores
    the `dedup_sort` hint: expected here, where the views merge."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return (
            "Falling back to `append`" not in message and '"dedup_sort" column hint' not in message
        )


EXPECTED_APPEND = _ExpectedAppend()


def spark_type(column: TColumnSchema) -> str:
    """The Spark type that reads the column as dlt writes it to Parquet."""
    data_type, precision = column["data_type"], column.get("precision")
    if data_type == "bigint":
        return {8: "tinyint", 16: "smallint", 32: "int"}.get(precision or 64, "bigint")
    if data_type in ("decimal", "wei"):  # dlt's default precisions
        scale = column.get("scale", 9 if data_type == "decimal" else 0)
        return f"decimal({precision or 38},{scale})"
    if data_type == "timestamp" and column.get("timezone") is False:
        return "timestamp_ntz"
    return {
        "text": "string",
        "double": "double",
        "bool": "boolean",
        "timestamp": "timestamp",
        "date": "date",
        "binary": "binary",
        "json": "string",  # dlt writes JSON to Parquet as its text
        "time": "string",
    }[data_type]


def columns_ddl(schema: Schema, table: str) -> str:
    columns = schema.get_table_columns(table, include_incomplete=False).values()
    return ", ".join(f"`{column['name']}` {spark_type(column)}" for column in columns)


def view_sql(schema: Schema, dataset: str, table: str, target: Warehouse) -> str:
    """The view of `table` as a SQL warehouse would hold it (see the module's docstring)."""
    landed, loads = (
        quoted(target, f"{dataset}{FILES_SUFFIX}", table),
        quoted(target, f"{dataset}{FILES_SUFFIX}", LOADS_TABLE),
    )
    columns = schema.get_table_columns(table)
    names = ", ".join(f"`{name}`" for name in columns)
    completed = (
        f"select *, {LOAD_ID} as _load_id from {landed} "
        f"where {LOAD_ID} in (select load_id from {loads} where status = 0)"
    )
    keys = [name for name, column in columns.items() if column.get("primary_key")]
    if schema.get_table(table).get("write_disposition") != "merge" or not keys:
        return f"select {names} from ({completed})"
    tie_breaks = [
        f"`{name}` {column['dedup_sort']}"
        for name, column in columns.items()
        if column.get("dedup_sort")
    ]
    ranked = (
        f"select *, row_number() over (partition by {', '.join(f'`{k}`' for k in keys)} "
        f"order by {', '.join(['_load_id desc', *tie_breaks])}) as _version from ({completed})"
    )
    return f"select {names} from ({ranked}) where _version = 1"


def expose(pipeline: dlt.Pipeline, target: Warehouse) -> list[str]:
    """Create or refresh the Spark tables of the pipeline's dataset; the tables, named."""
    schema, dataset = pipeline.default_schema, pipeline.dataset_name
    files = f"{dataset}{FILES_SUFFIX}"
    root = f"{settings().spark_raw_url.rstrip('/')}/{dataset}"
    tables = [
        table
        for table in schema.data_table_names(seen_data_only=False)
        if schema.get_table_columns(table, include_incomplete=False)
    ]
    with connect(target) as conn:
        cursor = conn.cursor()
        for name in (files, dataset):
            cursor.execute(f"create schema if not exists {quoted(target, name)}")
        _external_table(
            cursor, target, files, LOADS_TABLE, "load_id string, schema_name string, "
            "status bigint", "json", f"{root}/{LOADS_TABLE}",
        )  # fmt: skip
        for table in tables:
            _external_table(
                cursor, target, files, table, columns_ddl(schema, table), "parquet",
                f"{root}/{table}",
            )  # fmt: skip
            cursor.execute(
                f"create or replace view {quoted(target, dataset, table)} as "
                f"{view_sql(schema, dataset, table, target)}"
            )
    return [f"{dataset}.{table}" for table in tables]


def _external_table(
    cursor, target: Warehouse, schema: str, table: str, columns: str, using: str, location: str
) -> None:
    """An external table over `location`, created again when its columns changed, and
    refreshed: Spark caches a table's file list, and dlt has added files since."""
    name = quoted(target, schema, table)
    digest = hashlib.sha256(f"{columns} {using} {location}".encode()).hexdigest()[:16]
    cursor.execute(f"show tables in {quoted(target, schema)} like %s", (table,))
    if cursor.fetchall():
        cursor.execute(f"show tblproperties {name} (%s)", (COLUMNS_PROPERTY,))
        if [row[-1] for row in cursor.fetchall()] == [digest]:
            cursor.execute(f"refresh table {name}")
            return
        cursor.execute(f"drop table {name}")  # external: the files stay
    cursor.execute(
        f"create table {name} ({columns}) using {using} location %s tblproperties (%s = %s)",
        (location, COLUMNS_PROPERTY, digest),
    )
