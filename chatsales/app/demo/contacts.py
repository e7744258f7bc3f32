"""amoCRM API v4 contacts: one per contact a lead names, carrying the phone and Telegram
username that link the client's chats to their deals (dbt `int_chat_contacts`)."""

from __future__ import annotations

import random
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from . import texts
from .amocrm import ACCOUNT_ID, BASE, write_pages
from .company import Chat, Client

CONTACTS_QUERY = "order%5Bupdated_at%5D=asc&limit=250"
PHONE_FIELD = {"field_id": 512001, "field_name": "Телефон", "field_code": "PHONE"}
EMAIL_FIELD = {"field_id": 512002, "field_name": "Email", "field_code": "EMAIL"}
IM_FIELD = {"field_id": 512003, "field_name": "Мгн. сообщения", "field_code": "IM"}
TELEGRAM_FIELD = {"field_id": 512010, "field_name": "Telegram", "field_code": None}
ENUMS = {"WORK": 812001, "MOB": 812002, "HOME": 812003, "OTHER": 812004, "PRIV": 812010}
TELEGRAM_ENUM = 812020
MAIL_DOMAINS = ("mail.ru", "yandex.ru", "gmail.com", "bk.ru")
DAY = 86400


def phone_as_typed(rng: random.Random, e164: str) -> str:
    """A Russian mobile (`79XXXXXXXXX`) the way managers type it; normalizes back to it."""
    d = e164[1:]
    a, b, c, e = d[:3], d[3:6], d[6:8], d[8:]
    formats = (
        f"+7 ({a}) {b}-{c}-{e}",
        f"8{d}",
        f"7{d}",
        f"+7{d}",
        f"8 {a} {b} {c} {e}",
        f"8 ({a}) {b}-{c}-{e}",
        f"{a} {b}-{c}-{e}",
        f"+7 {a} {b} {c} {e}",
    )
    return rng.choices(formats, weights=(30, 20, 10, 12, 10, 8, 5, 5))[0]


def _field(meta: dict[str, Any], kind: str, values: list[dict[str, Any]]) -> dict[str, Any]:
    return {**meta, "field_type": kind, "values": values}


def _phones(rng: random.Random, e164: str) -> dict[str, Any]:
    values = [{"value": phone_as_typed(rng, e164), "enum_id": ENUMS["MOB"], "enum_code": "MOB"}]
    if rng.random() < 0.08:  # a landline after the mobile
        code = rng.choice(("WORK", "HOME"))
        landline = (
            f"8 (495) {rng.randrange(100, 1000)}-{rng.randrange(100):02d}-{rng.randrange(100):02d}"
        )
        values.append({"value": landline, "enum_id": ENUMS[code], "enum_code": code})
    return _field(PHONE_FIELD, "multitext", values)


def _email(rng: random.Random, latin: str) -> dict[str, Any]:
    email = f"{latin}{rng.randrange(1, 100)}@{rng.choice(MAIL_DOMAINS)}"
    value = {"value": email, "enum_id": ENUMS["PRIV"], "enum_code": "PRIV"}
    return _field(EMAIL_FIELD, "multitext", [value])


def _telegram(rng: random.Random, username: str) -> dict[str, Any]:
    if rng.random() < 0.2:
        value = {"value": username, "enum_id": TELEGRAM_ENUM, "enum_code": "TELEGRAM"}
        return _field(IM_FIELD, "multitext", [value])
    typed = rng.choices(
        (f"@{username}", username, f"https://t.me/{username}", f"t.me/{username}"),
        weights=(50, 25, 15, 10),
    )[0]
    return _field(TELEGRAM_FIELD, "text", [{"value": typed}])


def _contact(
    contact_id: int,
    name: str,
    user: int,
    created: int,
    updated: int,
    fields: list[dict[str, Any]],
) -> dict[str, Any]:
    first, _, last = name.partition(" ")
    return {
        "id": contact_id,
        "name": name,
        "first_name": first,
        "last_name": last,
        "responsible_user_id": user,
        "group_id": 0,
        "created_by": user,
        "updated_by": user,
        "created_at": created,
        "updated_at": updated,
        "closest_task_at": None,
        "is_deleted": False,
        "is_unsorted": False,
        "custom_fields_values": fields or None,
        "account_id": ACCOUNT_ID,
        "_links": {"self": {"href": f"{BASE}/api/v4/contacts/{contact_id}"}},
        "_embedded": {"tags": [], "companies": []},
    }


def build_contacts(
    rng: random.Random,
    leads: list[dict[str, Any]],
    clients: list[Client],
    chats: Iterable[Chat],
    end_s: int,
) -> list[dict[str, Any]]:
    """Every contact the leads name, in API order (updated_at, id). A client's contact holds
    their mobile, typed in mixed formats, and the username of their first Telegram chat that
    shows one; a lead's second contact (a relative) has a phone no chat shows."""
    first_lead: dict[int, dict[str, Any]] = {}
    for lead in sorted(leads, key=lambda lead: (lead["created_at"], lead["id"])):
        for linked in lead["_embedded"]["contacts"]:
            first_lead.setdefault(linked["id"], lead)
    by_id = {c.contact_id: c for c in clients}
    usernames: dict[int, str] = {}
    for chat in chats:
        if chat.channel.transport == "telegram" and "username" in chat.contact:
            usernames.setdefault(chat.client.contact_id, chat.contact["username"])
    taken = {c.phone for c in clients}
    contacts = []
    for contact_id, lead in sorted(first_lead.items()):
        client = by_id.get(contact_id)
        if client is None:  # a second contact: a relative of the client
            name, latin = rng.choice(texts.FIRST_NAMES_F + texts.FIRST_NAMES_M)
            phone = f"79{rng.randrange(10**9):09d}"
            while phone in taken:
                phone = f"79{rng.randrange(10**9):09d}"
            taken.add(phone)
            created = min(lead["created_at"] + rng.randrange(600, 3 * DAY), end_s - 1)
        else:
            name, latin, phone = client.name, client.latin, client.phone
            created = max(0, lead["created_at"] - rng.randrange(0, 300))
        fields = [_phones(rng, phone)]
        if rng.random() < 0.25:
            fields.append(_email(rng, latin))
        if client is not None and contact_id in usernames:
            fields.append(_telegram(rng, usernames[contact_id]))
        updated = created + int((end_s - 1 - created) * rng.random() ** 4)
        user = lead["responsible_user_id"]
        contacts.append(_contact(contact_id, name, user, created, updated, fields))
    contacts.sort(key=lambda c: (c["updated_at"], c["id"]))
    return contacts


def write_contacts(folder: Path, contacts: list[dict[str, Any]]) -> list[Path]:
    return write_pages(folder, "contacts", CONTACTS_QUERY, contacts)
