"""Who works where, as the systems themselves list it: the Wazzup account's users and channels,
the CRM's users, and which CRM user wrote the echoes each channel has delivered so far."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ingestion.amocrm.client import AmoCrmClient, SnapshotPages, embedded
from ingestion.bitrix24.client import Bitrix24Client
from ingestion.bitrix24.client import SnapshotPages as Bitrix24SnapshotPages
from ingestion.phones import normalize_phones
from ingestion.wazzup import FILE_GLOB
from ingestion.wazzup.api import WazzupApi
from ingestion.wazzup.parsing import parse_file

SYSTEM_NAMES = {"amocrm": "amoCRM", "bitrix24": "Bitrix24", "wazzup": "Wazzup"}


@dataclass(frozen=True)
class UserAccount:
    """A person's account in one system."""

    system: str  # amocrm, bitrix24 or wazzup
    id: str
    name: str
    email: str | None = None
    phones: tuple[str, ...] = ()
    active: bool = True

    def describe(self) -> str:
        return f'{SYSTEM_NAMES[self.system]} user {self.id} "{self.name}"'


@dataclass(frozen=True)
class Channel:
    """A Wazzup channel: a WhatsApp number, a Telegram account, an Avito profile…"""

    id: str
    transport: str
    plain_id: str | None
    state: str | None

    def describe(self) -> str:
        where = f"{self.transport} {self.plain_id}" if self.plain_id else self.transport
        return f"channel {self.id} ({where}, {self.state or 'state unknown'})"


def wazzup_users(api: WazzupApi) -> list[UserAccount]:
    return [
        UserAccount("wazzup", str(user["id"]), str(user.get("name") or "").strip())
        for user in api.users()
        if isinstance(user, dict) and user.get("id") is not None
    ]


def wazzup_channels(api: WazzupApi) -> list[Channel]:
    return [
        Channel(
            str(c["channelId"]),
            str(c.get("transport") or "unknown"),
            c.get("plainId") and str(c["plainId"]),
            c.get("state"),
        )  # fmt: skip
        for c in api.channels()
        if isinstance(c, dict) and c.get("channelId")
    ]


def amocrm_users(pages: Iterable[tuple[str, dict]]) -> list[UserAccount]:
    """From `GET /api/v4/users` pages (or the saved ones): id, name, email, active."""
    return [
        UserAccount(
            "amocrm",
            str(user["id"]),
            str(user.get("name") or "").strip(),
            email=user.get("email") or None,
            active=bool((user.get("rights") or {}).get("is_active", True)),
        )  # fmt: skip
        for _, body in pages
        for user in embedded(body, "users")
        if isinstance(user, dict) and user.get("id") is not None
    ]


def amocrm_pages(base_url: str | None, token: str | None, landing: Path):
    if base_url and token:
        return AmoCrmClient(base_url, token).pages("users", {})
    return SnapshotPages(landing / "amocrm").users()


def bitrix24_users(pages: Iterable[tuple[str, dict]]) -> list[UserAccount]:
    """From `user.get` pages (or the saved ones): id, first and last name, email, phones."""
    return [
        UserAccount(
            "bitrix24",
            str(user["ID"]),
            " ".join(str(user.get(k) or "").strip() for k in ("NAME", "LAST_NAME")).strip(),
            email=user.get("EMAIL") or None,
            phones=tuple(normalize_phones(user.get(k) for k in ("PERSONAL_MOBILE", "WORK_PHONE"))),
            active=str(user.get("ACTIVE", True)).strip().lower() not in {"false", "n", "0"},
        )  # fmt: skip
        for _, body in pages
        for user in (body or {}).get("result") or []
        if isinstance(user, dict) and user.get("ID") is not None
    ]


def bitrix24_pages(webhook_url: str | None, landing: Path) -> Iterator[tuple[str, dict]]:
    if webhook_url:
        return Bitrix24Client(webhook_url).pages("user.get", {})
    return Bitrix24SnapshotPages(landing / "bitrix24").pages("user.get", {})


@dataclass
class Landed:
    """What the webhooks delivered so far say: by channel, its chat type, and how many of its
    echoes each CRM user wrote (`authorId`; an echo sent from the phone has none)."""

    chat_types: dict[str, str]
    authors: dict[str, Counter[str]]

    def channels(self, known: Iterable[Channel]) -> list[Channel]:
        """The channels seen in webhooks that the API did not list (no key, or since gone)."""
        listed = {channel.id for channel in known}
        return [
            Channel(channel_id, chat_type, None, "seen in webhooks")
            for channel_id, chat_type in sorted(self.chat_types.items())
            if channel_id not in listed
        ]


def landed(landing: Path) -> Landed:
    """From the published webhook files in the landing folder."""
    result = Landed({}, {})
    for path in sorted((landing / "wazzup").glob(FILE_GLOB)):
        with path.open("rb") as lines:
            messages = parse_file(path.name, lines).table("messages")
        columns = ["channel_id", "chat_type", "is_echo", "author_id"]
        for row in messages.select(columns).to_pylist():
            if not row["channel_id"]:
                continue
            result.chat_types.setdefault(row["channel_id"], row["chat_type"] or "unknown")
            if row["is_echo"] and row["author_id"]:
                result.authors.setdefault(row["channel_id"], Counter())[row["author_id"]] += 1
    return result
