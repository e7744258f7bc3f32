"""Which days a catch-up run is recorded on (orchestration/partitions.py), read from a scratch
DuckDB warehouse holding only `intermediate.int_messages`: every day before the first build or
with --full-refresh; else from the first day whose chats it recomputes whole, to today."""

from __future__ import annotations

import subprocess
import sys
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import duckdb
import pytest

from chatsales.core.settings import Warehouse
from orchestration.partitions import catch_up_days, daily_partitions, latest_day, recorded_days

pytestmark = pytest.mark.unit

MOSCOW = ZoneInfo("Europe/Moscow")


def today() -> date:
    """Today's partition, read when a test runs (a session may cross midnight in Moscow)."""
    return date.fromisoformat(latest_day())


def _warehouse(tmp_path, *latest: datetime) -> Warehouse:
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as connection:
        connection.execute("create schema intermediate")
        connection.execute("create table intermediate.int_messages (sent_at timestamptz)")
        for instant in latest:
            connection.execute("insert into intermediate.int_messages values (?)", [instant])
    return Warehouse(f"duckdb:///{path}")


def _days(start: date, end: date | None = None) -> tuple[str, str]:
    return start.isoformat(), (end or today()).isoformat()


def _pair(days) -> tuple[str, str]:
    return days.start, days.end


def _moscow(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=MOSCOW)


def every_day() -> tuple[str, str]:
    return daily_partitions.get_first_partition_key(), latest_day()


def test_before_the_first_build_every_day(tmp_path):
    missing = Warehouse(f"duckdb:///{tmp_path / 'none.duckdb'}")
    assert _pair(catch_up_days(missing)) == every_day()
    duckdb.connect(str(tmp_path / "empty.duckdb")).close()
    assert _pair(catch_up_days(Warehouse(f"duckdb:///{tmp_path / 'empty.duckdb'}"))) == every_day()
    assert _pair(catch_up_days(_warehouse(tmp_path))) == every_day()  # a table with no message


def test_from_the_first_day_the_lookback_covers_whole(tmp_path):
    day = today() - timedelta(days=10)
    # 3 days (incremental_lookback_days) before 23:50 is 23:50 three days earlier: the chats
    # of that day from 23:50 - 72 h on are recomputed, not all of them; the next day's are
    late = _warehouse(tmp_path, _moscow(day - timedelta(days=20), 9), _moscow(day, 23, 50))
    assert _pair(catch_up_days(late)) == _days(day - timedelta(days=2))
    # 21:00 UTC is midnight in Moscow: three days before it starts a whole day
    (tmp_path / "warehouse.duckdb").unlink()
    midnight = _warehouse(tmp_path, _moscow(day, 0))
    assert _pair(catch_up_days(midnight)) == _days(day - timedelta(days=3))
    assert _pair(catch_up_days(midnight, full_refresh=True)) == every_day()


def test_never_outside_the_partitions(tmp_path):
    future = _warehouse(tmp_path, _moscow(today() + timedelta(days=30), 12))
    assert _pair(catch_up_days(future)) == _days(today())
    (tmp_path / "warehouse.duckdb").unlink()
    first = date.fromisoformat(every_day()[0])
    ancient = _warehouse(tmp_path, _moscow(first - timedelta(days=400), 12))
    assert _pair(catch_up_days(ancient)) == every_day()


def test_a_locked_warehouse_records_today_only(tmp_path):
    target = _warehouse(tmp_path, _moscow(today(), 9))
    holder = subprocess.Popen(  # a run writing the warehouse
        [sys.executable, "-c", "import duckdb, sys; c = duckdb.connect(sys.argv[1]); "
         "print('locked', flush=True); sys.stdin.read()", str(target.duckdb_path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    warnings = []
    try:
        assert holder.stdout.readline().strip() == "locked"
        days = recorded_days(target, warnings.append)
    finally:
        holder.communicate("")
    assert _pair(days) == _days(today())
    [warning] = warnings
    assert "lock" in warning and "recorded on today only" in warning
