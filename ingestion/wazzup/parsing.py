"""Turn Wazzup webhook bodies (one JSON body per line) into typed rows, in one pass over a
file for all its tables.

Every line is accounted for: it yields rows, is a known no-data body (the `{"test": true}`
ping, contact/deal creation), or is quarantined with its file, line and reason.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from .. import quarantine
from ..storable import has_lone_surrogate

SOURCE = "wazzup"
CHAT_TYPES = {
    "whatsapp", "whatsgroup", "viber", "instagram", "telegram",
    "telegroup", "vk", "avito", "max", "maxgroup",
}  # fmt: skip
IGNORED_BODY_KEYS = {"test", "createContact", "createDeal", "templateStatus"}
# orjson reads an integer literal past 64 bits as a float where json keeps an int: lines with
# 19 digits in a row take json. Found by mapping every digit to 0 and one substring search.
DIGITS_AS_ZEROS = bytes.maketrans(b"123456789", b"000000000")
NINETEEN_DIGITS = b"0" * 19

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
        pa.field("is_edited", pa.bool_(), nullable=False),  # with message_id, the merge key
        pa.field("is_deleted", pa.bool_(), nullable=False),
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
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except (ValueError, OverflowError) as exc:  # OverflowError: 0001-01-01T00:00+05:00
        raise BadRecord(f"{name} is not an ISO timestamp in range: {value!r}") from exc


def _text(record: dict, key: str, required: bool = False) -> str | None:
    value = record.get(key)
    if type(value) is str:
        if has_lone_surrogate(value):
            raise BadRecord(f"{key} is not valid Unicode (a lone surrogate)")
        return value
    if value is None:
        if required:
            raise BadRecord(f"{key} missing")
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise BadRecord(f"{key} has unexpected type {type(value).__name__}")
    return str(value)


def message_row(record: Any) -> tuple:
    """The record's MESSAGES_SCHEMA columns up to the landing ones, in order."""
    if not isinstance(record, dict):
        raise BadRecord("message is not an object")
    chat_type = _text(record, "chatType", required=True)
    if chat_type not in CHAT_TYPES:
        raise BadRecord(f"unknown chatType {chat_type!r}")
    contact = record.get("contact") or {}
    if not isinstance(contact, dict):
        raise BadRecord("contact is not an object")
    return (
        _text(record, "messageId", required=True),
        _text(record, "channelId", required=True),
        chat_type,
        _text(record, "chatId", required=True),
        parse_utc(record.get("dateTime"), "dateTime"),
        _text(record, "type") or "unknown",
        bool(record.get("isEcho", False)),
        _text(record, "text"),
        _text(record, "contentUri"),
        _text(record, "status"),
        _text(record, "authorId"),
        _text(record, "authorName"),
        bool(record.get("sentFromApp", False)),
        bool(record.get("isEdited", False)),
        bool(record.get("isDeleted", False)),
        _text(contact, "name"),
        _text(contact, "phone"),
        _text(contact, "username"),
    )


def status_row(record: Any) -> tuple:
    if not isinstance(record, dict):
        raise BadRecord("status is not an object")
    return (
        _text(record, "messageId", required=True),
        _text(record, "status", required=True),
        parse_utc(record.get("timestamp"), "timestamp"),
    )


def channel_row(record: Any) -> tuple:
    if not isinstance(record, dict):
        raise BadRecord("channelsUpdates item is not an object")
    millis = record.get("timestamp")
    if isinstance(millis, bool) or not isinstance(millis, int | float):
        raise BadRecord("timestamp (epoch milliseconds) missing")
    try:
        changed_at = datetime.fromtimestamp(millis / 1000, tz=UTC)
    except (ValueError, OverflowError, OSError) as exc:  # NaN, Infinity, past year 9999
        raise BadRecord(f"timestamp is no epoch milliseconds in range: {millis!r}") from exc
    return (
        _text(record, "channelId", required=True),
        _text(record, "state", required=True),
        changed_at,
    )


# record kind in the body: its row builder and arrow schema
KINDS = {
    "messages": (message_row, MESSAGES_SCHEMA),
    "statuses": (status_row, STATUSES_SCHEMA),
    "channelsUpdates": (channel_row, CHANNELS_SCHEMA),
}
KNOWN_BODY_KEYS = frozenset(KINDS) | IGNORED_BODY_KEYS


@dataclass
class ParsedFile:
    """Rows of every kind from one landing file, and its quarantined lines and records."""

    file_name: str
    rows: dict[str, list[tuple]] = field(default_factory=lambda: {kind: [] for kind in KINDS})
    lines: dict[str, list[int]] = field(default_factory=lambda: {kind: [] for kind in KINDS})
    rejected: list[dict[str, Any]] = field(default_factory=list)

    def reject(self, line: int, kind: str, index: int, payload: Any, reason: str) -> None:
        self.rejected.append(
            quarantine.record(SOURCE, self.file_name, line, kind, index, payload, reason)
        )

    def table(self, kind: str) -> pa.Table:
        """The rows of one record kind with their landing file, line and position."""
        schema = KINDS[kind][1]
        lines = pa.array(self.lines[kind], pa.int64())
        files = pa.array([self.file_name] * len(lines), pa.string())
        record_fields = schema.names.index("landing_file")
        columns = list(zip(*self.rows[kind], strict=True)) or [[]] * record_fields
        arrays = [pa.array(values, f.type) for values, f in zip(columns, schema, strict=False)]
        arrays += [files, lines]
        if "landing_position" in schema.names:
            arrays.append(landing_position(files, lines))
        return pa.Table.from_arrays(arrays, schema=schema)


def parse_file(file_name: str, lines: Iterable[bytes]) -> ParsedFile:
    """Parse webhook bodies, all record kinds at once. Lines are numbered from 1; a line that
    is not a JSON object, or carries none of the known keys, is quarantined under kind
    ``body``."""
    parsed = ParsedFile(file_name)
    for line_no, raw in enumerate(lines, start=1):
        body = _body(parsed, line_no, raw)
        if body is None:
            continue
        if not KNOWN_BODY_KEYS & body.keys():
            parsed.reject(line_no, "body", 0, body, "no known webhook key in body")
        for kind in KINDS:
            records = body.get(kind)
            if records is not None:
                _parse_records(parsed, line_no, kind, records)
    return parsed


def _body(parsed: ParsedFile, line_no: int, raw: bytes) -> dict | None:
    """The line's JSON object; None for a blank line or a quarantined one."""
    if NINETEEN_DIGITS not in raw.translate(DIGITS_AS_ZEROS):
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            body = None
        if isinstance(body, dict):
            return body
    # the rare line orjson refuses or misreads: json decides, and words the reason
    line = raw.decode("utf-8", errors="replace")
    if not line.strip():
        return None
    try:
        body = json.loads(line)
    except (ValueError, RecursionError) as exc:  # and an integer past 4,300 digits, deep nesting
        parsed.reject(line_no, "body", 0, line.rstrip("\n"), f"invalid JSON: {exc}")
        return None
    if not isinstance(body, dict):
        parsed.reject(line_no, "body", 0, line.rstrip("\n"), "body is not a JSON object")
        return None
    return body


def _parse_records(parsed: ParsedFile, line_no: int, kind: str, records: Any) -> None:
    if not isinstance(records, list):
        parsed.reject(line_no, kind, 0, records, f"{kind} is not a list")
        return
    build = KINDS[kind][0]
    rows, lines = parsed.rows[kind], parsed.lines[kind]
    for index, record in enumerate(records):
        try:
            row = build(record)
        except BadRecord as exc:
            parsed.reject(line_no, kind, index, record, str(exc))
        else:
            rows.append(row)
            lines.append(line_no)


def landing_position(files: pa.Array, lines: pa.Array) -> pa.Array:
    """Strings that sort in arrival order (`<file>#<line, 10 digits>`): files are named in
    time order."""
    padded = pc.utf8_lpad(pc.cast(lines, pa.string()), width=10, padding="0")
    return pc.binary_join_element_wise(files, padded, "#")
