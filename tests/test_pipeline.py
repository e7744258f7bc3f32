"""The whole pipeline (`chatsales run`: Dagster → dlt → dbt) on DuckDB and PostgreSQL."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from chatsales.core.settings import DBT_PROJECT_DIR
from chatsales.core.warehouse import query, table_counts

from .support.cli import run_cli, warehouse_env
from .support.comparable_rows import comparable_rows
from .support.demo_landing import UNMAPPED_CHANNEL
from .support.warehouses import data_counts, second_run

MARTS = [
    "dim_managers", "fct_deals", "fct_deal_channels", "fct_dialogs", "fct_messages", "fct_waits",
    "mart_manager_metrics",
]  # fmt: skip
MOSCOW = ZoneInfo("Europe/Moscow")


@pytest.mark.warehouse
def test_run_prints_progress_and_summary(built):
    out = built.first_run.stdout
    assert "✓ raw_wazzup/messages" in out
    assert "Rows per mart:" in out and "marts.mart_manager_metrics" in out
    assert "checks passed" in out and "failed" not in out
    assert "Full log" in out or "full log" in out
    # warnings are for what a person can act on: not dagster-dbt's note on each source test
    warnings = [line for line in out.splitlines() if line.startswith("  ⚠ ")]
    assert not [line for line in warnings if "AssetObservation" in line], warnings


@pytest.mark.warehouse
def test_every_mart_has_rows(built):
    counts = table_counts("marts", built.warehouse)
    for mart in MARTS:
        assert counts.get(mart, 0) > 0, mart


@pytest.mark.warehouse
def test_messages_are_the_unique_message_ids_of_the_landing(built, demo_landing):
    ids = set()
    for path in (demo_landing / "wazzup").glob("*.jsonl"):
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                ids.update(m["messageId"] for m in json.loads(line).get("messages", []))
            except json.JSONDecodeError:
                continue  # quarantined, see test_data_issues_*
    [(count,)] = query(
        "select count(*) from marts.fct_messages where source = 'wazzup'", built.warehouse
    )
    assert count == len(ids)


@pytest.mark.warehouse
def test_every_source_feeds_the_one_message_grain(built):
    rows = dict(
        query("select source, count(*) from marts.fct_messages group by source", built.warehouse)
    )
    assert set(rows) == {"wazzup", "telegram_export", "whatsapp_export"}
    assert rows["telegram_export"] > 0 and rows["whatsapp_export"] > 0
    [(waits,)] = query(
        "select count(*) from marts.fct_waits where chat_id like 'whatsapp_export:m01:%'",
        built.warehouse,
    )
    assert waits > 0


@pytest.mark.warehouse
def test_every_source_loads_through_dagster(built):
    counts = {
        schema: table_counts(schema, built.warehouse)
        for schema in ["raw_wazzup_api", "raw_bitrix24", "raw_telegram", "raw_whatsapp"]
    }
    assert counts["raw_wazzup_api"]["api_channels"] == 2
    assert counts["raw_wazzup_api"]["api_users"] == 2
    assert counts["raw_bitrix24"]["deals"] > 100
    assert counts["raw_telegram"]["messages"] > 0
    assert counts["raw_whatsapp"]["messages"] > 0
    [(bitrix_deals,)] = query(
        "select count(*) from marts.fct_deals where crm = 'bitrix24'", built.warehouse
    )
    assert bitrix_deals == counts["raw_bitrix24"]["deals"]


@pytest.mark.warehouse
def test_data_issues_list_what_could_not_be_attributed_or_loaded(built):
    issues = {
        (kind, subject): rows
        for kind, subject, rows in query(
            "select issue_kind, subject, affected_rows from marts.data_issues", built.warehouse
        )
    }
    assert issues[("unmapped_wazzup_channel", UNMAPPED_CHANNEL)] == 1
    assert issues[("quarantined_record", "zz-problems.jsonl")] == 1
    assert issues[("unknown_export_manager", "maria")] == 9
    assert ("quarantined_record", "m02/WhatsApp Chat with Boris.txt") in issues
    [(stray_manager,)] = query(
        "select manager_id from marts.fct_messages where message_id = 'stray-1'", built.warehouse
    )
    assert stray_manager == "unassigned"
    assert "⚠ check assert_no_data_issues" in built.first_run.stdout


@pytest.mark.warehouse
def test_won_deals_per_month_match_the_crm_pages(built, demo_landing):
    expected = Counter()
    for path in (demo_landing / "amocrm").glob("leads_page_*.json"):
        for lead in json.loads(path.read_text(encoding="utf-8"))["_embedded"]["leads"]:
            if lead["status_id"] == 142:
                closed = datetime.fromtimestamp(lead["closed_at"], tz=UTC).astimezone(MOSCOW)
                expected[closed.strftime("%Y-%m")] += 1
    for path in (demo_landing / "bitrix24").glob("crm.deal.list_page_*.json"):
        for deal in json.loads(path.read_text(encoding="utf-8"))["result"]:
            if deal.get("STAGE_SEMANTIC_ID") == "S" and deal.get("CLOSEDATE"):
                try:
                    closed = datetime.fromisoformat(deal["CLOSEDATE"]).astimezone(MOSCOW)
                except ValueError:
                    continue  # a malformed fixture row: quarantined
                expected[closed.strftime("%Y-%m")] += 1
    rows = query(
        "select period_start, won_deals from marts.mart_manager_metrics "
        "where grain = 'month' and manager_id = 'all' and channel = 'all'",
        built.warehouse,
    )
    actual = {str(period)[:7]: won for period, won in rows if won}
    assert actual == dict(expected)


@pytest.mark.warehouse
@pytest.mark.postgres
def test_duckdb_and_postgres_agree(duckdb_warehouse, postgres_warehouse):
    for table, order in [
        ("mart_manager_metrics", "grain, period_start, manager_id, channel"),
        ("fct_dialogs", "dialog_id"),
        ("fct_waits", "wait_id"),
    ]:
        columns = [
            name
            for (name,) in query(
                "select column_name from information_schema.columns where table_schema = "
                f"'marts' and table_name = '{table}' order by ordinal_position",
                duckdb_warehouse.warehouse,
            )
        ]
        select = f"select {', '.join(columns)} from marts.{table} order by {order}"
        duck = comparable_rows(query(select, duckdb_warehouse.warehouse))
        pg = comparable_rows(query(select, postgres_warehouse.warehouse))
        assert len(duck) == len(pg) > 0, table
        assert duck == pg, table


@pytest.mark.warehouse
def test_dbt_unit_tests_pass(built):
    """Runs are built without unit tests (orchestration/assets/dbt.py): they run here, on
    both engines, since adapter-dispatched SQL differs between them."""
    env = {**built.env, **built.warehouse.dbt_env()}
    dbt = str(Path(sys.executable).with_name("dbt"))
    result = subprocess.run(
        [dbt, "test", "--select", "test_type:unit", "--profiles-dir", str(DBT_PROJECT_DIR)],
        cwd=DBT_PROJECT_DIR, env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-4000:]
    assert "PASS=" in result.stdout and "PASS=0 " not in result.stdout


@pytest.mark.warehouse
@pytest.mark.dagster
def test_rerun_changes_no_counts(built):
    rerun = second_run(built)
    assert rerun.returncode == 0, rerun.stdout
    assert data_counts(built) == built.counts_before_second_run
    assert built.counts_before_second_run["raw_wazzup"]["messages"] > 0


@pytest.mark.dagster
def test_a_failing_run_names_the_asset_and_the_reason(tmp_path):
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "managers.csv").write_text("manager_id,name\nm01,Анна\n", encoding="utf-8")
    env = warehouse_env(tmp_path, f"duckdb:///{tmp_path / 'wh.duckdb'}", landing)
    result = run_cli(["run"], env)
    assert result.returncode == 1
    [line] = [line for line in result.stdout.splitlines() if line.startswith("  ✗ ")]
    assert line.startswith("  ✗ directory_raw: ")
    assert "managers.csv: missing columns crm_user_id, wazzup_channel_ids" in line
    assert "Full log: " in result.stdout


@pytest.mark.warehouse
@pytest.mark.dagster
def test_the_run_is_in_the_dagster_instance_history(duckdb_warehouse):
    from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

    home = duckdb_warehouse.env["DAGSTER_HOME"]
    with DagsterInstance.from_config(home) as instance:
        runs = instance.get_runs(RunsFilter(job_name="warehouse_job"))
    assert runs and runs[-1].status == DagsterRunStatus.SUCCESS
    assert runs[-1].run_id in duckdb_warehouse.first_run.stdout
