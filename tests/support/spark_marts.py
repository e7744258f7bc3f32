"""Whether Spark's marts equal a DuckDB warehouse's (the same landing): per mart, the rows only
in one of them, counted with duplicates. Spark's rows come through the Thrift server (PyHive,
.venv-spark) as text, so both sides are put in one form first: numbers rounded to 6 places,
timestamps as `YYYY-MM-DD HH:MM:SS[.ffffff]` without a UTC offset, booleans lower case."""

from __future__ import annotations

import math
import re
from collections import Counter
from datetime import date, datetime
from decimal import Decimal

import duckdb

from chatsales.app.spark.thrift import run_sql

from .same_marts import MARTS

TIMESTAMP = re.compile(r"(\d{4}-\d\d-\d\d)[ T](\d\d:\d\d:\d\d)(\.\d+)?(\+00:00)?")
NUMBER = re.compile(r"-?\d+(\.\d+)?([eE]-?\d+)?")


def comparable(value):
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, float, Decimal)):
        number = float(value)
        return None if math.isnan(number) else round(number, 6)
    if isinstance(value, datetime):
        value = value.replace(tzinfo=None).isoformat(sep=" ")
    elif isinstance(value, date):
        value = value.isoformat()
    text = str(value)
    if match := TIMESTAMP.fullmatch(text):
        fraction = (match.group(3) or "").rstrip("0").rstrip(".")
        return f"{match.group(1)} {match.group(2)}{fraction}"
    if NUMBER.fullmatch(text):
        return round(float(text), 6)
    return {"true": "true", "false": "false"}.get(text.lower(), text)


def differing_rows(duckdb_path: str, port: int | None = None) -> dict[str, tuple[int, int]]:
    """Per mart that differs: (rows only in Spark, rows only in DuckDB)."""
    con = duckdb.connect(duckdb_path, read_only=True)
    counts = {}
    try:
        for mart in MARTS:
            columns = [row[0] for row in con.execute(
                "select column_name from information_schema.columns "
                "where table_schema = 'marts' and table_name = ? order by ordinal_position",
                [mart],
            ).fetchall()]  # fmt: skip
            spark_sql = f"select {', '.join(f'`{c}`' for c in columns)} from marts.{mart}"
            duckdb_sql = (
                f"select {', '.join(f'{chr(34)}{c}{chr(34)}' for c in columns)} from marts.{mart}"
            )
            spark = Counter(tuple(map(comparable, row)) for row in run_sql([spark_sql], port))
            local = Counter(
                tuple(map(comparable, row)) for row in con.execute(duckdb_sql).fetchall()
            )
            only = (sum((spark - local).values()), sum((local - spark).values()))
            if any(only):
                counts[mart] = only
    finally:
        con.close()
    return counts
