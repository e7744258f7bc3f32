"""Turn Wazzup webhook bodies (one JSON body per line) into typed rows.

Every line is accounted for: it yields rows, is a known no-data body (the `{"test": true}`
ping, contact/deal creation), or is quarantined with its file, line and reason.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from .. import quarantine

SOURCE = "wazzup"
CHAT_TYPES = {
    "whatsapp", "whatsgroup", "viber", "instagram", "telegram",
    "telegroup", "vk", "avito", "max", "maxgroup",
}  # fmt: skip
IGNORED_BODY_KEYS = {"test", "createContact", "createDeal", "templateStatus"}

TS = pa.timestamp("us", tz="UTC")
MESSAGES_SCHEMA = pa.schema(
    [
        pa.field("message_id", pa.string(), nullable=False),
        ("channel_id", pa.string()),
        ("chat_type", pa.string()),
        ("chat_id", pa.string()),
        ("date_time", TS),
        ("type", pa.string()),
        ("is_echo", pa.bool_()),
        ("text", pa.string()),
        ("content_uri", pa.string()),
        ("status", pa.string()),
        ("author_id", pa.string()),
        ("author_name", pa.string()),
        ("sent_from_app", pa.bool_()),
        ("is_edited", pa.bool_()),
        ("is_deleted", pa.bool_()),
        ("contact_name", pa.string()),
        ("contact_phone", pa.string()),
        ("contact_username", pa.string()),
        ("landing_file", pa.string()),
        ("landing_line", pa.int64()),
        ("landing_position", pa.string()),
    ]
)
STATUSES_SCHEMA = pa.schema(
    [
        pa.field("message_id", pa.string(), nullable=False),
        pa.field("status", pa.string(), nullable=False),
        pa.field("status_at", TS, nullable=False),
        ("landing_file", pa.string()),
        ("landing_line", pa.int64()),
    ]
)
CHANNELS_SCHEMA = pa.schema(
    [
        pa.field("channel_id", pa.string(), nullable=False),
        ("state", pa.string()),
        pa.field("state_changed_at", TS, nullable=False),
        ("landing_file", pa.string()),
        ("landing_line", pa.int64()),
    ]
)


class BadRecord(ValueError):
    """A record that cannot be loaded; its message is the quarantine reason."""


def parse_utc(value: Any, name: str) -> datetime:
    if not isinstance(value, str) or not value:
        raise BadRecord(f"{name} missing or not a string")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise BadRecord(f"{name} is not an ISO timestamp: {value!r}") from exc
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _text(record: dict, key: str, required: bool = False) -> str | None:
    value = record.get(key)
    if value is None:
        if required:
            raise BadRecord(f"{key} missing")
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise BadRecord(f"{key} has unexpected type {type(value).__name__}")
    return str(value)


def message_row(record: Any) -> dict[str, Any]:
    if not isinstance(record, dict):
        raise BadRecord("message is not an object")
    chat_type = _text(record, "chatType", required=True)
    if chat_type not in CHAT_TYPES:
        raise BadRecord(f"unknown chatType {chat_type!r}")
    contact = record.get("contact") or {}
    if not isinstance(contact, dict):
        raise BadRecord("contact is not an object")
    return {
        "message_id": _text(record, "messageId", required=True),
        "channel_id": _text(record, "channelId", required=True),
        "chat_type": chat_type,
        "chat_id": _text(record, "chatId", required=True),
        "date_time": parse_utc(record.get("dateTime"), "dateTime"),
        "type": _text(record, "type") or "unknown",
        "is_echo": bool(record.get("isEcho", False)),
        "text": _text(record, "text"),
        "content_uri": _text(record, "contentUri"),
        "status": _text(record, "status"),
        "author_id": _text(record, "authorId"),
        "author_name": _text(record, "authorName"),
        "sent_from_app": bool(record.get("sentFromApp", False)),
        "is_edited": bool(record.get("isEdited", False)),
        "is_deleted": bool(record.get("isDeleted", False)),
        "contact_name": _text(contact, "name"),
        "contact_phone": _text(contact, "phone"),
        "contact_username": _text(contact, "username"),
    }


def status_row(record: Any) -> dict[str, Any]:
    if not isinstance(record, dict):
        raise BadRecord("status is not an object")
    return {
        "message_id": _text(record, "messageId", required=True),
        "status": _text(record, "status", required=True),
        "status_at": parse_utc(record.get("timestamp"), "timestamp"),
    }


def channel_row(record: Any) -> dict[str, Any]:
    if not isinstance(record, dict):
        raise BadRecord("channelsUpdates item is not an object")
    millis = record.get("timestamp")
    if isinstance(millis, bool) or not isinstance(millis, int | float):
        raise BadRecord("timestamp (epoch milliseconds) missing")
    return {
        "channel_id": _text(record, "channelId", required=True),
        "state": _text(record, "state", required=True),
        "state_changed_at": datetime.fromtimestamp(millis / 1000, tz=UTC),
    }


ROW_BUILDERS = {"messages": message_row, "statuses": status_row, "channelsUpdates": channel_row}


@dataclass
class ParsedFile:
    """Rows from one landing file, column-oriented so they become arrow tables cheaply."""

    file_name: str
    tables: dict[str, list[dict[str, Any]]] = field(
        default_factory=lambda: {"messages": [], "statuses": [], "channelsUpdates": []}
    )
    rejected: list[dict[str, Any]] = field(default_factory=list)

    def reject(self, line: int, kind: str, index: int, payload: Any, reason: str) -> None:
        self.rejected.append(
            quarantine.record(SOURCE, self.file_name, line, kind, index, payload, reason)
        )


def parse_lines(file_name: str, lines: Iterable[str], kinds: set[str]) -> ParsedFile:
    """Parse webhook bodies, keeping the record kinds asked for (messages, statuses,
    channelsUpdates). Lines are numbered from 1; a line that is not a JSON object, or
    carries none of the known keys, is quarantined under kind ``body``."""
    parsed = ParsedFile(file_name)
    for line_no, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        if "body" not in kinds and not any(f'"{kind}"' in line for kind in kinds):
            continue
        try:
            body = json.loads(line)
        except json.JSONDecodeError as exc:
            if "body" in kinds:
                parsed.reject(line_no, "body", 0, line.rstrip("\n"), f"invalid JSON: {exc}")
            continue
        if not isinstance(body, dict):
            if "body" in kinds:
                parsed.reject(line_no, "body", 0, line.rstrip("\n"), "body is not a JSON object")
            continue
        known = set(ROW_BUILDERS) | IGNORED_BODY_KEYS
        if "body" in kinds and not known & body.keys():
            parsed.reject(line_no, "body", 0, body, "no known webhook key in body")
        for kind in kinds & set(ROW_BUILDERS):
            _parse_records(parsed, line_no, kind, body.get(kind))
    return parsed


def _parse_records(parsed: ParsedFile, line_no: int, kind: str, records: Any) -> None:
    if records is None:
        return
    if not isinstance(records, list):
        parsed.reject(line_no, kind, 0, records, f"{kind} is not a list")
        return
    for index, record in enumerate(records):
        try:
            row = ROW_BUILDERS[kind](record)
        except BadRecord as exc:
            parsed.reject(line_no, kind, index, record, str(exc))
            continue
        row["landing_file"] = parsed.file_name
        row["landing_line"] = line_no
        parsed.tables[kind].append(row)


def landing_position(file_name: str, line: int) -> str:
    """A string that sorts in arrival order: files are named in time order."""
    return f"{file_name}#{line:010d}"


def to_arrow(rows: list[dict[str, Any]], schema: pa.Schema) -> pa.Table:
    if schema is MESSAGES_SCHEMA:
        for row in rows:
            row["landing_position"] = landing_position(row["landing_file"], row["landing_line"])
    return pa.Table.from_pylist(rows, schema=schema)


def iter_lines(handle) -> Iterator[str]:
    for raw in handle:
        yield raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
