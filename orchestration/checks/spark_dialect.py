"""PyHive's SQLAlchemy dialect for Spark's Thrift server, its rows typed as DuckDB's (UTC
instants, dates: chatsales.core.spark_sql), so GX compares them with the suites' aware bounds."""

from __future__ import annotations

from pyhive.sqlalchemy_hive import HiveDialect
from sqlalchemy.dialects import registry

from chatsales.core import spark_sql

SCHEME = "hive+chatsales_utc"


class UtcHiveDialect(HiveDialect):
    supports_statement_cache = False

    def connect(self, *cargs, **cparams):
        return spark_sql.connect(*cargs, **cparams)


registry.register("hive.chatsales_utc", __name__, "UtcHiveDialect")
