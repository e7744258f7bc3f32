"""A Spark warehouse's SQL: a DB-API connection to its Thrift server (PyHive).

Spark hands timestamps over in its session time zone, UTC, without an offset. Rows come back
with them as UTC instants, as DuckDB and PostgreSQL give `timestamp with time zone`, so what
reads them (partitions, alerts, GX's comparisons with aware bounds) needs no Spark case.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pyhive import hive


def _aware(value):
    return value.replace(tzinfo=UTC) if isinstance(value, datetime) and not value.tzinfo else value


class UtcCursor(hive.Cursor):
    def fetchone(self):  # fetchmany, fetchall and iteration go through it
        row = super().fetchone()
        return None if row is None else tuple(_aware(value) for value in row)


class UtcConnection(hive.Connection):
    def cursor(self, *args, **kwargs) -> UtcCursor:
        return UtcCursor(self, *args, **kwargs)


def connect(**params) -> UtcConnection:
    """PyHive's `hive.connect` (host, port, username, database), with UTC-aware rows."""
    return UtcConnection(**params)
