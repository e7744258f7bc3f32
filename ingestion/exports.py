"""The raw table shared by the chat-export sources (Telegram, WhatsApp): one row per
exported message, with the side (manager, client, system) the loader decided."""

from __future__ import annotations

import pyarrow as pa

MESSAGES_SCHEMA = pa.schema(
    [
        pa.field("message_id", pa.string(), nullable=False),
        ("manager_id", pa.string()),  # the landing folder: whose export it is
        ("chat_id", pa.string()),
        ("chat_name", pa.string()),
        ("chat_type", pa.string()),
        ("author_id", pa.string()),
        ("author_name", pa.string()),
        ("author_side", pa.string()),  # manager | client | automation | system
        ("sent_at", pa.timestamp("us", tz="UTC")),
        ("message_type", pa.string()),
        ("text", pa.string()),
        ("is_deleted", pa.bool_()),
        ("is_edited", pa.bool_()),
        ("client_phone", pa.string()),  # E.164 digits (ingestion/phones.py)
        ("client_username", pa.string()),
        ("landing_file", pa.string()),
        ("landing_line", pa.int64()),
    ]
)
