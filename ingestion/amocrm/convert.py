"""Field conversions shared by the amoCRM record types (API v4 sends unix seconds)."""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa

TS = pa.timestamp("us", tz="UTC")


def int_field(record: dict, key: str, required: bool = False) -> int | None:
    value = record.get(key)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{key} is not an integer: {value!r}")
    return value


def timestamp_field(record: dict, key: str, required: bool = False) -> datetime | None:
    seconds = int_field(record, key, required)
    if seconds is None:
        return None
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError) as exc:
        raise ValueError(f"{key} is no unix time in range: {seconds!r}") from exc
