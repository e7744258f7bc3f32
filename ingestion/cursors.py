"""Incremental cursors kept by hand on a timestamp column, for the CRM sources (why not
dlt.sources.incremental: their quarantine rows share the resources as arrow tables without
the cursor column, which dlt's incremental step rejects; see ingestion/crm_loading.py).

The CRM APIs filter with `>=` and a saved snapshot folder does not filter at all, so rows
already loaded come back. Like dlt's incremental, the cursor keeps a digest of each row
loaded at its newest instant and drops those rows when they come back unchanged (a row
changed again within that second is kept): a re-run with nothing new loads no rows, which
is what tells the new-data sensor that the marts need no refresh.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

import pyarrow as pa


def row_digest(row: dict) -> str:
    return hashlib.sha256(json.dumps(row, default=str, sort_keys=True).encode()).hexdigest()[:16]


def unseen(table: pa.Table, column: str, cursor: datetime | None, seen: set[str]) -> pa.Table:
    """The rows newer than the cursor, or at it and not loaded in this form before (and rows
    without a timestamp, which cannot be compared)."""
    if cursor is None:
        return table
    keep = [
        row[column] is None
        or row[column] > cursor
        or (row[column] == cursor and row_digest(row) not in seen)
        for row in table.to_pylist()
    ]
    return table.filter(pa.array(keep, pa.bool_()))


def advance(
    table: pa.Table, column: str, cursor: datetime | None, seen: set[str]
) -> tuple[datetime | None, set[str]]:
    """The cursor after loading `table`: its newest instant and the rows loaded there."""
    seen = set(seen)
    for row in table.to_pylist():
        at = row[column]
        if at is None:
            continue
        if cursor is None or at > cursor:
            cursor, seen = at, set()
        if at == cursor:
            seen.add(row_digest(row))
    return cursor, seen
