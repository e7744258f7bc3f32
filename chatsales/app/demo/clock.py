"""Time helpers. All instants are integer epoch milliseconds (UTC).

Moscow has kept UTC+3 without DST since 2014, so a fixed offset is exact for the demo period
and keeps the output independent of the machine's tz database.
"""

from __future__ import annotations

import random
import time
from datetime import datetime, timedelta, timezone

from .stories import START_MONTH, START_YEAR

MSK = timezone(timedelta(hours=3), "MSK")
OFFSET_MS = 3 * 3600 * 1000
HOUR_MS = 3600 * 1000
DAY_MS = 24 * HOUR_MS


def month_starts(months: int) -> list[int]:
    """Start instants of months 1..months, plus the end of the last month."""
    starts = []
    year, month = START_YEAR, START_MONTH
    for _ in range(months + 1):
        starts.append(int(datetime(year, month, 1, tzinfo=MSK).timestamp()) * 1000)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return starts


def iso_ms(ms: int) -> str:
    """`2025-07-01T06:15:03.412Z`, as Wazzup writes `dateTime`."""
    seconds, millis = divmod(ms, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"


def local_day(ms: int) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime((ms + OFFSET_MS) // 1000))


def local_month(ms: int) -> str:
    return time.strftime("%Y-%m", time.gmtime((ms + OFFSET_MS) // 1000))


def local_hour(ms: int) -> int:
    return (ms + OFFSET_MS) // HOUR_MS % 24


def next_nine(ms: int) -> int:
    """The next 09:00 Moscow time at or after `ms`."""
    local = ms + OFFSET_MS
    nine = local - local % DAY_MS + 9 * HOUR_MS
    return (nine if nine >= local else nine + DAY_MS) - OFFSET_MS


class MonthDays:
    """Picks plausible dialog start instants inside one month."""

    def __init__(self, start_ms: int, end_ms: int) -> None:
        days = range(start_ms, end_ms, DAY_MS)  # local midnights (fixed offset: 24 h days)
        self.weekdays = [d for d in days if time.gmtime((d + OFFSET_MS) // 1000).tm_wday < 5]
        self.weekends = [d for d in days if d not in self.weekdays]

    def pick(self, rng: random.Random, working_only: bool = False) -> int:
        """85% working hours (Mon-Fri 9-18), 10% weekday evenings, 5% weekends 10-20."""
        r = 0.0 if working_only else rng.random()
        if r < 0.85 or not self.weekends:
            day, first, last = rng.choice(self.weekdays), 9, 18
        elif r < 0.95:
            day, first, last = rng.choice(self.weekdays), 18, 22
        else:
            day, first, last = rng.choice(self.weekends), 10, 20
        return day + rng.randrange(first * HOUR_MS, last * HOUR_MS)
