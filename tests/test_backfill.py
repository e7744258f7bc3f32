"""A data engineer's backfill, as the Dagster UI launches it: new chats land on five days,
an ingestion run loads them, and a backfill of three daily partitions (one run, the window
passed to dbt as vars) brings exactly those days into the marts.

Runs on a copy of the session's DuckDB warehouse, with a fresh Dagster instance, through
`chatsales ui` (webserver + daemon) and its GraphQL API."""

from __future__ import annotations

import csv
import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from dagster import AssetKey, DagsterInstance

from chatsales.core.settings import Warehouse
from chatsales.core.warehouse import query

from .support.browser import CHROMIUM
from .support.dagster_ui import (
    DagsterUI,
    dagster_ui,
    launch_partition_backfill,
    screenshot_page,
    wait_for_backfill,
)
from .support.paths import REPO_ROOT

pytestmark = [pytest.mark.warehouse, pytest.mark.dagster, pytest.mark.browser]

SCREENSHOT = REPO_ROOT / "test-artifacts" / "dagster" / "backfill_fct_messages.png"
WINDOW = ["2025-09-16", "2025-09-17", "2025-09-18"]
# more than dialog_gap_hours (72 h) before the window, and after it
OUTSIDE = ["2025-09-09", "2025-09-22"]

REPOSITORY = (
    "{ repositoriesOrError { ... on RepositoryConnection { nodes { name location { name } } } } }"
)
LAUNCH_RUN = """mutation($params: ExecutionParams!) { launchRun(executionParams: $params) {
  __typename ... on LaunchRunSuccess { run { runId } } ... on Error { message } } }"""
RUN_STATUS = """query($id: ID!) { runOrError(runId: $id) { ... on Run { status } } }"""
DAY_ROWS = """select * from marts.mart_manager_metrics where grain = 'day'"""


@dataclass
class Backfill:
    warehouse: Warehouse
    home: Path
    status: str
    runs: int
    before: set[tuple]
    after: set[tuple]
    new_messages: dict[str, str]  # message id -> local day


def _new_chats(landing: Path) -> dict[str, str]:
    """A client message at 10:00 and the manager's reply at 10:05 (Moscow) in a new chat of
    m01 on each day; returns message id -> day."""
    with (landing / "managers.csv").open(encoding="utf-8") as managers:
        m01 = next(row for row in csv.DictReader(managers) if row["manager_id"] == "m01")
    channel = m01["wazzup_channel_ids"].split(";")[0]
    lines, days = [], {}
    for number, day in enumerate(WINDOW + OUTSIDE):
        chat = f"7900777{number:04d}"
        for minute, echo in ((0, False), (5, True)):
            message_id = f"backfill-{day}-{'reply' if echo else 'ask'}"
            days[message_id] = day
            body = {"messageId": message_id, "dateTime": f"{day}T07:{minute:02d}:00.000Z",
                    "channelId": channel, "chatType": "whatsapp", "chatId": chat,
                    "type": "text", "isEcho": echo, "text": "Есть ли диван в наличии?",
                    "status": "sent" if echo else "inbound"}  # fmt: skip
            lines.append(json.dumps({"messages": [body]}, ensure_ascii=False))
    (landing / "wazzup" / "zz-backfill.jsonl").write_text("\n".join(lines) + "\n")
    return days


def _launch_job(ui: DagsterUI, job: str) -> str:
    [repository] = ui.graphql(REPOSITORY)["repositoriesOrError"]["nodes"]
    selector = {"repositoryLocationName": repository["location"]["name"],
                "repositoryName": repository["name"], "jobName": job}  # fmt: skip
    launched = ui.graphql(LAUNCH_RUN, {"params": {"selector": selector, "runConfigData": {}}})
    assert launched["launchRun"]["__typename"] == "LaunchRunSuccess", launched
    return launched["launchRun"]["run"]["runId"]


def _wait_for_run(ui: DagsterUI, run_id: str, timeout: float = 600) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = ui.graphql(RUN_STATUS, {"id": run_id})["runOrError"]["status"]
        if status in ("SUCCESS", "FAILURE", "CANCELED"):
            return status
        time.sleep(2)
    raise AssertionError(f"run {run_id} still {status} after {timeout}s")


@pytest.fixture(scope="module")
def backfill(duckdb_warehouse, tmp_path_factory) -> Backfill:
    source = duckdb_warehouse.env
    tmp = tmp_path_factory.mktemp("backfill")
    shutil.copy(duckdb_warehouse.warehouse.duckdb_path, tmp / "warehouse.duckdb")
    shutil.copytree(source["CHATSALES_STATE_DIR"], tmp / "state")
    shutil.copytree(source["CHATSALES_LANDING"], tmp / "landing")
    env = {
        **source,
        "CHATSALES_WAREHOUSE": f"duckdb:///{tmp / 'warehouse.duckdb'}",
        "CHATSALES_STATE_DIR": str(tmp / "state"),
        "CHATSALES_LANDING": str(tmp / "landing"),
        "DAGSTER_HOME": str(tmp / "dagster_home"),
        "DBT_TARGET_PATH": str(tmp / "dbt"),
    }
    warehouse = Warehouse(env["CHATSALES_WAREHOUSE"])
    new_messages = _new_chats(tmp / "landing")
    with dagster_ui(env) as ui:
        assert _wait_for_run(ui, _launch_job(ui, "ingestion_job")) == "SUCCESS", ui.log_tail()
        before = set(query(DAY_ROWS, warehouse))
        result = wait_for_backfill(ui, launch_partition_backfill(ui, WINDOW))
        after = set(query(DAY_ROWS, warehouse))
        failed = [run for run, status in result.run_statuses.items() if status != "SUCCESS"]
        assert not failed, f"backfill runs failed: {failed}\n{ui.log_tail()}"
        if Path(CHROMIUM).exists():  # what the data engineer sees: the asset's partitions
            SCREENSHOT.unlink(missing_ok=True)
            # the three days materialized, the missing ones filtered out of the list
            screenshot_page(ui, SCREENSHOT, "/assets/marts/fct_messages?view=partitions",
                            wait_for="Materialized (3)", click="Missing (")  # fmt: skip
    return Backfill(warehouse, tmp / "dagster_home", result.status, len(result.run_ids),
                    before, after, new_messages)  # fmt: skip


def test_backfill_is_one_successful_run(backfill):
    assert backfill.status == "COMPLETED_SUCCESS"
    assert backfill.runs == 1  # BackfillPolicy.single_run: one dbt build for the window


def test_exactly_the_three_partitions_are_materialized(backfill):
    with DagsterInstance.from_config(str(backfill.home)) as instance:
        for model in (["intermediate", "int_messages"], ["marts", "fct_messages"],
                      ["marts", "mart_manager_metrics"]):  # fmt: skip
            assert instance.get_materialized_partitions(AssetKey(model)) == set(WINDOW), model


def test_only_the_window_days_messages_arrive(backfill):
    loaded = {row[0] for row in query(
        "select message_id from marts.fct_messages where message_id like 'backfill-%'",
        backfill.warehouse,
    )}  # fmt: skip
    expected = {mid for mid, day in backfill.new_messages.items() if day in WINDOW}
    assert loaded == expected
    waits = query(
        "select count(*), min(response_time_s), max(response_time_s) from marts.fct_waits "
        "where chat_id like '%:7900777%'",
        backfill.warehouse,
    )
    assert waits == [(3, 300, 300)]  # one answered wait per window day, 5 minutes each


def test_the_partitions_page_was_photographed(backfill):
    if not Path(CHROMIUM).exists():
        pytest.skip("no chromium (Debian: apt-get install chromium) for the screenshot")
    assert SCREENSHOT.stat().st_size > 20_000


def test_marts_change_only_for_the_window_days(backfill):
    changed = backfill.before ^ backfill.after
    assert changed, "the backfill changed nothing"
    columns = [row[0] for row in query(
        "select column_name from information_schema.columns where table_schema = 'marts' "
        "and table_name = 'mart_manager_metrics' order by ordinal_position",
        backfill.warehouse,
    )]  # fmt: skip
    day = columns.index("period_start")
    assert {str(row[day])[:10] for row in changed} == set(WINDOW)
