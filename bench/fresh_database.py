"""A fresh PostgreSQL database for one benchmark warehouse, dropped afterwards; on Spark, a
cluster emptied of the warehouse's schemas."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg2

from chatsales.core.settings import Warehouse


def _execute(server: Warehouse, statement: str) -> None:
    conn = psycopg2.connect(**server.postgres, connect_timeout=10)
    conn.autocommit = True  # create/drop database refuse to run in a transaction
    try:
        with conn.cursor() as cursor:
            cursor.execute(statement)
    finally:
        conn.close()


@contextmanager
def fresh_postgres_database(server_url: str, purpose: str = "") -> Iterator[str]:
    """Create an empty database on the server of `server_url` (whose user may create
    databases) and yield its warehouse URL; drop it on the way out. `purpose` is a suffix of
    its name, so one bench can hold two at once."""
    server = Warehouse(server_url)
    name = f"chatsales_bench_{os.getpid()}" + (f"_{purpose}" if purpose else "")
    _execute(server, f'drop database if exists "{name}" with (force)')
    _execute(server, f'create database "{name}"')
    try:
        yield server.postgres_url(database=name)
    finally:
        _execute(server, f'drop database if exists "{name}" with (force)')


@contextmanager
def fresh_spark_warehouse(url: str) -> Iterator[str]:
    """The Spark cluster of `url` (its Thrift server) without the schemas a chatsales run
    creates, before and after: a first run builds everything."""
    from chatsales.core.warehouse import query

    warehouse = Warehouse(url)

    def drop_ours() -> None:
        for (schema,) in query("show schemas", warehouse):
            if schema.startswith("raw_") or schema in ("staging", "intermediate", "marts", "seeds"):
                query(f"drop schema `{schema}` cascade", warehouse)

    drop_ours()
    try:
        yield url
    finally:
        drop_ours()
