"""What a data engineer opening the Dagster UI after `chatsales run` sees on the partitioned
assets (orchestration/partitions.py): the first run recorded on every day of the history, the
partitions starting where the data does, a second run with no new data recorded only on the
days it recomputed. On the session's DuckDB build (a first run from an empty warehouse, then
the shared second run) and on the 16-month demo (`chatsales demo`, then `chatsales run`)."""

from __future__ import annotations

import re
from datetime import date, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from dagster import AssetKey, DagsterEventType, DagsterInstance

from chatsales.core.warehouse import query

from .support.warehouses import BuiltWarehouse, second_run

pytestmark = [pytest.mark.warehouse, pytest.mark.dagster]

MOSCOW = ZoneInfo("Europe/Moscow")
MESSAGE_DAYS = """
    select distinct cast(timezone('Europe/Moscow', sent_at) as date) from marts.fct_messages
"""
RANGE = ("dagster/asset_partition_range_start", "dagster/asset_partition_range_end")


@pytest.fixture(scope="module")
def partitioned(dagster_defs) -> list[AssetKey]:
    """int_messages and every model downstream of it: dialogs, waits, the fct_* and mart_*."""
    graph = dagster_defs.resolve_asset_graph()
    keys = [key for key in graph.get_all_asset_keys() if graph.get(key).partitions_def]
    assert AssetKey(["marts", "mart_manager_metrics"]) in keys and len(keys) >= 8
    return keys


def _run_id(run) -> str:
    return re.search(r"Run ([0-9a-f-]{36})", run.stdout).group(1)


def _days(start: str, end: str) -> set[str]:
    first, last = date.fromisoformat(start), date.fromisoformat(end)
    return {(first + timedelta(days=n)).isoformat() for n in range((last - first).days + 1)}


def _recorded(built: BuiltWarehouse, run, keys: list[AssetKey]) -> dict:
    """The run's range tags and, per asset, the days it recorded a materialization on."""
    run_id = _run_id(run)
    with built.dagster_instance() as instance:
        tags = instance.get_run_by_id(run_id).tags
        entries = instance.all_logs(run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION)
    days = {key: set() for key in keys}
    for entry in entries:
        if entry.dagster_event.asset_key in days:
            days[entry.dagster_event.asset_key].add(entry.dagster_event.partition)
    return {"range": tuple(tags.get(tag) for tag in RANGE), "days": days}


def _history_start(built: BuiltWarehouse) -> str:
    return (Path(built.env["CHATSALES_STATE_DIR"]) / "history_start").read_text().strip()


def _message_days(built: BuiltWarehouse) -> set[str]:
    return {day.isoformat() for (day,) in query(MESSAGE_DAYS, built.warehouse)}


def test_first_run_is_recorded_on_every_day_since_the_default_start(duckdb_warehouse, partitioned):
    recorded = _recorded(duckdb_warehouse, duckdb_warehouse.first_run, partitioned)
    start, end = recorded["range"]
    assert start == "2024-01-01"  # nothing recorded yet: the default first partition
    for key, days in recorded["days"].items():
        assert days == _days(start, end), key.to_user_string()
    assert f"Recorded in Dagster on {len(_days(start, end))} days" in (
        duckdb_warehouse.first_run.stdout
    )


def test_partitions_then_start_on_the_first_day_with_messages(duckdb_warehouse, partitioned):
    first = min(_message_days(duckdb_warehouse))
    assert _history_start(duckdb_warehouse) == max(first, "2024-01-01")
    with_messages = {day for day in _message_days(duckdb_warehouse) if day >= "2024-01-01"}
    with DagsterInstance.from_config(duckdb_warehouse.env["DAGSTER_HOME"]) as instance:
        for key in partitioned:
            assert with_messages <= instance.get_materialized_partitions(key), key


def test_a_second_run_is_recorded_on_the_days_it_recomputed(duckdb_warehouse, partitioned):
    rerun = second_run(duckdb_warehouse)
    assert rerun.returncode == 0, rerun.stdout
    latest_sql = "select max(sent_at) from intermediate.int_messages"  # the models' watermark
    [(latest,)] = query(latest_sql, duckdb_warehouse.warehouse)
    # the chats with a message in the 3 days + 72 h before the latest message: whole from the
    # first midnight 3 days before it on (a backfill of that day takes in the 72 h before it)
    lookback = latest.astimezone(MOSCOW) - timedelta(days=3)
    first = lookback.date() if lookback.time() == time(0) else lookback.date() + timedelta(1)
    recorded = _recorded(duckdb_warehouse, rerun, partitioned)
    start, end = recorded["range"]
    assert start == first.isoformat()
    assert end >= max(_message_days(duckdb_warehouse))
    for key, days in recorded["days"].items():
        assert days == _days(start, end), key.to_user_string()
    assert start > _history_start(duckdb_warehouse)  # not the whole history again


def test_the_demo_s_history_is_recorded_from_its_first_day(story_warehouse, partitioned):
    assert _history_start(story_warehouse) == "2025-07-01"  # written by `chatsales demo`
    recorded = _recorded(story_warehouse, story_warehouse.first_run, partitioned)
    start, end = recorded["range"]
    assert start == "2025-07-01"
    message_days = _message_days(story_warehouse)
    assert min(message_days) == "2025-07-01" and len(message_days) > 450  # 16 months
    for key, days in recorded["days"].items():
        assert days == _days(start, end) and message_days <= days, key.to_user_string()
