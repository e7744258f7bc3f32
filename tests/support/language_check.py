"""What counts as English on a Russian dashboard (the bundle's strings and the rendered page)."""

from __future__ import annotations

import re

# Latin words a Russian dashboard may show: channel and product names, abbreviations, and
# the two column values its dataset descriptions quote ('all', channel)
ALLOWED_LATIN = {
    *("WhatsApp", "Telegram", "Instagram", "whatsapp", "telegram", "viber", "instagram", "vk"),
    *("avito", "max", "unknown", "SLA", "CRM", "ISO", "ID", "p90", "MAD", "k", "all", "channel"),
}
LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
CYRILLIC = re.compile(r"[А-Яа-яЁё]")


def english_words(text: str) -> list[str]:
    """The Latin words of `text` not allowed on a Russian dashboard (snake_case names of
    columns, statuses and settings are names, not English)."""
    return [
        word for word in LATIN_WORD.findall(text) if word not in ALLOWED_LATIN and "_" not in word
    ]
