"""Wazzup webhooks from the landing folder: `wazzup/*.jsonl`, one POST body per line.

Read through dlt's filesystem source so the landing can move to an object store. Each
table is its own resource (and so its own Dagster asset); a line that cannot be loaded
goes to the `quarantine` table with its file, line and reason.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import dlt
import pyarrow as pa
from dlt.sources.filesystem import FileItemDict, filesystem

from .. import quarantine
from .parsing import (
    CHANNELS_SCHEMA,
    MESSAGES_SCHEMA,
    STATUSES_SCHEMA,
    iter_lines,
    parse_lines,
    to_arrow,
)

log = logging.getLogger(__name__)

FILE_GLOB = "*.jsonl"  # published files only: the receiver writes .incoming/*.part

TABLES = {
    # resource name: (record kind in the body, arrow schema, primary key)
    "messages": ("messages", MESSAGES_SCHEMA, "message_id"),
    "statuses": ("statuses", STATUSES_SCHEMA, ["message_id", "status", "status_at"]),
    "channels": ("channelsUpdates", CHANNELS_SCHEMA, ["channel_id", "state_changed_at"]),
}
# Edits and deletes re-send a messageId: the last one received wins.
MESSAGE_HINTS = dlt.mark.make_hints(
    table_name="messages", columns={"landing_position": {"dedup_sort": "desc"}}
)


def _batches(kind: str, rows: pa.Table, rejected: list[dict]) -> Iterator[object]:
    if kind == "messages":
        # Only the messages resource judges whole bodies, so a bad line is quarantined once;
        # both are table variants so their hints do not leak into each other.
        yield dlt.mark.with_hints(rows, MESSAGE_HINTS, create_table_variant=True)
    else:
        yield rows
    yield quarantine.marked(rejected)


def _read_file(file: FileItemDict, kind: str, schema: pa.Schema) -> Iterator[object]:
    kinds = {kind, "body"} if kind == "messages" else {kind}
    with file.open(mode="rb") as handle:
        parsed = parse_lines(file["file_name"], iter_lines(handle), kinds)
    yield from _batches(kind, to_arrow(parsed.tables[kind], schema), parsed.rejected)


def _table_resource(bucket_url: str, name: str):
    kind, schema, primary_key = TABLES[name]
    files = filesystem(
        bucket_url=bucket_url,
        file_glob=FILE_GLOB,
        incremental=dlt.sources.incremental("modification_date"),
    ).with_name(f"{name}_files")

    @dlt.transformer(name=name, primary_key=primary_key, write_disposition="merge")
    def read(items: list[FileItemDict]) -> Iterator[object]:
        for file in items:
            yield from _read_file(file, kind, schema)

    return files | read


def _empty_table_resource(name: str):
    """Empty tables, so downstream models run (and show zero) before the first webhook."""
    kind, schema, primary_key = TABLES[name]

    @dlt.resource(name=name, primary_key=primary_key, write_disposition="merge")
    def read() -> Iterator[object]:
        yield from _batches(kind, schema.empty_table(), [])

    return read


@dlt.source(name="wazzup")
def wazzup_landing(landing_dir: str | Path):
    """Messages, statuses and channel state changes stored by the webhook receiver."""
    folder = Path(landing_dir) / "wazzup"
    if not folder.is_dir():
        log.info("wazzup: no landing folder %s, skipped (tables stay empty)", folder)
        return [_empty_table_resource(name) for name in TABLES]
    if not any(folder.glob(FILE_GLOB)):
        # the receiver has published nothing yet: the filesystem source would yield nothing
        # and leave the tables uncreated
        log.info("wazzup: no webhook files in %s yet (tables stay empty)", folder)
        return [_empty_table_resource(name) for name in TABLES]
    return [_table_resource(folder.as_uri(), name) for name in TABLES]
