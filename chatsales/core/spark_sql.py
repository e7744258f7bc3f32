"""A Spark warehouse's SQL: a DB-API connection to its Thrift server (PyHive).

Spark hands timestamps over in its session time zone, UTC, without an offset, and dates as
text. Rows come back with UTC instants and dates, as DuckDB and PostgreSQL give
`timestamp with time zone` and `date`, so what reads them (partitions, alerts, GX's
comparisons with aware bounds, the tests' comparisons across engines) needs no Spark case.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from pyhive import hive


def _as_engines_give(value, type_code: str):
    if type_code == "TIMESTAMP_TYPE" and isinstance(value, datetime) and not value.tzinfo:
        return value.replace(tzinfo=UTC)
    if type_code == "DATE_TYPE" and isinstance(value, str):
        return date.fromisoformat(value)
    return value


class TypedCursor(hive.Cursor):
    def fetchone(self):  # fetchmany, fetchall and iteration go through it
        row = super().fetchone()
        if row is None:
            return None
        types = [column[1] for column in self.description]
        return tuple(_as_engines_give(v, t) for v, t in zip(row, types, strict=True))


class TypedConnection(hive.Connection):
    def cursor(self, *args, **kwargs) -> TypedCursor:
        return TypedCursor(self, *args, **kwargs)


def connect(**params) -> TypedConnection:
    """PyHive's `hive.connect` (host, port, username, database), its rows typed as the other
    engines give them."""
    return TypedConnection(**params)
