"""Wazzup webhooks from the landing folder: `wazzup/*.jsonl`, one POST body per line.

Read through dlt's filesystem source so the landing can move to an object store. Each new
or changed file is read and parsed once, into every table; each table is its own resource
(and so its own Dagster asset) fed from that one pass. A line that cannot be loaded goes to
the `quarantine` table with its file, line and reason.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import dlt
import pyarrow as pa
from dlt.sources.filesystem import FileItemDict, filesystem

from .. import quarantine
from .parsing import KINDS, ParsedFile, parse_file

log = logging.getLogger(__name__)

FILE_GLOB = "*.jsonl"  # published files only: the receiver writes .incoming/*.part

TABLES = {
    # resource name: (record kind in the body, primary key)
    # one row per version: an edit or a delete re-sends the messageId (staging keeps the latest)
    "messages": ("messages", ["message_id", "is_edited", "is_deleted"]),
    "statuses": ("statuses", ["message_id", "status", "status_at"]),
    "channels": ("channelsUpdates", ["channel_id", "state_changed_at"]),
}
# The same version delivered twice (Wazzup retries for up to 24 hours): the last one wins.
MESSAGE_HINTS = dlt.mark.make_hints(
    table_name="messages", columns={"landing_position": {"dedup_sort": "desc"}}
)


def _batches(name: str, rows: pa.Table, rejected: list[dict]) -> Iterator[object]:
    if name == "messages":
        # Only the messages resource yields the quarantined lines and records, so each is
        # yielded once; both are table variants so their hints do not leak into each other.
        yield dlt.mark.with_hints(rows, MESSAGE_HINTS, create_table_variant=True)
        yield quarantine.marked(rejected)
    else:
        yield rows


def _parsed_files(bucket_url: str):
    """New and changed files, each parsed once into all its tables."""
    files = filesystem(
        bucket_url=bucket_url,
        file_glob=FILE_GLOB,
        incremental=dlt.sources.incremental("modification_date"),
    ).with_name("landing_files")

    @dlt.transformer(name="parsed_files")
    def parse(items: list[FileItemDict]) -> Iterator[ParsedFile]:
        for file in items:
            with file.open(mode="rb") as handle:
                yield parse_file(file["file_name"], handle)

    return files | parse


def _table_resource(parsed_files, name: str):
    kind, primary_key = TABLES[name]

    @dlt.transformer(name=name, primary_key=primary_key, write_disposition="merge")
    def read(parsed: ParsedFile) -> Iterator[object]:
        yield from _batches(name, parsed.table(kind), parsed.rejected)

    return parsed_files | read


def _empty_table_resource(name: str):
    """Empty tables, so downstream models run (and show zero) before the first webhook."""
    kind, primary_key = TABLES[name]

    @dlt.resource(name=name, primary_key=primary_key, write_disposition="merge")
    def read() -> Iterator[object]:
        yield from _batches(name, KINDS[kind][1].empty_table(), [])

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
    parsed_files = _parsed_files(folder.as_uri())
    return [_table_resource(parsed_files, name) for name in TABLES]
