"""What the warehouse can store of a JSON string: JSON's "\\ud800" escape decodes to a lone
surrogate, which UTF-8 (and so Arrow, DuckDB and PostgreSQL) cannot hold. A record with one
is quarantined; its quarantine row keeps the surrogate as the escape text."""

from __future__ import annotations

from typing import Any


def has_lone_surrogate(value: str) -> bool:
    if value.isascii():
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def unstorable_field(row: dict[str, Any]) -> str | None:
    """The first text field of a row that UTF-8 cannot hold, or None."""
    return next(
        (key for key, value in row.items() if isinstance(value, str) and has_lone_surrogate(value)),
        None,
    )


def escaped(text: str) -> str:
    """The text with any lone surrogate written as its escape (`\\ud800`)."""
    return (
        text if not has_lone_surrogate(text) else text.encode("utf-8", "backslashreplace").decode()
    )
