"""One quarantine shape for every source: a record that cannot be loaded is kept, whole,
with where it came from and why, in the source's `quarantine` table; the rest loads."""

from __future__ import annotations

import json
import logging
from typing import Any

import dlt
import pyarrow as pa

from .storable import escaped

log = logging.getLogger(__name__)

SCHEMA = pa.schema(
    [
        ("source", pa.string()),
        # the file name (landing sources) or the page URL / saved page name (APIs)
        pa.field("location", pa.string(), nullable=False),
        # 1-based line in the file; 0 for an API page
        pa.field("line", pa.int64(), nullable=False),
        # which part of the payload: a whole body, or messages, statuses, leads, ...
        pa.field("record_kind", pa.string(), nullable=False),
        pa.field("record_index", pa.int64(), nullable=False),
        ("raw_payload", pa.string()),
        ("reason", pa.string()),
    ]
)
PRIMARY_KEY = ["location", "line", "record_kind", "record_index"]
# A table variant: it shares a resource with good rows without taking their hints.
HINTS = dlt.mark.make_hints(
    table_name="quarantine", write_disposition="merge", primary_key=PRIMARY_KEY
)


def record(
    source: str,
    location: str,
    line: int,
    record_kind: str,
    record_index: int,
    payload: Any,
    reason: str,
) -> dict[str, Any]:
    """A quarantine row; logs a warning naming the record and the reason."""
    log.warning("%s: quarantined %s line %s (%s #%s): %s",
                source, location, line, record_kind, record_index, reason)  # fmt: skip
    raw = payload if isinstance(payload, str) else _as_json(payload)
    return {
        "source": source,
        "location": location,
        "line": line,
        "record_kind": record_kind,
        "record_index": record_index,
        "raw_payload": escaped(raw),
        "reason": escaped(reason),
    }


def _as_json(payload: Any) -> str:
    try:
        return json.dumps(payload, ensure_ascii=False)
    except (ValueError, RecursionError) as exc:  # an integer past 4,300 digits, deep nesting
        return f"(not kept: {exc})"


def table(rows: list[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=SCHEMA)


def marked(rows: list[dict[str, Any]]):
    """Rows to yield from a resource so they land in its source's `quarantine` table."""
    return dlt.mark.with_hints(table(rows), HINTS, create_table_variant=True)
