"""`chatsales backup`, then `chatsales restore` on "a new machine" (other folders; on
PostgreSQL another database), then new webhooks and a plain `chatsales run`: the run continues
from the backup, adds the new messages once, and loads nothing twice; Dagster's history came
along."""

from __future__ import annotations

import csv
import json

import pytest

from chatsales.core.settings import Warehouse
from chatsales.core.warehouse import query

from .support.cli import run_cli, run_cli_ok, warehouse_env
from .support.postgres_server import fresh_database
from .support.warehouses import BuiltWarehouse, data_counts

NEW_MESSAGES = 3


def new_webhooks(landing) -> None:
    """Three messages from a new client to m01's first channel, as the receiver publishes."""
    with (landing / "managers.csv").open(encoding="utf-8") as handle:
        m01 = next(row for row in csv.DictReader(handle) if row["manager_id"] == "m01")
    channel = m01["wazzup_channel_ids"].split(";")[0]
    lines = [
        json.dumps({"messages": [{
            "messageId": f"restored-{n}", "channelId": channel, "chatType": "whatsapp",
            "chatId": "79005550001", "dateTime": f"2025-10-30T09:0{n}:00.000Z", "type": "text",
            "isEcho": False, "text": "Добрый день, есть в наличии?", "status": "inbound",
        }]}, ensure_ascii=False)
        for n in range(NEW_MESSAGES)
    ]  # fmt: skip
    published = landing / "wazzup" / "2025-10-30T09-00-00.000Z-1.jsonl"
    published.write_text("\n".join(lines) + "\n", encoding="utf-8")


def runs_in(built: BuiltWarehouse) -> int:
    with built.dagster_instance() as instance:
        return instance.get_runs_count()


@pytest.mark.warehouse
@pytest.mark.dagster
@pytest.mark.parametrize("engine", ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_restored_backup_continues_and_loads_nothing_twice(engine, request, tmp_path):
    built = request.getfixturevalue(f"{engine}_warehouse")
    before, runs_before = data_counts(built), runs_in(built)
    backup = tmp_path / "backup"
    run_cli_ok(["backup", str(backup)], built.env)

    new = tmp_path / "new_machine"
    if engine == "duckdb":
        url = f"duckdb:///{new / 'warehouse.duckdb'}"
    else:
        url = fresh_database(built.warehouse.url, "restored")
    env = built.env_for(new, url, new / "landing")
    if engine == "postgres":  # Superset's metadata database too, on "the new server"
        superset = fresh_database(built.warehouse.url, "restored_superset")
        env["CHATSALES_SUPERSET_METADATA_URI"] = superset
    run_cli_ok(["restore", str(backup)], env)
    again = run_cli(["restore", str(backup)], env)
    assert again.returncode == 2 and "restore into empty" in again.stderr  # overwrites nothing
    restored = BuiltWarehouse(Warehouse(url), env, first_run=None)
    assert data_counts(restored) == before
    assert runs_in(restored) == runs_before

    new_webhooks(new / "landing")
    run_cli_ok(["run"], env)
    after = data_counts(restored)
    expected = {schema: dict(tables) for schema, tables in before.items()}
    for schema, table in [("raw_wazzup", "messages"), ("staging", "stg_wazzup__messages"),
                          ("marts", "fct_messages")]:  # fmt: skip
        expected[schema][table] += NEW_MESSAGES
    for schema in ("raw_wazzup", "raw_amocrm", "raw_directory"):
        assert after[schema] == expected[schema], schema
    assert after["marts"]["fct_messages"] == expected["marts"]["fct_messages"]
    [(restored_ids,)] = query(
        "select count(*) from marts.fct_messages where message_id like 'restored-%'",
        restored.warehouse,
    )
    assert restored_ids == NEW_MESSAGES
    assert runs_in(restored) == runs_before + 2  # crm_job and warehouse_job


@pytest.mark.integration
def test_backup_and_restore_refuse_what_they_would_overwrite_or_misread(tmp_path):
    env = warehouse_env(tmp_path, f"duckdb:///{tmp_path / 'warehouse.duckdb'}", tmp_path / "in")
    (tmp_path / "backup").mkdir()
    (tmp_path / "backup" / "mine.txt").write_text("someone's file")
    refused = run_cli(["backup", str(tmp_path / "backup")], env)
    assert refused.returncode == 2 and "is not empty: back up into a new folder" in refused.stderr
    misread = run_cli(["restore", str(tmp_path / "backup")], env)
    assert misread.returncode == 2 and "not a chatsales backup" in misread.stderr
    assert not (tmp_path / "warehouse.duckdb").exists()
