"""Incremental models: a daily run recomputes only the chats with recent messages, and its
numbers equal a full refresh of the same data.

One DuckDB warehouse is built from the demo's first three months, then the fourth month's
webhooks land and `chatsales run` runs again (incremental). A copy is rebuilt with
`chatsales run --full-refresh` and every message-derived table is compared both ways.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from .support.background_builds import built_in_background
from .support.cli import run_cli_ok, warehouse_env
from .support.demo_landing import DEMO_ARGS

pytestmark = pytest.mark.warehouse

LATE_MONTH_FILE = "2025-10.jsonl"  # the fourth month of DEMO_ARGS (from 2025-07)
COMPARED_TABLES = [
    "intermediate.int_messages",
    "intermediate.int_dialogs",
    "intermediate.int_waits",
    "marts.fct_messages",
    "marts.fct_dialogs",
    "marts.fct_waits",
    "marts.mart_manager_metrics",
]
TAMPERED = "tampered by the test"


def _oldest_chat(path: Path) -> tuple[str, str]:
    """A chat whose messages all predate the late month by far: no run should touch it."""
    with duckdb.connect(str(path)) as db:
        return db.execute(
            """
            select chat_id, min(message_id)
            from marts.fct_messages
            group by chat_id
            having max(sent_at) < timestamp '2025-08-15'
            order by chat_id
            limit 1
            """
        ).fetchone()


@built_in_background("incremental_build")
def _start_incremental_build(request):
    tmp = request.getfixturevalue("tmp_path_factory").mktemp("incremental")
    return _build_incrementally, (tmp,)


@pytest.fixture(scope="module")
def incremental_build(warehouse_builds) -> dict:
    return warehouse_builds.result("incremental_build")


def _build_incrementally(tmp: Path) -> dict:
    landing = tmp / "landing"
    run_cli_ok(["demo", *DEMO_ARGS, "--landing", str(landing)], warehouse_env(tmp, "", landing))
    late_file = landing / "wazzup" / LATE_MONTH_FILE
    parked = tmp / LATE_MONTH_FILE
    shutil.move(late_file, parked)

    database = tmp / "warehouse.duckdb"
    env = warehouse_env(tmp, f"duckdb:///{database}", landing)
    run_cli_ok(["run"], env)
    chat_id, message_id = _oldest_chat(database)
    with duckdb.connect(str(database)) as db:
        original_type = db.execute(
            "select message_type from marts.fct_messages where message_id = ?", [message_id]
        ).fetchone()[0]
        db.execute(
            "update marts.fct_messages set message_type = ? where message_id = ?",
            [TAMPERED, message_id],
        )

    shutil.move(parked, late_file)
    run_cli_ok(["run"], env)
    with duckdb.connect(str(database)) as db:
        type_after_incremental = db.execute(
            "select message_type from marts.fct_messages where message_id = ?", [message_id]
        ).fetchone()[0]
        db.execute(
            "update marts.fct_messages set message_type = ? where message_id = ?",
            [original_type, message_id],
        )

    refreshed_tmp = tmp / "full_refresh"
    refreshed_tmp.mkdir()
    refreshed = refreshed_tmp / "warehouse.duckdb"
    shutil.copy(database, refreshed)
    run_cli_ok(
        ["run", "--full-refresh"], warehouse_env(refreshed_tmp, f"duckdb:///{refreshed}", landing)
    )
    return {
        "incremental": database,
        "full_refresh": refreshed,
        "untouched_chat": chat_id,
        "type_after_incremental": type_after_incremental,
    }


def test_a_daily_run_leaves_old_chats_alone(incremental_build):
    # the incremental run rewrote neither this chat's rows nor, by construction, any chat
    # without messages in the lookback window: a full rebuild would have undone the edit
    assert incremental_build["type_after_incremental"] == TAMPERED


def test_the_late_month_arrived(incremental_build):
    with duckdb.connect(str(incremental_build["incremental"]), read_only=True) as db:
        late = db.execute(
            "select count(*) from marts.fct_messages where sent_at >= timestamp '2025-10-01'"
        ).fetchone()[0]
    assert late > 100


@pytest.mark.parametrize("table", COMPARED_TABLES)
def test_incremental_equals_full_refresh(incremental_build, table):
    with duckdb.connect(str(incremental_build["incremental"]), read_only=True) as db:
        db.execute(f"attach '{incremental_build['full_refresh']}' as refreshed (read_only)")
        rows = db.execute(f"select count(*) from {table}").fetchone()[0]
        only_incremental = db.execute(
            f"select * from {table} except all select * from refreshed.{table} limit 5"
        ).fetchall()
        only_refreshed = db.execute(
            f"select * from refreshed.{table} except all select * from {table} limit 5"
        ).fetchall()
    assert rows > 0
    assert only_incremental == [] and only_refreshed == [], (
        f"{table} differs:\nincremental only: {only_incremental}\n"
        f"full refresh only: {only_refreshed}"
    )
