"""The loading algorithm the CRM sources (amoCRM, Bitrix24) share: API pages become arrow
tables, records that do not convert go to quarantine, and a resource incremental on a
timestamp keeps its cursor in the resource state, committed with the load.

A source gives its pages as `(location, body)` pairs (the page URL or saved file name,
never a secret) and a `RecordTable` saying how to read and convert them.

Why the cursor is kept by hand rather than with `dlt.sources.incremental`: the incremental
step sees every item of a resource, and the quarantine rows share the resource as an arrow
table variant without the cursor and key columns (an arrow table, so that the `quarantine`
table is created even when empty). dlt 1.31 raises IncrementalPrimaryKeyMissing, or with
`primary_key=()` IncrementalCursorPathMissing, on such a table:
`on_cursor_value_missing="include"` covers null cursor values, not a missing column. The
hand-kept cursor also drops a row at the cursor instant by its content digest, so a row
changed again within that second still loads (ingestion/cursors.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import dlt
import pyarrow as pa

from . import cursors, quarantine

CONVERSION_ERRORS = (ValueError, TypeError, AttributeError, OverflowError)
ARROW_ERRORS = (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, UnicodeEncodeError)
Page = tuple[str, Any]


@dataclass(frozen=True)
class RecordTable:
    """How one resource reads its pages.

    Attributes:
        source: The source name, for quarantine rows.
        kind: The record kind (`leads`, `deals`, ...), for quarantine rows.
        records: The records of a page body; a ValueError quarantines the whole body.
        convert: One record to a row, or to a list of rows; a conversion error quarantines it.
        schema: The arrow schema of the rows.
    """

    source: str
    kind: str
    records: Callable[[Any], list[Any]]
    convert: Callable[[Any], dict[str, Any] | list[dict[str, Any]]]
    schema: pa.Schema


def page_tables(pages: Iterable[Page], table: RecordTable) -> Iterator[object]:
    """One arrow table per page, then the quarantine rows. Both tables are created even when
    there is nothing to read, so downstream models always run."""
    rejected: list[dict[str, Any]] = []
    yielded = False
    for location, body in pages:
        try:
            records = table.records(body)
        except ValueError as exc:
            rejected.append(quarantine.record(table.source, location, 0, "body", 0, body,
                                              str(exc)))  # fmt: skip
            continue
        rows: list[_Row] = []
        for index, record in enumerate(records):
            try:
                converted = table.convert(record)
            except CONVERSION_ERRORS as exc:
                rejected.append(quarantine.record(table.source, location, 0, table.kind, index,
                                                  record, str(exc)))  # fmt: skip
                continue
            for row in converted if isinstance(converted, list) else [converted]:
                rows.append(_Row(index, record, row))
        yield _arrow(rows, table, location, rejected)
        yielded = True
    if not yielded:
        yield table.schema.empty_table()
    yield quarantine.marked(rejected)


@dataclass(frozen=True)
class _Row:
    index: int  # of its record in the page
    record: Any
    row: dict[str, Any]


def _arrow(rows: list[_Row], table: RecordTable, location: str, rejected: list) -> pa.Table:
    """The page's rows as Arrow; a row Arrow refuses (a list where text belongs, a lone
    surrogate, an integer past 64 bits) is quarantined with its record, and the rest load.
    Row by row only when the whole page fails, which is rare."""
    try:
        return pa.Table.from_pylist([r.row for r in rows], schema=table.schema)
    except ARROW_ERRORS:
        pass
    kept = []
    for r in rows:
        try:
            pa.Table.from_pylist([r.row], schema=table.schema)
        except ARROW_ERRORS as exc:
            reason = f"does not fit the {table.kind} table: {exc}"
            rejected.append(
                quarantine.record(table.source, location, 0, table.kind, r.index, r.record, reason)
            )
        else:
            kept.append(r.row)
    return pa.Table.from_pylist(kept, schema=table.schema)


def _saved_cursor(value: str | int | None) -> datetime | None:
    if value is None or value == 0:
        return None
    if isinstance(value, int):  # amoCRM states written before the cursor was ISO text
        return datetime.fromtimestamp(value, UTC)
    return datetime.fromisoformat(value)


def changed_since(
    fetch: Callable[[datetime | None], Iterable[Page]], table: RecordTable, column: str
) -> Iterator[object]:
    """The rows changed since the resource's cursor on `column`: `fetch(cursor)` asks the API
    for changes at or after it (None: everything); rows that earlier runs loaded are then
    dropped (ingestion/cursors.py). Pages need not come in time order."""
    state = dlt.current.resource_state()
    key = f"{column}_cursor"
    cursor = _saved_cursor(state.get(key))
    seen_at_cursor = set(state.get("rows_at_cursor", []))
    loaded_until, loaded_rows = cursor, frozenset(seen_at_cursor)
    for item in page_tables(fetch(cursor), table):
        if isinstance(item, pa.Table) and item.num_rows:
            item = cursors.unseen(item, column, loaded_until, loaded_rows)
            cursor, seen_at_cursor = cursors.advance(item, column, cursor, seen_at_cursor)
            if cursor is not None:
                state[key] = cursor.isoformat()
                state["rows_at_cursor"] = sorted(seen_at_cursor)
        yield item
