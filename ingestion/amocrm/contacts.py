"""amoCRM contacts (phones and Telegram username: the keys that join chats to deals) and
pipeline statuses (stage names; won = 142, lost = 143 in every pipeline)."""

from __future__ import annotations

import re
from typing import Any

import pyarrow as pa

from ..phones import normalize_phones
from .client import embedded
from .convert import TS, int_field, timestamp_field

WON, LOST = 142, 143
CONTACTS_SCHEMA = pa.schema(
    [
        pa.field("id", pa.int64(), nullable=False),
        ("name", pa.string()),
        ("responsible_user_id", pa.int64()),
        ("created_at", TS),
        ("updated_at", TS),
        ("phones", pa.string()),  # normalized E.164 digits, `;`-separated
        ("primary_phone", pa.string()),
        ("telegram_username", pa.string()),  # without `@` or a t.me/ prefix
    ]
)
PIPELINE_STATUSES_SCHEMA = pa.schema(
    [
        pa.field("pipeline_id", pa.int64(), nullable=False),
        ("pipeline_name", pa.string()),
        pa.field("status_id", pa.int64(), nullable=False),
        ("status_name", pa.string()),
        ("sort", pa.int64()),
        ("is_won", pa.bool_()),
        ("is_lost", pa.bool_()),
    ]
)
_TME = re.compile(r"^(?:https?://)?(?:t|telegram)\.me/", re.IGNORECASE)


def _fields(contact: dict) -> list[dict]:
    fields = contact.get("custom_fields_values") or []
    if not isinstance(fields, list) or not all(isinstance(f, dict) for f in fields):
        raise ValueError(f"custom_fields_values is not a list of fields: {fields!r}")
    return fields


def _values(field: dict) -> list[dict]:
    return [v for v in field.get("values") or [] if isinstance(v, dict)]


def _text(value: Any) -> str | None:
    text = None if value is None or isinstance(value, dict | list) else str(value).strip()
    return text or None


def custom_fields(record: dict) -> list[dict[str, Any]]:
    """A lead's or contact's `custom_fields_values`, flat: one object per value, with its
    field's id, name and code (text), the value (text) and its enum id."""
    return [
        {
            "field_id": _text(field.get("field_id")),
            "field_name": _text(field.get("field_name")),
            "field_code": _text(field.get("field_code")),
            "value": _text(value.get("value")),
            "enum_id": _text(value.get("enum_id")),
        }
        for field in _fields(record)
        for value in _values(field)
        if _text(value.get("value")) is not None
    ]


def _telegram(fields: list[dict]) -> str | None:
    """A field named/coded Telegram, or an IM field value with enum_code TELEGRAM."""
    for field in fields:
        label = f"{field.get('field_code') or ''} {field.get('field_name') or ''}".lower()
        for value in _values(field):
            if "telegram" in label or str(value.get("enum_code") or "").upper() == "TELEGRAM":
                username = _TME.sub("", str(value.get("value") or "").strip()).lstrip("@")
                if username.strip():
                    return username.strip()
    return None


def contact_row(contact: dict) -> dict[str, Any]:
    fields = _fields(contact)
    phones = normalize_phones(
        value.get("value") for field in fields if field.get("field_code") == "PHONE"
        for value in _values(field)
    )  # fmt: skip
    return {
        "id": int_field(contact, "id", required=True),
        "name": contact.get("name"),
        "responsible_user_id": int_field(contact, "responsible_user_id"),
        "created_at": timestamp_field(contact, "created_at", required=True),
        "updated_at": timestamp_field(contact, "updated_at", required=True),
        "phones": ";".join(phones) or None,
        "primary_phone": phones[0] if phones else None,
        "telegram_username": _telegram(fields),
    }


def pipeline_status_rows(pipeline: dict) -> list[dict[str, Any]]:
    """One row per status of the pipeline."""
    pipeline_id = int_field(pipeline, "id", required=True)
    rows = []
    for status in embedded(pipeline, "statuses"):
        status_id = int_field(status, "id", required=True)
        rows.append(
            {
                "pipeline_id": pipeline_id,
                "pipeline_name": pipeline.get("name"),
                "status_id": status_id,
                "status_name": status.get("name"),
                "sort": int_field(status, "sort"),
                "is_won": status_id == WON,
                "is_lost": status_id == LOST,
            }
        )
    return rows
