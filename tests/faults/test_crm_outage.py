"""The CRMs down while messages keep arriving: `chatsales run` fails loudly, naming the CRM and
the cause, yet builds the messenger marts from what landed and keeps the CRM data loaded
before; once a CRM is back, a plain run resumes it from its cursor, and in the end the marts
equal those of the session's clean run of the same landing (EXCEPT ALL both ways).

One DuckDB warehouse, four runs against replays of the amoCRM API and of a Bitrix24 REST
webhook, serving the demo's saved pages, the outages rolling from one CRM to the other:
1. the very first run: amoCRM answers nothing but garbage; Bitrix24 serves the portal as it
   was at an earlier instant; one month of webhooks is held back;
2. the month lands; amoCRM answers, as it was at an earlier instant; Bitrix24 answers its
   first request, then HTML pages;
3. Bitrix24 is back; amoCRM answers its first request, then cut-short JSON;
4. amoCRM is back."""

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
from ..support.cli import CHATSALES
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
MARTS_BUILT = "Done. Rows per mart:"
LOADED_AT = r"\d{4}-\d\d-\d\d \d\d:\d\d UTC"


def chatsales_run(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [CHATSALES, "run"], env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=1200
    )


def failed_crm_run(env: dict[str, str]) -> str:
    """A run whose CRM load fails and whose marts build: what it printed."""
    run = chatsales_run(env)
    printed = run.stdout
    assert run.returncode == 1, printed + run.stderr[-3000:]
    assert MARTS_BUILT in printed, printed + run.stderr[-3000:]
    assert "The CRM load failed" in printed, printed
    for token in (ACCESS_TOKEN, WEBHOOK_TOKEN):
        assert token not in run.stdout + run.stderr
        assert not [p for p in files_of_a_run(env) if token.encode() in p.read_bytes()]
    return printed


def the_crm_that_failed(printed: str, source: str) -> str:
    """The ✗ line of `source`, the one CRM the run says failed."""
    lines = printed.split("The CRM load failed")[1].splitlines()
    failed = [line for line in lines if line.startswith("  ✗ ")]
    assert [line.split(":")[0] for line in failed] == [f"  ✗ {source}"], printed
    return failed[0]


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


def test_crm_outages_keep_the_messenger_marts_and_each_crm_resumes_from_its_cursor(
    duckdb_warehouse, demo_landing, tmp_path
):
    landing = tmp_path / "landing"
    shutil.copytree(demo_landing, landing)
    held_back = tmp_path / "held_back.jsonl"
    shutil.move(landing / HELD_BACK, held_back)
    warehouse = tmp_path / "warehouse.duckdb"
    env = duckdb_warehouse.env_for(tmp_path, f"duckdb:///{warehouse}", landing)
    env.update(FAST_RETRIES, SOURCES__AMOCRM__ACCESS_TOKEN=ACCESS_TOKEN)
    clean = duckdb_warehouse.warehouse.duckdb_path
    messages, leads, deals = (
        f"select count(*) from {table}"
        for table in ("marts.fct_messages", "raw_amocrm.leads", "raw_bitrix24.deals")
    )

    account = Account.from_landing(landing)
    account.healthy_requests = 0
    updated = sorted(lead["updated_at"] for lead in account.records["leads"])
    amocrm_until = int(statistics.median(updated))
    amocrm_cursor = max(at for at in updated if at < amocrm_until)  # the newest lead of run 2

    portal = Portal.from_landing(landing)
    changes = sorted(modified(deal) for deal in portal.records["crm.deal.list"])
    portal.until = changes[len(changes) // 2]
    bitrix24_cursor = max(at for at in changes if at < portal.until)  # the newest deal of run 1

    with amocrm_api(account) as amocrm_url, bitrix24_webhook(portal) as webhook_url:
        env.update(SOURCES__AMOCRM__BASE_URL=amocrm_url, SOURCES__BITRIX24__WEBHOOK_URL=webhook_url)

        # 1. amoCRM down from the warehouse's very first run: its tables are created empty, so
        # the models reading them build (before, every mart failed on a missing table)
        printed = failed_crm_run(env)
        assert re.fullmatch(
            r"  ✗ amocrm: GET /api/v4/\S+: truncated JSON after 6 attempts "
            r"\(its data last loaded: never\)",
            the_crm_that_failed(printed, "amocrm"),
        ), printed
        assert scalar(warehouse, leads) == 0
        deals_before = scalar(warehouse, deals)
        assert 0 < deals_before < len(portal.records["crm.deal.list"])

        # 2. the month's webhooks land; amoCRM answers, as it was; Bitrix24 sends HTML
        shutil.move(held_back, landing / HELD_BACK)
        os.utime(landing / HELD_BACK, (time.time(), time.time()))
        account.until, account.healthy_requests = amocrm_until, None
        portal.until, portal.healthy_requests = None, 1
        portal.garbage = "HTML instead of JSON"
        printed = failed_crm_run(env)
        assert re.fullmatch(
            r"  ✗ bitrix24: (crm\.\w+\.list|user\.get): HTML instead of JSON after 6 attempts "
            rf"\(its data last loaded: {LOADED_AT}\)",
            the_crm_that_failed(printed, "bitrix24"),  # amoCRM loaded beside it
        ), printed
        crm_status, crm_loaded = latest_run(env["DAGSTER_HOME"], "crm_job")
        assert crm_status == DagsterRunStatus.FAILURE
        assert "raw_amocrm/leads" in crm_loaded
        assert not [key for key in crm_loaded if key.startswith("raw_bitrix24/")]
        status, built = latest_run(env["DAGSTER_HOME"], "warehouse_job")
        assert status == DagsterRunStatus.SUCCESS
        assert {"marts/fct_messages", "marts/mart_manager_metrics", "marts/fct_deals"} <= built
        assert scalar(warehouse, messages) == scalar(clean, messages)
        assert scalar(warehouse, deals) == deals_before
        leads_before = scalar(warehouse, leads)
        assert 0 < leads_before < len(account.records["leads"])

        # 3. Bitrix24 back, from its cursor; amoCRM answers once, then cut-short JSON
        account.until, account.healthy_requests, account.requests = None, 1, []
        portal.healthy_requests, portal.calls = None, []
        printed = failed_crm_run(env)
        assert re.fullmatch(
            r"  ✗ amocrm: GET /api/v4/\S+: truncated JSON after 6 attempts "
            rf"\(its data last loaded: {LOADED_AT}\)",
            the_crm_that_failed(printed, "amocrm"),
        ), printed
        # 4 tries of the step (Dagster's 3 retries), 6 requests each, and the healthy first one
        assert len(account.requests) >= 1 + 4 * 6
        assert scalar(warehouse, leads) == leads_before
        since = {
            datetime.fromisoformat(params["filter"][">=DATE_MODIFY"])
            for method, params in portal.calls
            if method == "crm.deal.list"
        }
        assert since == {bitrix24_cursor}

        # 4. amoCRM back: a plain run asks for the changes since its cursor, not everything
        account.healthy_requests, account.requests = None, []
        recovery = chatsales_run(env)
        assert recovery.returncode == 0, recovery.stdout[-3000:] + recovery.stderr[-3000:]
        since = [int(q["filter[updated_at][from]"][0]) for q in account.requests_to(LEADS)]
        assert since and set(since) == {amocrm_cursor}

    assert scalar(warehouse, leads) == len(account.records["leads"])
    assert differing_rows(Warehouse(f"duckdb:///{warehouse}"), duckdb_warehouse.warehouse) == {}
