"""Small read helpers over the configured warehouse (summaries, tests, checks)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .settings import Warehouse, duckdb_settings, warehouse


@contextmanager
def connect(target: Warehouse | None = None, read_only: bool = True) -> Iterator[Any]:
    """A DB-API connection to the warehouse (DuckDB read-only by default)."""
    target = target or warehouse()
    if target.kind == "duckdb":
        import duckdb

        conn = duckdb.connect(str(target.duckdb_path), read_only=read_only)
        set_duckdb_settings(conn)
    elif target.kind == "spark":
        from .spark_sql import connect as spark_connect

        spark = target.spark
        conn = spark_connect(host=spark["host"], port=int(spark["port"]), username=spark["user"])
    else:
        import psycopg2

        # a host that does not answer must not hang a sensor's tick
        conn = psycopg2.connect(**target.postgres, connect_timeout=10)
    try:
        yield conn
    finally:
        conn.close()


def set_duckdb_settings(conn: Any) -> None:
    """Apply `duckdb_settings()` to a DuckDB connection (SET, not connect-time config: a
    process may hold the same file open through dlt, and DuckDB refuses a second connection
    with a different config)."""
    for name, value in duckdb_settings().items():
        conn.execute(f"set {name} = '{value}'")


def driver_errors(target: Warehouse) -> tuple[type[Exception], ...]:
    """What the driver raises when the warehouse cannot be read (a DuckDB file locked by a
    writer, a server down, a table missing)."""
    if target.kind == "duckdb":
        import duckdb

        return (duckdb.Error,)
    if target.kind == "spark":
        from pyhive.exc import Error
        from thrift.Thrift import TException

        return (Error, TException, OSError)
    import psycopg2

    return (psycopg2.Error,)


def error_line(error: Exception) -> str:
    """A driver error in one line: its first, or its repr when it has no message."""
    text = str(error).strip()
    return text.splitlines()[0] if text else repr(error)


def query(sql: str, target: Warehouse | None = None) -> list[tuple]:
    with connect(target) as conn:
        cursor = conn.cursor()
        cursor.execute(sql)
        return cursor.fetchall()


def quoted(target: Warehouse, *names: str) -> str:
    """`schema.table` as the engine quotes names: backticks on Spark, double quotes else."""
    mark = "`" if target.kind == "spark" else '"'
    return ".".join(f"{mark}{name}{mark}" for name in names)


def table_names(schema: str, target: Warehouse | None = None) -> list[str]:
    """The tables and views of a schema, sorted (none when the schema does not exist)."""
    target = target or warehouse()
    placeholder = "?" if target.kind == "duckdb" else "%s"
    with connect(target) as conn:
        cursor = conn.cursor()
        if target.kind == "spark":  # Spark has no information_schema
            cursor.execute("show schemas like %s", (schema,))
            if not cursor.fetchall():
                return []
            cursor.execute(f"show tables in {quoted(target, schema)}")
            return sorted(name for _, name, temporary in cursor.fetchall() if not temporary)
        cursor.execute(
            "select table_name from information_schema.tables "
            f"where table_schema = {placeholder} order by table_name",
            (schema,),
        )
        return [row[0] for row in cursor.fetchall()]


def table_counts(schema: str, target: Warehouse | None = None) -> dict[str, int]:
    """Row counts of every table in a schema, by table name."""
    target = target or warehouse()
    names = table_names(schema, target)
    with connect(target) as conn:
        cursor = conn.cursor()
        counts = {}
        for name in names:
            cursor.execute(f"select count(*) from {quoted(target, schema, name)}")
            counts[name] = cursor.fetchone()[0]
        return counts
