"""A read-only DuckDB dialect, so Great Expectations can run its SQL on the DuckDB warehouse.

duckdb-engine 0.17 with SQLAlchemy 2.1 and DuckDB 2.0 breaks GX in two ways:

1. Column reflection runs SQLAlchemy's PostgreSQL catalog query, which joins
   `pg_catalog.pg_collation.collnamespace`, a column DuckDB does not have (duckdb_engine
   issues #1379 and #1391). GX then falls back to `SELECT * FROM <table>` without the
   schema, and every expectation fails with "table does not exist".
2. GX reads a query's rows after handing its connection back to the pool. duckdb-engine
   shares one DuckDB cursor per connection, and the ROLLBACK SQLAlchemy sends on return
   replaces the pending result: GX sees no rows.

GX only reads, so this dialect reflects columns from `information_schema` and makes
begin/commit/rollback no-ops (DuckDB runs each statement in its own transaction). Open it
read-only: `duckdb+chatsales_readonly:///path.duckdb` with connect_args read_only=True.
"""

from __future__ import annotations

from typing import Any

import duckdb_engine
import sqlalchemy as sa
from sqlalchemy.dialects import registry
from sqlalchemy.sql import sqltypes

SCHEME = "duckdb+chatsales_readonly"

COLUMNS = sa.text(
    "select column_name, data_type, is_nullable from information_schema.columns"
    " where table_schema = coalesce(:schema, current_schema()) and table_name = :table"
    " order by ordinal_position"
)


class ReadOnlyDuckDBDialect(duckdb_engine.Dialect):
    supports_statement_cache = False

    def do_begin(self, dbapi_connection: Any) -> None:
        pass

    def do_commit(self, dbapi_connection: Any) -> None:
        pass

    def do_rollback(self, dbapi_connection: Any) -> None:
        pass

    def get_columns(self, connection, table_name, schema=None, **kw) -> list[dict[str, Any]]:
        rows = connection.execute(COLUMNS, {"schema": schema, "table": str(table_name)}).all()
        if not rows:
            raise sa.exc.NoSuchTableError(f"{schema}.{table_name}" if schema else table_name)
        return [
            {
                "name": name,
                "type": self.ischema_names.get(data_type.lower(), sqltypes.NullType)(),
                "nullable": nullable == "YES",
                "default": None,
                "autoincrement": False,
                "comment": None,
            }
            for name, data_type, nullable in rows
        ]


registry.register("duckdb.chatsales_readonly", __name__, "ReadOnlyDuckDBDialect")
