"""Daily partitions of the message-derived assets, cut in the reporting time zone, from the
history start (`CHATSALES_HISTORY_START`, else the first day of data that `chatsales demo` or
the first `chatsales run` recorded, else 2024-01-01) to today.

A run is recorded on the days it recomputed:
- a backfill (days picked in the UI, the daily schedule's yesterday) recomputes the chats with a
  message on those days; its window reaches dbt as vars;
- a catch-up run (`chatsales run`, the new-data sensors) recomputes the chats with a message in
  the `incremental_lookback_days` + `dialog_gap_hours` before the models' latest message
  (dbt_project/macros/incremental.sql), everything from an empty warehouse or with
  --full-refresh. It runs as a partition range from the first day it recomputes whole to today,
  read from the warehouse when the run is requested (never at import).
Dagster records a materialization per asset and day; the instance writes a range's events in
batches (orchestration/event_storage.py).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dagster import DailyPartitionsDefinition, PartitionKeyRange, TimeWindow
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)

from chatsales.core.settings import Warehouse, dbt_vars, history_start, reporting_timezone
from chatsales.core.warehouse import driver_errors, error_line, query, table_names

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


def _message_time(sql: str, target: Warehouse) -> datetime | None:
    """One timestamp of intermediate.int_messages, in the reporting time zone."""
    [(value,)] = query(sql, target)
    if value is None:
        return None
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)  # stored in UTC
    return aware.astimezone(ZoneInfo(reporting_timezone()))


def latest_modelled_message(target: Warehouse) -> datetime | None:
    """The catch-up's watermark: the newest message in the models (None before the first
    build). Raises the driver's error when the warehouse cannot be read."""
    if target.kind == "duckdb" and not target.duckdb_path.exists():
        return None
    if "int_messages" not in table_names("intermediate", target):
        return None
    return _message_time("select max(sent_at) from intermediate.int_messages", target)


def first_modelled_day(target: Warehouse) -> str | None:
    """The first day with a message in the models."""
    first = _message_time("select min(sent_at) from intermediate.int_messages", target)
    return first.date().isoformat() if first else None


def first_whole_day(instant: datetime) -> str:
    """The first day starting at or after `instant` (reporting time zone). A catch-up
    recomputes the chats with a message from `instant` - dialog_gap_hours on: on that day and
    later, every chat a backfill of the day would (a message on the day or in the
    dialog_gap_hours before it)."""
    local = instant.astimezone(ZoneInfo(reporting_timezone()))
    day = local.date() if local.time() == time(0) else local.date() + timedelta(days=1)
    return day.isoformat()


def catch_up_days(target: Warehouse, full_refresh: bool = False) -> PartitionKeyRange:
    """The days a catch-up run recomputes, from the warehouse as it is now."""
    first, last = daily_partitions.get_first_partition_key(), latest_day()
    latest = None if full_refresh else latest_modelled_message(target)
    if latest is None:  # a first build or a full refresh: every day
        return PartitionKeyRange(first, last)
    start = first_whole_day(latest - timedelta(days=dbt_vars()["incremental_lookback_days"]))
    return PartitionKeyRange(min(max(start, first), last), last)


def recorded_days(
    target: Warehouse, warn: Callable[[str], object], full_refresh: bool = False
) -> PartitionKeyRange:
    """`catch_up_days`, or today alone when the warehouse cannot be read now (a DuckDB file
    locked by a running run): then the days before stay as they were recorded."""
    try:
        return catch_up_days(target, full_refresh)
    except driver_errors(target) as error:
        reason = error_line(error)
        warn(f"Could not read {target.display_name} ({reason}): the run is recorded on today only")
        return PartitionKeyRange(latest_day(), latest_day())


def range_tags(days: PartitionKeyRange) -> dict[str, str]:
    """The tags that make a run a partition range run."""
    return {ASSET_PARTITION_RANGE_START_TAG: days.start, ASSET_PARTITION_RANGE_END_TAG: days.end}
