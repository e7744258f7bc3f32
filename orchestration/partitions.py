"""Daily partitions of the message-derived assets, cut in the reporting time zone.

A backfill of some days recomputes the chats active on those days. A catch-up run
(`chatsales run`, the sensors) brings everything up to date and is recorded on the latest
day: one partition, because Dagster stores an event per asset and partition, and marking a
thousand days at once costs minutes.
"""

from __future__ import annotations

from dagster import DailyPartitionsDefinition, TimeWindow

from chatsales.core.settings import history_start, reporting_timezone

# end_offset=1: today is a partition too, so a run can cover the messages landed so far.
daily_partitions = DailyPartitionsDefinition(
    start_date=history_start(), timezone=reporting_timezone(), end_offset=1
)


def latest_day() -> str:
    """Today's partition key in the reporting time zone."""
    return daily_partitions.get_last_partition_key()


def window_vars(window: TimeWindow) -> dict[str, str]:
    """The dbt vars of a run over `window`: local dates, the end exclusive."""
    return {
        "window_start": window.start.date().isoformat(),
        "window_end": window.end.date().isoformat(),
    }
