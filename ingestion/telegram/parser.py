"""Telegram Desktop exports (`result.json`) into rows of the raw `messages` contract.

A file holds one chat (`{name, type, id, messages}`) or a whole account (`{about,
personal_information, chats: {list}, left_chats: {list}}`). Every message is accounted for:
it becomes a row, belongs to a skipped chat (channels, saved messages, replies, bots: logged),
or is quarantined with its file, chat, index and reason. Pure functions, no dlt.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pyarrow as pa

from .. import quarantine
from ..exports import MESSAGES_SCHEMA
from ..storable import unstorable_field

log = logging.getLogger(__name__)

SOURCE = "telegram"
KEPT_CHAT_TYPES = {"personal_chat", "private_group", "private_supergroup", "public_supergroup"}
MESSAGE_KINDS = {"message", "service", "unsupported"}
# export `media_type`: our message_type
MEDIA_TYPES = {
    "voice_message": "voice", "video_message": "video_note", "video_file": "video",
    "audio_file": "audio", "animation": "animation", "sticker": "sticker",
}  # fmt: skip
# media without `media_type`, by the field that marks it; a plain `file` is a document
MEDIA_FIELDS = {
    "photo": "photo", "contact_information": "contact", "location_information": "location",
    "place_name": "venue", "poll": "poll", "game_title": "game", "invoice_information": "invoice",
    "file": "file",
}  # fmt: skip
FILE_PREVIEW_CHARS = 2000  # a rejected file stays in the landing; keep only its start


class BadRecord(ValueError):
    """A record that cannot be loaded; its message is the quarantine reason."""


@dataclass
class ParsedExport:
    messages: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class _Context:
    file_name: str
    manager_id: str
    manager_user_ids: frozenset[str]  # numeric user ids, as strings
    timezone: str


@dataclass(frozen=True)
class _Chat:
    id: int
    name: str | None
    type: str
    messages: list[Any]


def parse_file(
    raw: bytes, file_name: str, manager_id: str, manager_user_ids: set[str], timezone: str
) -> ParsedExport:
    """Parse the bytes of an export file; a file that is not JSON is one quarantine row."""
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, UnicodeDecodeError, nesting
        preview = raw[:FILE_PREVIEW_CHARS].decode("utf-8", errors="replace")
        return ParsedExport(rejected=[_file_reject(file_name, preview, f"invalid JSON: {exc}")])
    return parse_export(data, file_name, manager_id, manager_user_ids, timezone)


def parse_export(
    data: dict, file_name: str, manager_id: str, manager_user_ids: set[str], timezone: str
) -> ParsedExport:
    """Rows and quarantine rows of a single-chat or a full-account export."""
    if not isinstance(data, dict) or not {"messages", "chats"} & data.keys():
        preview = json.dumps(data, ensure_ascii=False)[:FILE_PREVIEW_CHARS]
        reason = "neither messages (one chat) nor chats (full account export)"
        return ParsedExport(rejected=[_file_reject(file_name, preview, reason)])
    ids = set(manager_user_ids)
    owner = data.get("personal_information")
    owner_id = owner.get("user_id") if isinstance(owner, dict) else None
    if isinstance(owner_id, int | str) and not isinstance(owner_id, bool):
        ids.add(str(owner_id))  # the exporting account is the manager
    context = _Context(file_name, manager_id, frozenset(ids), timezone)
    parsed = ParsedExport()
    for group, index, chat in _chat_objects(data, parsed, file_name):
        try:
            valid = _chat(chat)
        except BadRecord as exc:
            payload = {k: v for k, v in chat.items() if k != "messages"}
            parsed.rejected.append(
                quarantine.record(
                    SOURCE, f"{file_name}#{group}", 0, "chat", index, payload, str(exc)
                )  # fmt: skip
            )
            continue
        if valid.type not in KEPT_CHAT_TYPES:
            log.info("telegram: %s: skipped %s chat %s %r (%d messages)", file_name,
                     valid.type, valid.id, valid.name, len(valid.messages))  # fmt: skip
            continue
        _parse_chat(valid, context, parsed)
    return parsed


def _chat_objects(data: dict, parsed: ParsedExport, file_name: str) -> Iterator[tuple]:
    if "messages" in data:
        yield "chat", 0, data
        return
    for group in ("chats", "left_chats"):
        section = data.get(group)
        if section is None:
            continue
        chats = section.get("list") if isinstance(section, dict) else None
        if not isinstance(chats, list):
            parsed.rejected.append(
                quarantine.record(
                    SOURCE,
                    f"{file_name}#{group}",
                    0,
                    "chats",
                    0,
                    _truncated(section),
                    f"{group}.list is not a list",
                )  # fmt: skip
            )
            continue
        for index, chat in enumerate(chats):
            yield group, index, chat if isinstance(chat, dict) else {"chat": chat}


def _chat(chat: dict) -> _Chat:
    chat_id = chat.get("id")
    if isinstance(chat_id, bool) or not isinstance(chat_id, int):
        raise BadRecord("chat id missing or not an integer")
    chat_type = chat.get("type")
    if not isinstance(chat_type, str):
        raise BadRecord("chat type missing or not a string")
    name = chat.get("name")  # saved_messages has none
    if name is not None and not isinstance(name, str):
        raise BadRecord("chat name is not a string")
    messages = chat.get("messages")
    if not isinstance(messages, list):
        raise BadRecord("chat messages missing or not a list")
    return _Chat(chat_id, name, chat_type, messages)


def _parse_chat(chat: _Chat, context: _Context, parsed: ParsedExport) -> None:
    location = f"{context.file_name}#chat{chat.id}"
    for index, message in enumerate(chat.messages):
        try:
            row = _message_row(message, chat, context)
        except BadRecord as exc:
            parsed.rejected.append(
                quarantine.record(SOURCE, location, 0, "message", index, message, str(exc))
            )
            continue
        row["landing_line"] = index
        parsed.messages.append(row)


def _message_row(message: Any, chat: _Chat, context: _Context) -> dict[str, Any]:
    if not isinstance(message, dict):
        raise BadRecord("message is not an object")
    message_id = message.get("id")
    if isinstance(message_id, bool) or not isinstance(message_id, int):
        raise BadRecord("id missing or not an integer")
    kind = message.get("type")
    if not isinstance(kind, str) or kind not in MESSAGE_KINDS:
        raise BadRecord(f"unknown message type {kind!r}")
    service = kind == "service"
    author_id = _peer_id(message, "actor_id" if service else "from_id")
    row = {
        "message_id": f"tg:{chat.id}:{message_id}",
        "manager_id": context.manager_id,
        "chat_id": f"tg:{chat.id}",
        "chat_name": chat.name,
        "chat_type": chat.type,
        "author_id": author_id,
        "author_name": _optional_str(message, "actor" if service else "from"),
        "author_side": _side(kind, author_id, chat, context, via_bot="via_bot" in message),
        "sent_at": _sent_at(message, context.timezone),
        "message_type": _message_type(message, kind),
        "text": flatten_text(message.get("text")),
        "is_deleted": False,  # exports leave deleted messages out
        # `edited` is also set by a reaction without any edit: "edited" is an upper bound
        "is_edited": "edited" in message or "edited_unixtime" in message,
        "client_phone": None,  # exports carry no phone of the peer
        "client_username": None,
        "landing_file": context.file_name,
    }
    if (field_name := unstorable_field(row)) is not None:
        raise BadRecord(f"{field_name} is not valid Unicode (a lone surrogate)")
    return row


def _side(kind: str, author_id: str | None, chat: _Chat, context: _Context, via_bot: bool) -> str:
    if kind != "message":
        return "system"  # service events (calls, joins, pins) and unsupported messages
    if via_bot:
        return "automation"  # sent through an inline bot: nobody typed it
    user_id = author_id.removeprefix("user") if author_id and author_id.startswith("user") else None
    if user_id is not None and user_id in context.manager_user_ids:
        return "manager"
    if chat.type == "personal_chat" and author_id is not None:
        # a personal chat's id is the peer's user id: the peer is the client, the other author
        # is the account that exported it
        return "client" if author_id == f"user{chat.id}" else "manager"
    return "client"


def _sent_at(message: dict, timezone: str) -> datetime:
    unixtime = message.get("date_unixtime")
    if unixtime is not None:
        if isinstance(unixtime, bool) or not isinstance(unixtime, str | int):
            raise BadRecord("date_unixtime is not a string")
        try:
            return datetime.fromtimestamp(int(unixtime), tz=UTC)
        except (ValueError, OverflowError, OSError) as exc:
            raise BadRecord(f"date_unixtime is not epoch seconds: {unixtime!r}") from exc
    # exports from before ~2021: the exporter's local time, no zone
    local = message.get("date")
    if not isinstance(local, str) or not local:
        raise BadRecord("no date_unixtime and no date")
    try:
        parsed = datetime.fromisoformat(local)
    except ValueError as exc:
        raise BadRecord(f"date is not an ISO timestamp: {local!r}") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=_zone(timezone))
    try:
        return parsed.astimezone(UTC)
    except OverflowError as exc:  # 0001-01-01 east of UTC
        raise BadRecord(f"date is out of range: {local!r}") from exc


@functools.cache
def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise BadRecord(f"no date_unixtime and unknown time zone {name!r}") from exc


def _message_type(message: dict, kind: str) -> str:
    if kind == "service":
        action = message.get("action")
        return f"service:{action if isinstance(action, str) and action else 'unknown'}"
    if kind == "unsupported":
        return "unsupported"
    media_type = message.get("media_type")
    if isinstance(media_type, str) and media_type:
        return MEDIA_TYPES.get(media_type, media_type)
    return next((name for key, name in MEDIA_FIELDS.items() if key in message), "text")


def flatten_text(value: Any) -> str | None:
    """`text` as plain text: a string, or a list of strings and `{type, text}` entities."""
    if value is None:
        return None
    if isinstance(value, str):
        return value or None
    if not isinstance(value, list):
        raise BadRecord(f"text has unexpected type {type(value).__name__}")
    parts = []
    for part in value:
        if isinstance(part, dict):
            part = part.get("text", "")
        if not isinstance(part, str):
            raise BadRecord(f"text entity has unexpected type {type(part).__name__}")
        parts.append(part)
    return "".join(parts) or None


def _peer_id(message: dict, key: str) -> str | None:
    value = message.get(key)
    if value is None or isinstance(value, str):
        return value or None
    if isinstance(value, int) and not isinstance(value, bool):
        return f"user{value}"  # exports before ~2021 give a bare numeric user id
    raise BadRecord(f"{key} has unexpected type {type(value).__name__}")


def _optional_str(message: dict, key: str) -> str | None:
    value = message.get(key)
    if value is not None and not isinstance(value, str):
        raise BadRecord(f"{key} has unexpected type {type(value).__name__}")
    return value


def _file_reject(file_name: str, preview: str, reason: str) -> dict[str, Any]:
    return quarantine.record(SOURCE, file_name, 0, "file", 0, preview, reason)


def _truncated(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)[:FILE_PREVIEW_CHARS]


def to_arrow(rows: list[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=MESSAGES_SCHEMA)
