"""The partition window reaches the SQL on both engines: a dbt build with the vars Dagster
passes for one day (orchestration/assets/dbt.py) recomputes the chats active that day and
leaves older chats alone. (The backfill through the Dagster UI: tests/test_backfill.py.)"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from chatsales.core.settings import DBT_PROJECT_DIR
from chatsales.core.warehouse import connect, query

pytestmark = pytest.mark.warehouse

WINDOW = {"window_start": "2025-09-16", "window_end": "2025-09-17"}
TAMPERED = "tampered by test_partition_window"
# 10:00-18:00 in Moscow on the window's day, far from its edges
INSIDE = """
    select min(message_id) from marts.fct_messages
    where sent_at >= timestamp '2025-09-16 07:00:00' and sent_at < timestamp '2025-09-16 15:00:00'
"""
# a chat whose last message is weeks before the window (and its 72 h lead-in)
OUTSIDE = """
    select min(message_id) from marts.fct_messages where chat_id = (
        select min(chat_id) from marts.fct_messages
        group by chat_id having max(sent_at) < timestamp '2025-08-15'
        order by 1 limit 1)
"""


def _set_type(built, message_id: str, message_type: str) -> None:
    placeholder = "?" if built.warehouse.kind == "duckdb" else "%s"
    with connect(built.warehouse, read_only=False) as conn:
        conn.cursor().execute(
            "update marts.fct_messages set message_type = "
            f"{placeholder} where message_id = {placeholder}",
            (message_type, message_id),
        )
        conn.commit()


def _type(built, message_id: str) -> str:
    return query(
        f"select message_type from marts.fct_messages where message_id = '{message_id}'",
        built.warehouse,
    )[0][0]


def test_a_partition_run_recomputes_only_its_window_chats(built):
    [(inside,)] = query(INSIDE, built.warehouse)
    [(outside,)] = query(OUTSIDE, built.warehouse)
    assert inside and outside
    originals = {message: _type(built, message) for message in (inside, outside)}
    for message in originals:
        _set_type(built, message, TAMPERED)
    try:
        dbt = str(Path(sys.executable).with_name("dbt"))
        result = subprocess.run(
            [dbt, "build", "--select", "int_messages+", "--exclude-resource-type", "unit_test",
             "--vars", json.dumps(WINDOW), "--profiles-dir", str(DBT_PROJECT_DIR)],
            cwd=DBT_PROJECT_DIR, env={**built.env, **built.warehouse.dbt_env()},
            capture_output=True, text=True,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout[-4000:]
        assert _type(built, inside) == originals[inside]  # recomputed from staging
        assert _type(built, outside) == TAMPERED  # not touched
    finally:
        _set_type(built, outside, originals[outside])
