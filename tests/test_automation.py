"""Schedules, sensors and retries evaluate for real: real Dagster contexts, a real instance,
real ingestion runs into a scratch DuckDB warehouse, a local HTTP server for the API."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from datetime import datetime
from http.server import ThreadingHTTPServer
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from dagster import (
    AssetKey,
    DagsterEventType,
    DagsterInstance,
    RunRequest,
    SkipReason,
    build_run_status_sensor_context,
    build_schedule_context,
    build_sensor_context,
)

from orchestration.partitions import daily_partitions, latest_day
from orchestration.resources import WarehouseResource

from .support.paths import REPO_ROOT
from .support.wazzup_api_replay import WAZZUP_API_KEY, WAZZUP_CHANNELS, WazzupApiReplay

pytestmark = pytest.mark.dagster

MOSCOW = ZoneInfo("Europe/Moscow")
RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"


def test_dagster_cli_validates_the_workspace(dagster_defs):
    dagster = Path(sys.executable).with_name("dagster")
    result = subprocess.run(
        [str(dagster), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "All code locations passed validation" in result.stderr + result.stdout


def test_jobs_schedules_and_sensors_are_defined(dagster_defs):
    assert {s.name for s in dagster_defs.schedules} == {
        "ingestion_every_15_minutes", "crm_every_15_minutes", "daily_marts_after_midnight",
        "weekly_quality_on_monday",
    }  # fmt: skip
    assert {s.name for s in dagster_defs.sensors} == {
        "landing_folder_sensor", "new_rows_sensor", "alert_sensor", "run_failure_summary_sensor"
    }  # fmt: skip
    for name in ("warehouse_job", "crm_job", "ingestion_job", "marts_job", "quality_job"):
        assert dagster_defs.resolve_job_def(name) is not None
    graph = dagster_defs.resolve_asset_graph()
    partitioned = {k.to_user_string() for k in graph.get_all_asset_keys()
                   if graph.get(k).partitions_def is not None}  # fmt: skip
    assert {"intermediate/int_messages", "marts/fct_waits", "marts/mart_manager_metrics"} <= (
        partitioned
    )
    for unpartitioned in (
        "marts/dim_managers",
        "marts/fct_deals",
        "raw_amocrm/leads",
        "staging/stg_wazzup__messages",
        "intermediate/int_business_calendar",
    ):
        assert unpartitioned not in partitioned  # fmt: skip


def _schedule_context(repository, instance, tick):
    return build_schedule_context(
        instance=instance, scheduled_execution_time=tick, repository_def=repository
    )


@pytest.mark.parametrize(
    "tick, partition",
    [
        (datetime(2026, 3, 10, 0, 30, tzinfo=MOSCOW), "2026-03-09"),
        # 21:30 UTC is already 00:30 the next day in Moscow
        (datetime(2026, 3, 9, 21, 30, tzinfo=ZoneInfo("UTC")), "2026-03-09"),
        (datetime(2026, 1, 1, 0, 30, tzinfo=MOSCOW), "2025-12-31"),
    ],
)
def test_daily_schedule_builds_yesterday(dagster_defs, tick, partition):
    repository = dagster_defs.get_repository_def()
    schedule = repository.get_schedule_def("daily_marts_after_midnight")
    assert schedule.execution_timezone == "Europe/Moscow"
    with DagsterInstance.ephemeral() as instance:
        result = schedule.evaluate_tick(_schedule_context(repository, instance, tick))
    [request] = result.run_requests
    assert request.partition_key == partition
    assert request.run_key == partition


def test_every_schedule_evaluates(dagster_defs):
    tick = datetime(2026, 3, 10, 0, 30, tzinfo=MOSCOW)
    repository = dagster_defs.get_repository_def()
    for schedule in repository.schedule_defs:
        with DagsterInstance.ephemeral() as instance:
            result = schedule.evaluate_tick(_schedule_context(repository, instance, tick))
        assert result.run_requests, schedule.name
    ingestion = repository.get_schedule_def("ingestion_every_15_minutes")
    assert ingestion.cron_schedule == "*/15 * * * *"
    assert ingestion.job_name == "ingestion_job"


def _landing_tick(repository, instance, cursor, landing):
    sensor = repository.get_sensor_def("landing_folder_sensor")
    warehouse = WarehouseResource(
        url="duckdb:///unused.duckdb", landing=str(landing), state_dir=str(landing.parent)
    )
    context = build_sensor_context(
        instance=instance,
        cursor=cursor,
        repository_def=repository,
        resources={"warehouse": warehouse},
    )
    result = sensor.evaluate_tick(context)
    return result, context.cursor


def test_landing_sensor_requests_a_catch_up_run_per_change(dagster_defs, tmp_path):
    repository = dagster_defs.get_repository_def()
    old = time.time() - 60
    settled = tmp_path / "wazzup" / "2025-09.jsonl"
    settled.parent.mkdir()
    settled.write_text('{"test":true}\n')
    os.utime(settled, (old, old))
    with DagsterInstance.ephemeral() as instance:
        first, cursor = _landing_tick(repository, instance, None, tmp_path)
        # the CRM snapshot folders load in a run of their own, which cannot hold the marts up
        [request, crm] = first.run_requests
        assert (request.job_name, crm.job_name) == ("warehouse_job", "crm_job")
        assert request.run_config["ops"]["dbt_message_models"]["config"]["catch_up"] is True
        # a range run: no warehouse yet, so every day is recomputed (tests/test_catch_up_days.py)
        assert request.partition_key is None
        assert request.tags[RANGE_START] == daily_partitions.get_first_partition_key()
        assert request.tags[RANGE_END] == latest_day()

        again, same = _landing_tick(repository, instance, cursor, tmp_path)
        assert not again.run_requests and same == cursor

        # a file still being written waits for a later tick
        (tmp_path / "wazzup" / "2025-10.jsonl").write_text('{"test":true}\n')
        busy, busy_cursor = _landing_tick(repository, instance, cursor, tmp_path)
        assert not busy.run_requests and busy_cursor == cursor
        assert "1 still being written" in busy.skip_message

        os.utime(tmp_path / "wazzup" / "2025-10.jsonl", (old, old))
        changed, new_cursor = _landing_tick(repository, instance, cursor, tmp_path)
        assert len(changed.run_requests) == 2 and new_cursor != cursor


def _ingest(defs, instance):
    result = defs.resolve_job_def("ingestion_job").execute_in_process(
        instance=instance, raise_on_error=False
    )
    assert result.success
    return result


def test_new_rows_sensor_refreshes_marts_only_when_rows_arrived(dagster_defs):
    sensor = dagster_defs.get_repository_def().get_sensor_def("new_rows_sensor")
    with DagsterInstance.ephemeral() as instance:
        for loaded_rows in (True, False):  # the second run finds nothing new
            result = _ingest(dagster_defs, instance)
            context = build_run_status_sensor_context(
                sensor_name=sensor.name,
                dagster_instance=instance,
                dagster_run=result.dagster_run,
                dagster_event=result.get_run_success_event(),
                resources={"warehouse": dagster_defs.resources["warehouse"]},
            )
            answer = sensor(context)
            if loaded_rows:
                assert isinstance(answer, RunRequest)
                assert answer.run_key == result.run_id
                config = answer.run_config["ops"]["dbt_message_models"]["config"]
                assert config["catch_up"] is True
                assert answer.tags[RANGE_END] == latest_day()  # a range run up to today
            else:
                assert isinstance(answer, SkipReason)
                assert "loaded no rows" in answer.skip_message


class FlakyWazzup(WazzupApiReplay):
    """The Wazzup API, answering 503 to the first `failures` requests for channels."""

    failures = 0
    seen: list[str] = []

    def do_GET(self):  # noqa: N802
        FlakyWazzup.seen.append(self.path)
        if self.path.endswith("/channels") and FlakyWazzup.failures > 0:
            FlakyWazzup.failures -= 1
            return self._reply(503, {"error": "maintenance"})
        return super().do_GET()


@pytest.fixture
def flaky_wazzup(monkeypatch):
    server = ThreadingHTTPServer(("127.0.0.1", 0), FlakyWazzup)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("SOURCES__WAZZUP_API__API_KEY", WAZZUP_API_KEY)
    monkeypatch.setenv("SOURCES__WAZZUP_API__BASE_URL", f"http://127.0.0.1:{server.server_port}/v3")
    monkeypatch.setenv("CHATSALES_API_RETRY_BASE_SECONDS", "0.2")
    FlakyWazzup.seen = []
    yield FlakyWazzup
    server.shutdown()


def _load_wazzup_api(defs, instance):
    keys = [AssetKey(["raw_wazzup_api", "api_channels"]), AssetKey(["raw_wazzup_api", "api_users"])]
    return defs.resolve_job_def("ingestion_job").execute_in_process(
        instance=instance, asset_selection=keys, raise_on_error=False
    )


def _events(result, kind: DagsterEventType) -> list:
    return [event for event in result.all_events if event.event_type == kind]


def test_api_assets_retry_with_back_off(dagster_defs, flaky_wazzup):
    flaky_wazzup.failures = 2
    with DagsterInstance.ephemeral() as instance:
        result = _load_wazzup_api(dagster_defs, instance)
    assert result.success
    retries = _events(result, DagsterEventType.STEP_UP_FOR_RETRY)
    assert len(retries) == 2
    waits = [event.event_specific_data.seconds_to_wait for event in retries]
    assert waits == [0.2, 0.4]  # doubled each time
    assert sum(path.endswith("/channels") for path in flaky_wazzup.seen) == 3
    channels = [e for e in _events(result, DagsterEventType.ASSET_MATERIALIZATION)
                if e.asset_key == AssetKey(["raw_wazzup_api", "api_channels"])]  # fmt: skip
    assert channels and channels[0].step_materialization_data.materialization.metadata[
        "rows_loaded"
    ].value == len(WAZZUP_CHANNELS)


def test_api_assets_give_up_after_three_retries(dagster_defs, flaky_wazzup):
    flaky_wazzup.failures = 100
    with DagsterInstance.ephemeral() as instance:
        result = _load_wazzup_api(dagster_defs, instance)
    assert not result.success
    assert len(_events(result, DagsterEventType.STEP_UP_FOR_RETRY)) == 3
    [failure] = _events(result, DagsterEventType.STEP_FAILURE)
    assert "HTTP 503" in str(failure.step_failure_data.error.to_string())


def test_the_latest_day_is_today_in_moscow(dagster_defs):
    assert latest_day() == daily_partitions.get_last_partition_key()
    assert latest_day() == datetime.now(MOSCOW).date().isoformat()
