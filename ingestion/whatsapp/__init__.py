"""WhatsApp "Export chat" files from the landing folder: `whatsapp/<manager_id>/*.txt`.

The folder name is the manager who exported the chat (the phone's owner); the manager's
`whatsapp_names` and `timezone` come from `managers.csv` (a missing file: no names, times
read in Europe/Moscow). Read through dlt's filesystem source, incrementally on the file's
modification date: a re-exported (longer) chat dropped over the old file is read again and
merges on `message_id`, so only its new messages are added. A file whose date order cannot
be decided, or that holds a date no order reads, is quarantined whole, with the reason; a
line before the first message is quarantined alone.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import dlt
import pyarrow as pa
from dlt.sources.filesystem import FileItemDict, filesystem

from chatsales.core.settings import reporting_timezone

from .. import quarantine
from ..directory import ManagerDirectory
from ..exports import MESSAGES_SCHEMA
from ..phones import normalize_phone
from .parser import (
    SOURCE,
    ParsedExport,
    UndecidableDateOrder,
    chat_name_from_file,
    chat_name_from_text,
    file_stem,
    parse_export,
)

log = logging.getLogger(__name__)

FILE_GLOB = "*/*.txt"  # <manager_id>/<export>.txt

YOU = {"you", "вы"}
IOS_DEFAULT_STEM = "_chat"  # the text inside an iOS export zip: the chat name is in the text
PHONE = re.compile(r"\+?[\d\s\-()\u2011\u00a0]{7,}")


@dataclass(frozen=True)
class Directory:
    """Per manager folder: WhatsApp names (casefolded) and the phone's time zone."""

    names: dict[str, set[str]] = field(default_factory=dict)
    timezones: dict[str, str] = field(default_factory=dict)


def load_directory(
    landing: Path,
    managers: Mapping[str, list[str]] | None = None,
    timezones: Mapping[str, str] | None = None,
) -> Directory:
    """Names and zones from managers.csv; explicit mappings replace what the file says."""
    names: Mapping[str, Iterable[str]] = {}
    zones: Mapping[str, str] = {}
    path = landing / "managers.csv"
    if managers is None or timezones is None:
        if not path.is_file():
            log.info(
                "whatsapp: no %s: no manager names, times read in %s", path, reporting_timezone()
            )
        directory = ManagerDirectory.read(path)
        names, zones = directory.identities_of("whatsapp_name"), directory.timezones()
    names = managers if managers is not None else names
    zones = dict(timezones) if timezones is not None else dict(zones)
    return Directory({k: {n.strip().casefold() for n in v} for k, v in names.items()}, zones)


def chat_key(manager_id: str, file_name: str, text: str) -> str:
    """`<manager_id>:<chat name from the file name, else the file stem>`; an iOS `_chat.txt`
    takes the chat name written in its encryption notice."""
    stem = file_stem(file_name)
    from_text = chat_name_from_text(text) if stem == IOS_DEFAULT_STEM else None
    return f"{manager_id}:{chat_name_from_file(file_name) or from_text or stem}"


def phone_digits(name: str | None) -> str | None:
    """E.164 digits when a chat or author name is a phone number ("+7 900 123-45-67")."""
    return normalize_phone(name) if name and PHONE.fullmatch(name.strip()) else None


def to_rows(
    parsed: ParsedExport, manager_id: str, key: str, landing_file: str, names: set[str]
) -> list[dict[str, Any]]:
    """Rows of the raw `messages` contract for one parsed file."""
    chat_name = parsed.chat_name or key.split(":", 1)[1]
    personal = len(parsed.authors) <= 2
    owner_by_chat_name = personal and chat_name in parsed.authors
    managers = {
        a for a in parsed.authors
        if a.casefold() in names or a.casefold() in YOU or (owner_by_chat_name and a != chat_name)
    }  # fmt: skip
    phones = {p for a in parsed.authors if a not in managers and (p := phone_digits(a))}
    client_phone = phone_digits(chat_name) or (
        phones.pop() if personal and len(phones) == 1 else None
    )
    return [
        {
            "message_id": m["message_id"],
            "manager_id": manager_id,
            "chat_id": key,
            "chat_name": chat_name,
            "chat_type": "personal" if personal else "group",
            "author_id": m["author_name"],
            "author_name": m["author_name"],
            "author_side": "system" if m["is_system"] or m["author_name"] is None
            else "manager" if m["author_name"] in managers else "client",
            "sent_at": m["sent_at"],
            "message_type": m["message_type"],
            "text": m["text"],
            "is_deleted": m["is_deleted"],
            "is_edited": m["is_edited"],
            "client_phone": client_phone,
            "landing_file": landing_file,
            "landing_line": m["landing_line"],
        }
        for m in parsed.messages
    ]  # fmt: skip


def read_export(
    landing_file: str, data: bytes, directory: Directory
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(message rows, quarantine rows) of one file, `landing_file` relative to whatsapp/."""
    manager_id = PurePosixPath(landing_file).parts[0]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        log.warning("whatsapp: %s is not valid UTF-8; bad bytes read as U+FFFD", landing_file)
        text = data.decode("utf-8", errors="replace")
    key = chat_key(manager_id, landing_file, text)
    zone = directory.timezones.get(manager_id) or reporting_timezone()
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        reason = f"{landing_file}: time zone {zone!r} of manager {manager_id}: {exc!r}"
        return [], [quarantine.record(SOURCE, landing_file, 0, "file", 0, text, reason)]
    try:
        parsed = parse_export(text, landing_file, key, zone)
    except UndecidableDateOrder as exc:
        return [], [quarantine.record(SOURCE, landing_file, 0, "file", 0, text, str(exc))]
    names = directory.names.get(manager_id, set())
    return to_rows(parsed, manager_id, key, landing_file, names), parsed.rejected


def _messages_resource(folder: Path, directory: Callable[[], Directory]):
    files = filesystem(
        bucket_url=folder.as_uri(),
        file_glob=FILE_GLOB,
        incremental=dlt.sources.incremental("modification_date"),
    ).with_name("messages_files")

    @dlt.transformer(name="messages", primary_key="message_id", write_disposition="merge")
    def read(items: list[FileItemDict]) -> Iterator[object]:
        # newest file first: when two exports of a chat arrive together, the newer row wins
        seen: set[str] = set()
        for file in sorted(items, key=lambda item: item["modification_date"], reverse=True):
            rows, rejected = read_export(file["relative_path"], file.read_bytes(), directory())
            fresh = [row for row in rows if row["message_id"] not in seen]
            seen.update(row["message_id"] for row in fresh)
            yield pa.Table.from_pylist(fresh, schema=MESSAGES_SCHEMA)
            yield quarantine.marked(rejected)

    return files | read


def _empty_messages_resource():
    """Empty tables, so downstream models run (and show zero) before the first export."""

    @dlt.resource(name="messages", primary_key="message_id", write_disposition="merge")
    def read() -> Iterator[object]:
        yield MESSAGES_SCHEMA.empty_table()
        yield quarantine.marked([])

    return read


@dlt.source(name="whatsapp")
def whatsapp(
    landing_dir: str | Path,
    managers: Mapping[str, list[str]] | None = None,
    timezones: Mapping[str, str] | None = None,
):
    """Chats exported by managers' phones; `managers` ({manager_id: [whatsapp names]}) and
    `timezones` ({manager_id: zone}) default to what `<landing>/managers.csv` says."""
    landing = Path(landing_dir)
    folder = landing / "whatsapp"
    if not folder.is_dir():
        log.info("whatsapp: no landing folder %s, skipped (tables stay empty)", folder)
        return _empty_messages_resource()
    if not any(folder.glob(FILE_GLOB)):
        # the filesystem source would yield nothing and leave the tables uncreated
        log.info("whatsapp: no exports in %s yet (tables stay empty)", folder)
        return _empty_messages_resource()
    # read when the load runs (not when the source is built), once per run
    directory = functools.cache(functools.partial(load_directory, landing, managers, timezones))
    return _messages_resource(folder, directory)
