"""Dates of a WhatsApp export: the message prefix patterns and the day/month order of a file.

The date format follows the phone's language/region and is not written in the file:
`3/12/24` (en-US, month first), `12/03/2024` (en-GB), `12.03.2024` / `17.02.19` (ru),
`2024-03-12` (year first). The order is decided once per file, from all its dates.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Literal

Order = Literal["dmy", "mdy", "ymd"]

_DATE = r"(?P<d1>\d{1,4})(?P<sep>[./-])(?P<d2>\d{1,2})(?P=sep)(?P<d3>\d{2,4})"
# 24h or 12h; before AM/PM a plain space, U+202F (Android 13+) or U+00A0, or nothing
_TIME = (
    r"(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2}))?"
    r"(?:[ \u202f\u00a0]?(?P<ampm>[AaPp]\.?[ \u202f\u00a0]?[Mm]\.?))?"
)
ANDROID_PREFIX = re.compile(rf"^\u200e?{_DATE},? {_TIME} [-\u2013] (?P<rest>.*)$")
IOS_PREFIX = re.compile(rf"^\u200e?\[{_DATE},? {_TIME}\] (?P<rest>.*)$")
# a backward step bigger than this is not clock skew: the day/month order is wrong
_MAX_SKEW = timedelta(days=1)


class UndecidableDateOrder(ValueError):
    """The day/month order of a file cannot be decided; the message names the file."""


@dataclass(frozen=True)
class Stamp:
    """The date and time parts of one message prefix, as written."""

    d1: str
    d2: str
    d3: str
    sep: str
    hour: int
    minute: int
    second: int
    ampm: str | None

    @classmethod
    def from_match(cls, match: re.Match[str]) -> Stamp:
        ampm = match["ampm"]
        return cls(
            match["d1"], match["d2"], match["d3"], match["sep"],
            int(match["hour"]), int(match["minute"]), int(match["second"] or 0),
            ampm.replace(".", "").replace(" ", "").replace("\u202f", "").replace("\u00a0", "")
            .upper() if ampm else None,
        )  # fmt: skip

    @property
    def year_first(self) -> bool:
        return len(self.d1) == 4

    def to_datetime(self, order: Order) -> datetime:
        """The naive local time; ValueError when impossible (month 13, 25:00, 13 PM ...)."""
        if self.year_first:
            year, month, day = int(self.d1), int(self.d2), int(self.d3)
        else:
            if len(self.d3) == 3:
                raise ValueError(f"year {self.d3!r} has three digits")
            year = int(self.d3) + (2000 if len(self.d3) == 2 else 0)
            first, second = int(self.d1), int(self.d2)
            day, month = (first, second) if order == "dmy" else (second, first)
        hour = self.hour
        if self.ampm:
            if not 1 <= hour <= 12:
                raise ValueError(f"hour {hour} with {self.ampm}")
            hour = hour % 12 + (12 if self.ampm == "PM" else 0)
        return datetime(year, month, day, hour, self.minute, self.second)


def _fits(stamps: list[Stamp], order: Order) -> list[datetime] | None:
    try:
        return [stamp.to_datetime(order) for stamp in stamps]
    except ValueError:
        return None


def _chronological(times: list[datetime]) -> bool:
    return all(later >= earlier - _MAX_SKEW for earlier, later in pairwise(times))


def _invalid_count(stamps: list[Stamp], order: Order) -> int:
    return sum(1 for stamp in stamps if _fits([stamp], order) is None)


def decide_order(stamps: list[Stamp], file_name: str) -> Order:
    """Day-first or month-first for the whole file.

    1. A part > 12 decides (`13/03/2024` is day-first, `3/13/24` month-first).
    2. Every date fits both orders: if only one order keeps the messages in time order,
       it wins; if every date reads the same both ways (`03/03/24`), either does.
    3. Still open: dotted dates (`01.02.2024`) are day-first (no locale writes M.D.Y);
       slashed ones raise `UndecidableDateOrder`.
    4. Dates contradict each other: the order with fewer impossible dates wins (those lines
       are quarantined); a tie raises `UndecidableDateOrder`.
    """
    ambiguous = [stamp for stamp in stamps if not stamp.year_first]
    if not ambiguous:
        return "ymd"
    dmy, mdy = _fits(ambiguous, "dmy"), _fits(ambiguous, "mdy")
    if dmy is not None and mdy is None:
        return "dmy"
    if mdy is not None and dmy is None:
        return "mdy"
    if dmy is not None and mdy is not None:
        if dmy == mdy:
            return "dmy"
        if _chronological(dmy) != _chronological(mdy):
            return "dmy" if _chronological(dmy) else "mdy"
        if all(stamp.sep == "." for stamp in ambiguous):
            return "dmy"
        sample = ", ".join(f"{s.d1}{s.sep}{s.d2}{s.sep}{s.d3}" for s in ambiguous[:3])
        raise UndecidableDateOrder(
            f"{file_name}: cannot decide day/month order: every date ({sample}, ...) has "
            "both parts <= 12 and reads in time order either way; re-export the chat after "
            "a day > 12 or convert its dates"
        )
    bad_dmy, bad_mdy = _invalid_count(ambiguous, "dmy"), _invalid_count(ambiguous, "mdy")
    if bad_dmy == bad_mdy:
        raise UndecidableDateOrder(
            f"{file_name}: cannot decide day/month order: {bad_dmy} dates are impossible "
            "day-first and as many month-first"
        )
    return "dmy" if bad_dmy < bad_mdy else "mdy"
