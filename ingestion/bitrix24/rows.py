"""Bitrix24 records (every scalar a string) to typed rows; a ValueError means quarantine."""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from ..phones import normalize_phones

TS = pa.timestamp("us", tz="UTC")
DEAL_FIELDS = [
    "ID", "TITLE", "STAGE_ID", "STAGE_SEMANTIC_ID", "CATEGORY_ID", "OPPORTUNITY",
    "CURRENCY_ID", "ASSIGNED_BY_ID", "CONTACT_ID", "DATE_CREATE", "DATE_MODIFY",
    "CLOSEDATE", "CLOSED", "SOURCE_ID", "UF_*",
]  # fmt: skip
USER_FIELD_PREFIX = "UF_"
# PHONE is a multi-field: crm.contact.list returns it only when selected by name.
CONTACT_FIELDS = ["ID", "NAME", "LAST_NAME", "ASSIGNED_BY_ID", "DATE_MODIFY", "PHONE"]
DEALS_SCHEMA = pa.schema(
    [
        pa.field("id", pa.int64(), nullable=False),
        ("title", pa.string()),
        ("stage_id", pa.string()),
        ("stage_semantic_id", pa.string()),  # P open, S won, F lost
        ("category_id", pa.int64()),
        ("opportunity", pa.float64()),
        ("currency_id", pa.string()),
        ("assigned_by_id", pa.string()),
        ("contact_id", pa.int64()),
        ("is_won", pa.bool_()),
        ("is_lost", pa.bool_()),
        ("created_at", TS),
        ("modified_at", TS),
        ("closed_at", TS),  # CLOSEDATE of a won or lost deal; null while open
        ("source_id", pa.string()),  # the deal's source (crm.status.list ENTITY_ID=SOURCE)
        # JSON list, one object per value of a user field (UF_*): field_id (= its name), value
        ("custom_fields", pa.string()),
    ]
)
CONTACTS_SCHEMA = pa.schema(
    [
        pa.field("id", pa.int64(), nullable=False),
        ("name", pa.string()),
        ("last_name", pa.string()),
        ("assigned_by_id", pa.string()),
        ("phones", pa.string()),  # normalized E.164 digits, `;`-separated
        ("primary_phone", pa.string()),
        ("modified_at", TS),
    ]
)
USERS_SCHEMA = pa.schema(
    [
        pa.field("id", pa.int64(), nullable=False),
        ("name", pa.string()),
        ("last_name", pa.string()),
        ("email", pa.string()),
        ("active", pa.bool_()),
    ]
)
_INTEGER = re.compile(r"-?\d+")
_FLAGS = {"y": True, "true": True, "1": True, "n": False, "false": False, "0": False}
# Fallback when STAGE_SEMANTIC_ID was not sent: the system stages of every pipeline.
_STAGE_SEMANTICS = {"WON": "S", "LOSE": "F", "APOLOGY": "F"}


def _text(record: dict, key: str, required: bool = False) -> str | None:
    value = record.get(key)
    if value is None or value == "":
        if required:
            raise ValueError(f"{key} is missing")
        return None
    if isinstance(value, dict | list):
        raise ValueError(f"{key} is not a scalar: {value!r}")
    return str(value)


def _int(record: dict, key: str, required: bool = False) -> int | None:
    text = _text(record, key, required)
    if text is None:
        return None
    if isinstance(record[key], bool) or not _INTEGER.fullmatch(text.strip()):
        raise ValueError(f"{key} is not an integer: {record[key]!r}")
    return int(text)


def _number(record: dict, key: str) -> float | None:
    text = _text(record, key)
    try:
        number = None if text is None else float(text)
    except ValueError:
        raise ValueError(f"{key} is not a number: {text!r}") from None
    if number is not None and not math.isfinite(number):
        raise ValueError(f"{key} is not a finite number: {text!r}")
    return number


def _timestamp(record: dict, key: str, required: bool = False) -> datetime | None:
    text = _text(record, key, required)
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{key} is not an ISO timestamp: {text!r}") from None
    if value.tzinfo is None:
        raise ValueError(f"{key} has no UTC offset: {text!r}")
    return value.astimezone(UTC)


def _semantic(deal: dict) -> str:
    semantic = _text(deal, "STAGE_SEMANTIC_ID")
    if semantic is None:
        stage = (_text(deal, "STAGE_ID") or "").rsplit(":", 1)[-1]
        semantic = _STAGE_SEMANTICS.get(stage, "P")
    if semantic not in ("P", "S", "F"):
        raise ValueError(f"STAGE_SEMANTIC_ID is not P, S or F: {semantic!r}")
    return semantic


def deal_row(deal: dict) -> dict[str, Any]:
    semantic = _semantic(deal)
    contact_id = _int(deal, "CONTACT_ID")
    return {
        "id": _int(deal, "ID", required=True),
        "title": _text(deal, "TITLE"),
        "stage_id": _text(deal, "STAGE_ID"),
        "stage_semantic_id": semantic,
        "category_id": _int(deal, "CATEGORY_ID"),
        "opportunity": _number(deal, "OPPORTUNITY"),
        "currency_id": _text(deal, "CURRENCY_ID"),
        "assigned_by_id": _text(deal, "ASSIGNED_BY_ID"),
        "contact_id": contact_id or None,  # "0": no contact
        "is_won": semantic == "S",
        "is_lost": semantic == "F",
        "created_at": _timestamp(deal, "DATE_CREATE", required=True),
        "modified_at": _timestamp(deal, "DATE_MODIFY", required=True),
        # CLOSEDATE is the planned close date while a deal is open
        "closed_at": _timestamp(deal, "CLOSEDATE") if semantic != "P" else None,
        "source_id": _text(deal, "SOURCE_ID"),
        "custom_fields": _user_fields_json(deal),
    }


def _user_fields_json(deal: dict) -> str | None:
    """The deal's user fields (UF_*) as custom_fields: a multiple field gives a value each;
    empty values and structured ones (files, addresses) are left out."""
    values = []
    for name, value in deal.items():
        if not name.startswith(USER_FIELD_PREFIX):
            continue
        for item in value if isinstance(value, list) else [value]:
            if item is None or isinstance(item, dict | list) or str(item).strip() == "":
                continue
            text = str(item).strip()
            values.append({"field_id": name, "field_name": name, "field_code": None,
                           "value": text, "enum_id": None})  # fmt: skip
    return json.dumps(values, ensure_ascii=False) if values else None


def _phones(contact: dict) -> list[str]:
    values = contact.get("PHONE") or []
    if not isinstance(values, list) or not all(isinstance(v, dict) for v in values):
        raise ValueError(f"PHONE is not a list of {{VALUE, VALUE_TYPE}}: {values!r}")
    return normalize_phones(v.get("VALUE") for v in values)


def contact_row(contact: dict) -> dict[str, Any]:
    phones = _phones(contact)
    return {
        "id": _int(contact, "ID", required=True),
        "name": _text(contact, "NAME"),
        "last_name": _text(contact, "LAST_NAME"),
        "assigned_by_id": _text(contact, "ASSIGNED_BY_ID"),
        "phones": ";".join(phones) or None,
        "primary_phone": phones[0] if phones else None,
        "modified_at": _timestamp(contact, "DATE_MODIFY", required=True),
    }


def user_row(user: dict) -> dict[str, Any]:
    active = user.get("ACTIVE")
    if not isinstance(active, bool) and active is not None:
        if str(active).strip().lower() not in _FLAGS:
            raise ValueError(f"ACTIVE is not a flag: {active!r}")
        active = _FLAGS[str(active).strip().lower()]
    return {
        "id": _int(user, "ID", required=True),
        "name": _text(user, "NAME"),
        "last_name": _text(user, "LAST_NAME"),
        "email": _text(user, "EMAIL"),
        "active": True if active is None else active,
    }
