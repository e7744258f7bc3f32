"""Dates of a WhatsApp export: the message prefix patterns and the date order of a file.

The date format follows the phone's language/region and is not written in the file:
`3/12/24` (en-US, month first), `12/03/2024` (en-GB), `12.03.2024` / `17.02.19` (ru),
`2024-03-12`, `24-03-12` or `24-12-03` (year first). The order is decided once per file,
from all its dates: a file is read exactly in one order, or refused whole.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise

# an order names what each of the three date parts is; the usual ones first
ORDERS = ("dmy", "mdy", "ymd", "ydm", "dym", "myd")
Order = str

_DATE = r"(?P<d1>\d{1,4})(?P<sep>[./-])(?P<d2>\d{1,4})(?P=sep)(?P<d3>\d{1,4})"
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
    """The date order of a file cannot be decided, or no order reads every date: the file is
    refused whole; the message names the file and why."""


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
    def parts(self) -> tuple[str, str, str]:
        return self.d1, self.d2, self.d3

    @property
    def date_text(self) -> str:
        return self.sep.join(self.parts)

    def to_datetime(self, order: Order) -> datetime:
        """The naive local time; ValueError when impossible (month 13, 25:00, 13 PM ...)."""
        part = dict(zip(order, self.parts, strict=True))
        if len(part["y"]) not in (2, 4):
            raise ValueError(f"year {part['y']!r} has {len(part['y'])} digits")
        for name, key in (("day", "d"), ("month", "m")):
            if len(part[key]) > 2:
                raise ValueError(f"{name} {part[key]!r} has {len(part[key])} digits")
        year = int(part["y"]) + (2000 if len(part["y"]) == 2 else 0)
        month, day = int(part["m"]), int(part["d"])
        hour = self.hour
        if self.ampm:
            if not 1 <= hour <= 12:
                raise ValueError(f"hour {hour} with {self.ampm}")
            hour = hour % 12 + (12 if self.ampm == "PM" else 0)
        return datetime(year, month, day, hour, self.minute, self.second)


def _fits(stamps: Sequence[Stamp], order: Order) -> tuple[datetime, ...] | None:
    try:
        return tuple(stamp.to_datetime(order) for stamp in stamps)
    except ValueError:
        return None


def _chronological(times: Sequence[datetime]) -> bool:
    return all(later >= earlier - _MAX_SKEW for earlier, later in pairwise(times))


def _impossible(stamps: Sequence[Stamp], order: Order) -> list[str]:
    return [stamp.date_text for stamp in stamps if _fits([stamp], order) is None]


def _changes(stamps: Sequence[Stamp]) -> list[int]:
    """How often each date part changes from one message to the next."""
    values = [[int(part) for part in stamp.parts] for stamp in stamps]
    return [sum(a[i] != b[i] for a, b in pairwise(values)) for i in range(3)]


def decide_order(stamps: Sequence[Stamp], file_name: str) -> Order:
    """The one order of day, month and year that reads every date of the file.

    1. Only the orders that read every date are candidates (`13/03/2024` rules out
       month-first, `24-23-03` everything but year-day-month); none: the file is refused.
    2. Orders that give the same dates are one reading. Of several readings, those that keep
       the messages in time order win.
    3. Still several: the year is the part that changes least from message to message (a
       year jump between neighbours is a misreading).
    4. Still several: the conventions, year last before year first with `.` and `/`,
       dotted dates day-first (no locale writes M.D.Y), four-digit year first is ISO (Y-M-D);
       else the file is refused (`UndecidableDateOrder`): nothing in it tells day from month.
    """
    if not stamps:
        return ORDERS[0]
    readings: dict[tuple[datetime, ...], list[Order]] = {}
    for order in ORDERS:
        if (times := _fits(stamps, order)) is not None:
            readings.setdefault(times, []).append(order)
    if not readings:
        nearest = min(ORDERS, key=lambda order: len(_impossible(stamps, order)))
        bad = _impossible(stamps, nearest)
        raise UndecidableDateOrder(
            f"{file_name}: no day/month/year order reads every date: {len(bad)} of "
            f"{len(stamps)} are impossible even as {nearest} ({', '.join(bad[:3])}); the file "
            "is not read rather than read in part"
        )
    candidates = [orders for times, orders in readings.items() if _chronological(times)] or list(
        readings.values()
    )
    changes = _changes(stamps)

    def evidence(order: Order) -> int:
        return changes[order.index("y")]

    best = min(evidence(order) for orders in candidates for order in orders)
    candidates = [orders for orders in candidates if any(evidence(o) == best for o in orders)]
    if len(candidates) > 1:
        candidates = _by_convention(candidates, stamps)
    if len(candidates) == 1:
        return candidates[0][0]
    sample = ", ".join(stamp.date_text for stamp in stamps[:3])
    readings_named = " or ".join(orders[0] for orders in candidates)
    raise UndecidableDateOrder(
        f"{file_name}: cannot decide the date order: every date ({sample}, ...) reads as "
        f"{readings_named}, in time order either way; re-export the chat once it holds a day "
        "over 12 (or more days), or convert its dates to YYYY-MM-DD"
    )


def _by_convention(candidates: list[list[Order]], stamps: Sequence[Stamp]) -> list[list[Order]]:
    separators = {stamp.sep for stamp in stamps}
    if separators <= {".", "/"}:
        year_last = [orders for orders in candidates if orders[0].endswith("y")]
        candidates = year_last or candidates
    for order, applies in (("dmy", separators == {"."}), ("ymd", _four_digit_year_first(stamps))):
        if applies and any(order in orders for orders in candidates):
            return [[order]]
    return candidates


def _four_digit_year_first(stamps: Sequence[Stamp]) -> bool:
    return all(len(stamp.d1) == 4 for stamp in stamps)
