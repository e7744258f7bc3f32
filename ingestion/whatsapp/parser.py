"""Parse a WhatsApp "Export chat" text file (Android or iOS) into message rows. Pure: no dlt.

Lines
- A line starts a new message only if it FULLY matches a message prefix: Android
  `DATE, TIME - rest` or iOS `[DATE, TIME] rest` (an optional U+200E first). Every other
  line, including one that merely begins with a date ("12.03.2024 подойдёт?"), continues
  the message above it (multi-line messages have no prefix on their later lines).
- Ambiguous line: a body line that fully matches a prefix (a pasted exported line, or a
  typed "12.03.2024, 12:15 - ок") cannot be told from a real message, so it STARTS A NEW
  MESSAGE (and its date counts in the day/month decision). The message it interrupts keeps
  its earlier lines; nothing is lost, the tail is attributed to the pseudo-message.
- `rest` is `Author: text` (the author runs to the first ": ") or, with no author, a system
  line (encryption notice, "X created group", "X added Y"). iOS writes such events as
  "authored" by the chat name with U+200E before the text: they are system lines too.
- Lines before the first message that match nothing are quarantined (blank ones skipped).
  A date that no order of day, month and year reads alongside the others refuses the whole
  file (`UndecidableDateOrder`): a file is read exactly, never in part.
- Bytes are the caller's business: decode UTF-8 with errors="replace" (bad bytes become
  U+FFFD in the text).

Times are device-local: they are read in the given IANA zone and stored in UTC. The
date order is decided per file (see `dates.decide_order`); `UndecidableDateOrder` names the
file and why.

Ids: `wa:` + sha1(chat_key, local time, author, ordinal)[:20], the ordinal counting messages
with the same local time and author in file order. A later export of the same chat (more
lines at the end, edits, deletions) gives the same ids to the same messages, so a merge on
`message_id` adds only the new ones and updates edited/deleted ones. (An export that starts
later, cut inside a minute with several messages of one author, would shift their ordinals.)
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any
from zoneinfo import ZoneInfo

from .. import quarantine
from .content import CREATED_GROUP, ENCRYPTION, LRM, Body, classify, is_ios_system
from .dates import ANDROID_PREFIX, IOS_PREFIX, Stamp, UndecidableDateOrder, decide_order

__all__ = ["ParsedExport", "UndecidableDateOrder", "chat_name_from_file", "parse_export"]

SOURCE = "whatsapp"
# the author up to the first colon; quotes mean a system line quoting a subject ("A: B")
AUTHOR = re.compile(r"(?P<author>[^:\"«“]+?):(?: (?P<text>.*))?")
FILE_CHAT = re.compile(
    r"(?:WhatsApp Chat with |WhatsApp Chat - |Чат WhatsApp с |Чат WhatsApp - )(.+)"
)
COPY_SUFFIX = re.compile(r" \(\d+\)$")  # "… (1).txt": a second download of the same export


@dataclass
class ParsedExport:
    messages: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    chat_name: str | None = None
    authors: list[str] = field(default_factory=list)  # of non-system lines, first seen first


@dataclass
class _Draft:
    line: int
    local: datetime
    ios: bool
    lines: list[str]

    def split(self) -> tuple[str | None, str]:
        """(author, raw body) or (None, system text)."""
        first, rest = self.lines[0], self.lines[1:]
        match = AUTHOR.fullmatch(first)
        if match is None:
            return None, "\n".join(self.lines)
        author = match["author"].replace(LRM, "").strip()
        return author, "\n".join([match["text"] or "", *rest]).rstrip()


def file_stem(file_name: str) -> str:
    return COPY_SUFFIX.sub("", PurePosixPath(file_name).stem.replace(LRM, "").strip())


def chat_name_from_file(file_name: str) -> str | None:
    """ "WhatsApp Chat with Анна.txt" / "Чат WhatsApp с Анна (1).txt" -> "Анна"; else None."""
    match = FILE_CHAT.fullmatch(file_stem(file_name))
    return match[1].strip() if match else None


def chat_name_from_text(text: str) -> str | None:
    """The chat name an iOS export writes as the "author" of its encryption notice."""
    for line in text.split("\n", 50)[:50]:
        match = IOS_PREFIX.fullmatch(line.rstrip("\r"))
        found = AUTHOR.fullmatch(match["rest"]) if match else None
        body = (found["text"] or "") if found else ""
        if found and body.startswith(LRM) and ENCRYPTION.search(body):
            return found["author"].replace(LRM, "").strip()
    return None


def _match(line: str) -> tuple[re.Match[str], bool] | None:
    if match := IOS_PREFIX.fullmatch(line):
        return match, True
    if match := ANDROID_PREFIX.fullmatch(line):
        return match, False
    return None


def _message_id(chat_key: str, local: datetime, author: str | None, ordinal: int) -> str:
    key = "\x1f".join([chat_key, local.isoformat(timespec="seconds"), author or "", str(ordinal)])
    return "wa:" + hashlib.sha1(key.encode("utf-8")).hexdigest()[:20]


def _drafts(lines: list[str], file_name: str, parsed: ParsedExport) -> list[_Draft]:
    matches = {no: found for no, line in enumerate(lines, 1) if (found := _match(line))}
    order = decide_order([Stamp.from_match(m) for m, _ in matches.values()], file_name)
    drafts: list[_Draft] = []
    current: _Draft | None = None
    for no, line in enumerate(lines, 1):
        if no in matches:
            match, ios = matches[no]
            # decide_order read every prefix in this order, or refused the file
            local = Stamp.from_match(match).to_datetime(order)
            current = _Draft(no, local, ios, [match["rest"]])
            drafts.append(current)
        elif current is not None:
            current.lines.append(line)
        elif line.strip():
            reason = "before the first message: not a WhatsApp message line"
            parsed.rejected.append(quarantine.record(SOURCE, file_name, no, "message", 0,
                                                     line, reason))  # fmt: skip
    return drafts


def _chat_name(file_name: str, drafts: list[_Draft]) -> str | None:
    if name := chat_name_from_file(file_name):
        return name
    for draft in drafts:
        author, raw = draft.split()
        if draft.ios and author and raw.startswith(LRM) and ENCRYPTION.search(raw):
            return author
    for draft in drafts:
        author, raw = draft.split()
        if author is None and (created := CREATED_GROUP.search(raw)):
            return created["name"]
    return None


def parse_export(text: str, file_name: str, chat_key: str, timezone: str) -> ParsedExport:
    """Messages and quarantined lines of one export; raises `UndecidableDateOrder`."""
    zone = ZoneInfo(timezone)
    lines = [line.removesuffix("\r") for line in text.removeprefix("\ufeff").split("\n")]
    parsed = ParsedExport()
    drafts = _drafts(lines, file_name, parsed)
    parsed.chat_name = _chat_name(file_name, drafts)
    ordinals: Counter[tuple[datetime, str | None]] = Counter()
    for draft in drafts:
        author, raw = draft.split()
        if author is None or (draft.ios and is_ios_system(raw, author, parsed.chat_name)):
            author, body = None, Body("system", raw.replace(LRM, "").strip())
        else:
            body = classify(raw)
            if author not in parsed.authors:
                parsed.authors.append(author)
        ordinal = ordinals[draft.local, author]
        ordinals[draft.local, author] += 1
        parsed.messages.append(
            {
                "message_id": _message_id(chat_key, draft.local, author, ordinal),
                "chat_key": chat_key,
                "chat_name": parsed.chat_name,
                "author_name": author,
                "is_system": body.is_system,
                "sent_at": draft.local.replace(tzinfo=zone).astimezone(UTC),
                "local_time": draft.local,
                "text": body.text,
                "message_type": body.message_type,
                "is_deleted": body.is_deleted,
                "is_edited": body.is_edited,
                "landing_line": draft.line,
            }
        )
    return parsed
