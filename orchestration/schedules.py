"""Schedules, all toggled in the UI (stopped until someone turns them on)."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from dagster import (
    DefaultScheduleStatus,
    RunRequest,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    schedule,
)

from chatsales.core.settings import reporting_timezone, settings

from .jobs import crm_job, ingestion_job, marts_job, quality_job

TIMEZONE = reporting_timezone()

ingestion_schedule = ScheduleDefinition(
    name="ingestion_every_15_minutes",
    job=ingestion_job,
    cron_schedule=settings().ingestion_cron,
    execution_timezone=TIMEZONE,
    default_status=DefaultScheduleStatus.STOPPED,
    description="Load the landing folder and the messenger APIs (cron: "
    "CHATSALES_INGESTION_CRON). The new-data sensor then refreshes the marts when rows arrived.",
)

crm_schedule = ScheduleDefinition(
    name="crm_every_15_minutes",
    job=crm_job,
    cron_schedule=settings().ingestion_cron,
    execution_timezone=TIMEZONE,
    default_status=DefaultScheduleStatus.STOPPED,
    description="Load amoCRM and Bitrix24 (cron: CHATSALES_INGESTION_CRON), in runs of their "
    "own: an outage fails these, not the marts. The new-data sensor refreshes the marts.",
)


@schedule(
    name="daily_marts_after_midnight",
    job=marts_job,
    cron_schedule="30 0 * * *",
    execution_timezone=TIMEZONE,
    default_status=DefaultScheduleStatus.STOPPED,
    description="At 00:30 in the reporting time zone: build yesterday's partition, which "
    "settles yesterday's dialogs and waits, and rebuild the marts.",
)
def daily_marts_schedule(context: ScheduleEvaluationContext) -> RunRequest:
    now = context.scheduled_execution_time.astimezone(ZoneInfo(TIMEZONE))
    yesterday = (now - timedelta(days=1)).date().isoformat()
    return RunRequest(run_key=yesterday, partition_key=yesterday)


quality_schedule = ScheduleDefinition(
    name="weekly_quality_on_monday",
    job=quality_job,
    cron_schedule="0 6 * * 1",
    execution_timezone=TIMEZONE,
    default_status=DefaultScheduleStatus.STOPPED,
    description="Mondays at 06:00: every Great Expectations suite over the whole history.",
)

schedules = [ingestion_schedule, crm_schedule, daily_marts_schedule, quality_schedule]
