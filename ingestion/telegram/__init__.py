"""Telegram Desktop exports from the landing folder: `telegram/<manager_id>/*.json`.

The folder names the manager whose export it is. managers.csv gives the manager's time zone
(for exports older than ~2021, which lack epoch times) and the Telegram user ids of every
manager (their messages are the `manager` side). Message ids are `tg:<chat>:<message>`, so a
later export overlapping an earlier one only adds the new messages. Read through dlt's
filesystem source, new or changed files only; what cannot be loaded goes to `quarantine`.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterator
from pathlib import Path

import dlt
from dlt.sources.filesystem import FileItemDict, filesystem

from chatsales.core.settings import reporting_timezone

from .. import quarantine
from ..directory import ManagerDirectory
from .parser import MESSAGES_SCHEMA, parse_file, to_arrow

log = logging.getLogger(__name__)

FILE_GLOB = "*/*.json"
# Two files of one load holding the same message (overlapping exports): keep the one from
# the file whose path sorts last (date-named exports: the later one). Across loads the
# later load wins anyway.
MESSAGE_HINTS = dlt.mark.make_hints(
    table_name="messages", columns={"landing_file": {"dedup_sort": "desc"}}
)


def manager_directory(path: Path) -> tuple[set[str], dict[str, str]]:
    """Telegram user ids of all managers (numeric strings) and each manager's time zone."""
    if not path.is_file():
        log.info("telegram: no %s, the manager side comes from the exports only", path)
    directory = ManagerDirectory.read(path)
    user_ids = {
        value.removeprefix("user")
        for values in directory.identities_of("telegram_user_id").values()
        for value in values
    }
    return user_ids, directory.timezones()


def _batches(messages, rejected: list[dict]) -> Iterator[object]:
    # both are table variants so the hints of one do not leak into the other
    yield dlt.mark.with_hints(messages, MESSAGE_HINTS, create_table_variant=True)
    yield quarantine.marked(rejected)


def _read_file(file: FileItemDict, user_ids: set[str], zones: dict[str, str]) -> Iterator[object]:
    landing_file = file["relative_path"]  # e.g. igor/result.json
    manager_id = landing_file.split("/", 1)[0]
    timezone = zones.get(manager_id) or reporting_timezone()
    parsed = parse_file(file.read_bytes(), landing_file, manager_id, user_ids, timezone)
    log.info("telegram: %s: %d messages, %d quarantined",
             landing_file, len(parsed.messages), len(parsed.rejected))  # fmt: skip
    yield from _batches(to_arrow(parsed.messages), parsed.rejected)


def _messages_resource(bucket_url: str, managers_csv: Path):
    files = filesystem(
        bucket_url=bucket_url,
        file_glob=FILE_GLOB,
        incremental=dlt.sources.incremental("modification_date"),
    ).with_name("messages_files")

    @functools.cache
    def directory() -> tuple[set[str], dict[str, str]]:
        return manager_directory(managers_csv)  # read when the load runs, once

    @dlt.transformer(name="messages", primary_key="message_id", write_disposition="merge")
    def read(items: list[FileItemDict]) -> Iterator[object]:
        user_ids, zones = directory()
        for file in items:
            yield from _read_file(file, user_ids, zones)

    return files | read


def _empty_resource():
    """Empty tables, so downstream models run (and show zero) before the first export."""

    @dlt.resource(name="messages", primary_key="message_id", write_disposition="merge")
    def read() -> Iterator[object]:
        yield from _batches(MESSAGES_SCHEMA.empty_table(), [])

    return read


@dlt.source(name="telegram")
def telegram(landing_dir: str | Path):
    """Messages of the Telegram Desktop chat exports managers drop in the landing folder."""
    landing = Path(landing_dir)
    folder = landing / "telegram"
    if not folder.is_dir():
        log.info("telegram: no landing folder %s, skipped (tables stay empty)", folder)
        return _empty_resource()
    if not any(folder.glob(FILE_GLOB)):
        # the filesystem source would yield nothing and leave the tables uncreated
        log.info("telegram: no exports in %s yet (tables stay empty)", folder)
        return _empty_resource()
    return _messages_resource(folder.as_uri(), landing / "managers.csv")
