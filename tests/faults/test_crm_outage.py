"""amoCRM down while messages keep arriving: `chatsales run` fails loudly, naming amoCRM and the
cause, yet builds the messenger marts from what landed and keeps the CRM data loaded before;
once amoCRM is back, a plain run resumes from the cursor and its marts equal those of the
session's clean run of the same landing (EXCEPT ALL both ways).

Three runs on DuckDB against a replay of the amoCRM API serving the demo's saved pages:
1. healthy, the account as it was at an earlier instant, one month of webhooks held back;
2. the month's webhooks land, amoCRM answers its first request, then only garbage;
3. amoCRM healthy again, with every deal.
Bitrix24 the same way (its REST webhook replayed), with the landing as it is."""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import time
from datetime import datetime
from pathlib import Path

import duckdb
import pytest
from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

from chatsales.core.settings import Warehouse

from ..support.amocrm_api_replay import ACCESS_TOKEN, Account, amocrm_api
from ..support.bitrix24_api_replay import WEBHOOK_TOKEN, Portal, bitrix24_webhook, modified
from ..support.cli import CHATSALES, warehouse_env
from ..support.paths import REPO_ROOT
from ..support.run_files import files_of_a_run
from ..support.same_marts import differing_rows

pytestmark = [pytest.mark.warehouse, pytest.mark.faults, pytest.mark.dagster]

HELD_BACK = "wazzup/2025-10.jsonl"  # the month of webhooks that lands during the outage
LEADS = "/api/v4/leads"
# request retries in milliseconds, and the step's Dagster retries too
FAST_RETRIES = {
    "CHATSALES_API_BACKOFF_SECONDS": "0.01",
    "CHATSALES_API_MAX_DELAY_SECONDS": "0.05",
    "CHATSALES_API_RETRY_BASE_SECONDS": "0.01",
}


def chatsales_run(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [CHATSALES, "run"], env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=1200
    )


def scalar(path: Path, sql: str):
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql).fetchone()[0]


def latest_run(home: str, job: str) -> tuple[DagsterRunStatus, set[str]]:
    """The latest run of `job` in the instance: its status and the assets it materialized."""
    with DagsterInstance.from_config(home) as instance:
        [run] = instance.get_runs(RunsFilter(job_name=job), limit=1)
        keys = instance.get_asset_keys()
        latest = instance.get_latest_materialization_events(keys)
        made = {key.to_user_string() for key, e in latest.items() if e and e.run_id == run.run_id}
        return run.status, made


def test_a_crm_outage_keeps_the_messenger_marts_and_the_next_run_catches_up(
    duckdb_warehouse, demo_landing, tmp_path
):
    landing = tmp_path / "landing"
    shutil.copytree(demo_landing, landing)
    held_back = tmp_path / "held_back.jsonl"
    shutil.move(landing / HELD_BACK, held_back)
    warehouse = tmp_path / "warehouse.duckdb"
    env = warehouse_env(tmp_path, f"duckdb:///{warehouse}", landing)
    env.update({k: v for k, v in duckdb_warehouse.env.items() if k.startswith("SOURCES__")})
    env.update(FAST_RETRIES, SOURCES__AMOCRM__ACCESS_TOKEN=ACCESS_TOKEN)
    account = Account.from_landing(landing)
    updated = [lead["updated_at"] for lead in account.records["leads"]]
    account.until = int(statistics.median(updated))
    cursor = max(at for at in updated if at < account.until)  # the newest lead of run 1

    with amocrm_api(account) as url:
        env["SOURCES__AMOCRM__BASE_URL"] = url
        first = chatsales_run(env)
        assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
        leads_before = scalar(warehouse, "select count(*) from raw_amocrm.leads")
        assert 0 < leads_before < len(account.records["leads"])

        # the outage: a month of webhooks lands, amoCRM answers once, then garbage
        shutil.move(held_back, landing / HELD_BACK)
        os.utime(landing / HELD_BACK, (time.time(), time.time()))
        account.until, account.healthy_requests, account.requests = None, 1, []
        outage = chatsales_run(env)
        printed = outage.stdout
        assert outage.returncode != 0, printed
        assert "Done. Rows per mart:" in printed, printed  # the marts were built
        assert "The CRM load failed" in printed, printed
        [line] = [line for line in printed.splitlines() if line.startswith("  ✗ amocrm: GET ")]
        assert re.fullmatch(
            r"  ✗ amocrm: GET /api/v4/\S+: truncated JSON after 6 attempts "
            r"\(its data last loaded: \d{4}-\d\d-\d\d \d\d:\d\d UTC\)",
            line,
        ), line
        assert ACCESS_TOKEN not in outage.stdout + outage.stderr
        assert not [p for p in files_of_a_run(env) if ACCESS_TOKEN.encode() in p.read_bytes()]
        # 4 tries of the step (Dagster's 3 retries), 6 requests each, and the healthy first one
        assert len(account.requests) >= 1 + 4 * 6
        crm_status, crm_loaded = latest_run(env["DAGSTER_HOME"], "crm_job")
        assert crm_status == DagsterRunStatus.FAILURE
        # amoCRM's step failed whole; Bitrix24 (its saved pages) loaded beside it
        assert not [key for key in crm_loaded if key.startswith("raw_amocrm/")]
        assert "raw_bitrix24/deals" in crm_loaded
        status, built = latest_run(env["DAGSTER_HOME"], "warehouse_job")
        assert status == DagsterRunStatus.SUCCESS
        assert {"marts/fct_messages", "marts/mart_manager_metrics", "marts/fct_deals"} <= built
        clean = duckdb_warehouse.warehouse.duckdb_path
        messages = "select count(*) from marts.fct_messages"
        assert scalar(warehouse, messages) == scalar(clean, messages)
        assert scalar(warehouse, "select count(*) from raw_amocrm.leads") == leads_before

        # amoCRM is back: a plain run asks for the changes since the cursor, not everything
        account.healthy_requests, account.requests = None, []
        recovery = chatsales_run(env)
        assert recovery.returncode == 0, recovery.stdout[-3000:] + recovery.stderr[-3000:]
        since = [int(q["filter[updated_at][from]"][0]) for q in account.requests_to(LEADS)]
        assert since and set(since) == {cursor}

    assert scalar(warehouse, "select count(*) from raw_amocrm.leads") == len(
        account.records["leads"]
    )
    assert differing_rows(Warehouse(f"duckdb:///{warehouse}"), duckdb_warehouse.warehouse) == {}


def test_a_crm_down_on_its_first_run_leaves_empty_tables_and_the_marts_build(
    duckdb_warehouse, demo_landing, tmp_path
):
    """amoCRM answers nothing but garbage from a warehouse's very first run: its tables are
    created empty, so the models reading them build (before, every mart failed on a missing
    table); once it answers, the next run loads it whole and the marts equal the clean run's."""
    warehouse = tmp_path / "warehouse.duckdb"
    env = warehouse_env(tmp_path, f"duckdb:///{warehouse}", demo_landing)
    env.update({k: v for k, v in duckdb_warehouse.env.items() if k.startswith("SOURCES__")})
    env.update(FAST_RETRIES, SOURCES__AMOCRM__ACCESS_TOKEN=ACCESS_TOKEN)
    account = Account.from_landing(demo_landing)
    account.healthy_requests = 0

    with amocrm_api(account) as url:
        env["SOURCES__AMOCRM__BASE_URL"] = url
        outage = chatsales_run(env)
        printed = outage.stdout
        assert outage.returncode != 0, printed
        assert "Done. Rows per mart:" in printed, printed + outage.stderr[-3000:]
        assert "(its data last loaded: never)" in printed, printed
        assert scalar(warehouse, "select count(*) from raw_amocrm.leads") == 0
        messages, clean = "select count(*) from marts.fct_messages", duckdb_warehouse.warehouse
        assert scalar(warehouse, messages) == scalar(clean.duckdb_path, messages)

        account.healthy_requests = None
        recovery = chatsales_run(env)
        assert recovery.returncode == 0, recovery.stdout[-3000:] + recovery.stderr[-3000:]

    assert differing_rows(Warehouse(f"duckdb:///{warehouse}"), duckdb_warehouse.warehouse) == {}


def test_a_bitrix24_outage_fails_that_load_alone_and_the_next_run_resumes(
    duckdb_warehouse, demo_landing, tmp_path
):
    """The same for Bitrix24 (an HTML page instead of JSON), the messenger landing as it is;
    amoCRM loads from its saved pages meanwhile."""
    warehouse = tmp_path / "warehouse.duckdb"
    env = warehouse_env(tmp_path, f"duckdb:///{warehouse}", demo_landing)
    env.update({k: v for k, v in duckdb_warehouse.env.items() if k.startswith("SOURCES__")})
    env.update(FAST_RETRIES)
    portal = Portal.from_landing(demo_landing)
    changes = sorted(modified(deal) for deal in portal.records["crm.deal.list"])
    portal.until = changes[len(changes) // 2]
    cursor = max(at for at in changes if at < portal.until)  # the newest deal of run 1

    with bitrix24_webhook(portal) as webhook_url:
        env["SOURCES__BITRIX24__WEBHOOK_URL"] = webhook_url
        first = chatsales_run(env)
        assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
        deals_before = scalar(warehouse, "select count(*) from raw_bitrix24.deals")
        assert 0 < deals_before < len(portal.records["crm.deal.list"])

        portal.until, portal.healthy_requests, portal.calls = None, 1, []
        portal.garbage = "HTML instead of JSON"
        outage = chatsales_run(env)
        printed = outage.stdout
        assert outage.returncode != 0, printed
        assert "Done. Rows per mart:" in printed, printed
        [line] = [line for line in printed.splitlines() if line.startswith("  ✗ bitrix24: ")]
        assert re.fullmatch(
            r"  ✗ bitrix24: (crm\.\w+\.list|user\.get): HTML instead of JSON after 6 attempts "
            r"\(its data last loaded: \d{4}-\d\d-\d\d \d\d:\d\d UTC\)",
            line,
        ), line
        assert "amocrm" not in printed.split("The CRM load failed")[1]  # amoCRM loaded
        assert WEBHOOK_TOKEN not in outage.stdout + outage.stderr
        assert not [p for p in files_of_a_run(env) if WEBHOOK_TOKEN.encode() in p.read_bytes()]
        assert scalar(warehouse, "select count(*) from raw_bitrix24.deals") == deals_before

        portal.healthy_requests, portal.calls = None, []
        recovery = chatsales_run(env)
        assert recovery.returncode == 0, recovery.stdout[-3000:] + recovery.stderr[-3000:]
        since = {
            datetime.fromisoformat(params["filter"][">=DATE_MODIFY"])
            for method, params in portal.calls
            if method == "crm.deal.list"
        }
        assert since == {cursor}

    assert differing_rows(Warehouse(f"duckdb:///{warehouse}"), duckdb_warehouse.warehouse) == {}
