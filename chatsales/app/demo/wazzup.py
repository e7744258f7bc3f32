"""Writes Wazzup API v3 webhook POST bodies, one compact JSON per line, into `YYYY-MM.jsonl`.

Files are cut by the Moscow month of the moment the body would be POSTed; lines are in that
order. Edits and deletes re-send the original message (same `messageId` and `dateTime`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

from .clock import iso_ms, local_month
from .company import Channel
from .timeline import Event, Message

FILE_HOST = "https://store.wazzup24.com"
ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
INST_POST = {
    "id": "3141592653589793238_4626433832",
    "src": "https://www.instagram.com/p/DEMO0001/",
    "author": "uyut_mebel",
    "description": "Новая коллекция диванов",
}


def message_body(m: Message) -> dict[str, Any]:
    channel = m.chat.channel
    body: dict[str, Any] = {
        "messageId": m.id,
        "dateTime": iso_ms(m.ms),
        "channelId": channel.id,
        "chatType": channel.transport,
        "chatId": m.chat.chat_id,
        "type": m.type,
        "isEcho": m.echo,
        "contact": m.chat.contact,
    }
    if m.text is not None:
        body["text"] = m.text
    if m.file is not None:
        body["contentUri"] = f"{FILE_HOST}/{m.id[:8]}/?filename={m.file}"
    body["status"] = "sent" if m.echo else "inbound"
    if m.author is not None:
        body["authorId"] = str(m.author.crm_user_id)
        body["authorName"] = m.author.name
        body["sentFromApp"] = True
    if m.inst_post:
        body["instPost"] = INST_POST
    return body


def webhook_body(event: Event) -> dict[str, Any]:
    ms, _, kind, m, extra = event
    if kind == "status":
        return {"statuses": [{"messageId": m.id, "timestamp": iso_ms(ms), "status": extra}]}
    body = message_body(m)
    if kind == "edit":
        body["text"] = f"{m.text}{extra}"
        body["isEdited"] = True
        body["oldInfo"] = {"oldText": m.text}
        if m.echo:
            edited = {"messageId": m.id, "timestamp": iso_ms(ms), "status": "edited"}
            return {"messages": [body], "statuses": [edited]}
    elif kind == "delete":
        body["isDeleted"] = True
    return {"messages": [body]}


def write_wazzup(
    folder: Path, channels: list[Channel], start_ms: int, events: Iterable[Event]
) -> tuple[int, list[Path]]:
    """Streams the bodies to monthly files; returns (bodies written, files written)."""
    folder.mkdir(parents=True, exist_ok=True)
    files: list[Path] = []
    out: IO[str] | None = None
    current = ""
    bodies = 0

    def line(ms: int, body: dict[str, Any]) -> None:
        nonlocal out, current, bodies
        month = local_month(ms)
        if month != current:
            if out is not None:
                out.close()
            current = month
            files.append(folder / f"{month}.jsonl")
            out = files[-1].open("w", encoding="utf-8", newline="\n")
        assert out is not None
        out.write(ENCODE(body) + "\n")
        bodies += 1

    try:
        line(start_ms, {"test": True})
        for i, channel in enumerate(channels, start=1):
            update = {"channelId": channel.id, "state": "active", "timestamp": start_ms + i * 1000}
            line(start_ms + i * 1000, {"channelsUpdates": [update]})
        for event in events:
            line(event[0], webhook_body(event))
    finally:
        if out is not None:
            out.close()
    return bodies, files
