"""Phone numbers as the join key between chats and CRM contacts: E.164 digits, no `+`.

A WhatsApp/Viber `chatId` is already such digits; CRM contacts hold whatever a manager
typed (`+7 (900) 123-45-67`, `89001234567`, `900 123 45 67`), normalized here the same way.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_NOT_DIGITS = re.compile(r"\D")
E164_MAX_DIGITS = 15


def normalize_phone(raw: object) -> str | None:
    """E.164 digits without `+`, or None when `raw` holds no plausible phone number.

    Russian habits are resolved: `8XXXXXXXXXX` (11 digits) -> `7XXXXXXXXXX`; a 10-digit
    mobile `9XXXXXXXXX` -> `79XXXXXXXXX`. Fewer than 10 or more than 15 digits -> None.
    Other numbers keep their digits as typed (the country code is assumed present).
    """
    if raw is None or isinstance(raw, bool):
        return None
    digits = _NOT_DIGITS.sub("", str(raw))
    if len(digits) < 10 or len(digits) > E164_MAX_DIGITS:
        return None
    if len(digits) == 11 and digits[0] == "8":
        return "7" + digits[1:]
    if len(digits) == 10 and digits[0] == "9":
        return "7" + digits
    return digits


def normalize_phones(values: Iterable[object]) -> list[str]:
    """Normalized numbers in their order, without repeats; unusable values are dropped."""
    seen: dict[str, None] = {}
    for value in values:
        phone = normalize_phone(value)
        if phone:
            seen.setdefault(phone)
    return list(seen)
