"""Sensors that refresh the marts when new data arrives: files in the landing folder, or
rows loaded by a scheduled ingestion run (new CRM deals, API messages)."""

import hashlib
import time
from pathlib import Path

from dagster import (
    DagsterEventType,
    DagsterRunStatus,
    DefaultSensorStatus,
    RunRequest,
    RunStatusSensorContext,
    SensorEvaluationContext,
    SkipReason,
    run_status_sensor,
    sensor,
)

from ..assets.dbt import catch_up_config
from ..jobs import crm_job, ingestion_job, marts_job, warehouse_job
from ..partitions import range_tags, recorded_days
from ..resources import WarehouseResource

# a file younger than this may still be being written: it waits for the next tick
SETTLE_SECONDS = 5
# raw tables whose new rows change the marts; directory and CRM user snapshots are reloaded
# every run (and a changed managers.csv needs a full refresh anyway)
ACTIVITY_TABLES = ("messages", "leads", "deals", "contacts")


def catch_up_run(context, warehouse: WarehouseResource, run_key: str, **job) -> RunRequest:
    """A catch-up run, as a range run over the days it will recompute (read now)."""
    days = recorded_days(warehouse.target, context.log.warning)
    return RunRequest(run_key=run_key, run_config=catch_up_config(), tags=range_tags(days), **job)


def landing_fingerprint(landing: Path, now: float) -> tuple[str, int, int]:
    """(digest of every settled file's path, size and mtime; settled files; unsettled ones)."""
    digest = hashlib.sha256()
    settled = unsettled = 0
    for path in sorted(p for p in landing.rglob("*") if p.is_file()):
        stat = path.stat()
        if now - stat.st_mtime < SETTLE_SECONDS:
            unsettled += 1
            continue
        settled += 1
        digest.update(f"{path.relative_to(landing)}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest(), settled, unsettled


@sensor(
    name="landing_folder_sensor",
    jobs=[warehouse_job, crm_job],
    minimum_interval_seconds=30,
    default_status=DefaultSensorStatus.STOPPED,
    description="New or changed files in the landing folder (CHATSALES_LANDING): load them "
    "and bring the marts up to date; the CRM snapshot folders in a run of crm_job (the "
    "new-rows sensor then refreshes the marts).",
)
def landing_sensor(context: SensorEvaluationContext, warehouse: WarehouseResource):
    landing = warehouse.landing_dir
    if not landing.is_dir():
        return SkipReason(f"no landing folder at {landing}")
    fingerprint, settled, unsettled = landing_fingerprint(landing, time.time())
    if fingerprint == context.cursor:
        return SkipReason(f"{settled} files, none new ({unsettled} still being written)")
    context.update_cursor(fingerprint)
    context.log.info(f"Landing folder changed: {settled} files; loading them")
    return [
        catch_up_run(context, warehouse, fingerprint, job_name=warehouse_job.name),
        RunRequest(run_key=f"{fingerprint}:crm", job_name=crm_job.name),
    ]


def rows_loaded(context: RunStatusSensorContext) -> int:
    """Rows the run loaded into the activity tables."""
    records = context.instance.get_records_for_run(
        context.dagster_run.run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION
    ).records
    total = 0
    for record in records:
        materialization = record.event_log_entry.asset_materialization
        metadata = materialization.metadata
        if materialization.asset_key.path[-1] in ACTIVITY_TABLES and "rows_loaded" in metadata:
            total += metadata["rows_loaded"].value
    return total


@run_status_sensor(
    name="new_rows_sensor",
    run_status=DagsterRunStatus.SUCCESS,
    monitored_jobs=[ingestion_job, crm_job],
    request_job=marts_job,
    default_status=DefaultSensorStatus.STOPPED,
    description="After an ingestion or CRM run that loaded rows, bring the marts up to date.",
)
def new_rows_sensor(context: RunStatusSensorContext, warehouse: WarehouseResource):
    loaded = rows_loaded(context)
    if not loaded:
        return SkipReason(f"run {context.dagster_run.run_id} loaded no rows")
    context.log.info(f"Run {context.dagster_run.run_id} loaded {loaded} rows: refreshing marts")
    return catch_up_run(context, warehouse, context.dagster_run.run_id)


sensors = [landing_sensor, new_rows_sensor]
