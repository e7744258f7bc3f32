"""How long the daily scheduled run takes: evaluate the real `daily_marts_after_midnight`
schedule for the night after a day of data, and execute the run it requests (dbt for that
day's partition, in process) against the configured warehouse.

    .venv/bin/python bench/bench_daily_run.py [--day 2026-10-30]

By default the warehouse is the one `scripts/demo.sh` built (data/warehouse.duckdb) and the
day is its last day with messages. Prints seconds per step, the messages of the recomputed
chats per second, and the ratio to a catch-up run's dbt steps. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import time
from datetime import date, datetime, timedelta
from datetime import time as clock
from zoneinfo import ZoneInfo

from dagster import DagsterEventType, DagsterInstance, build_schedule_context

from chatsales.core.settings import reporting_timezone, settings, warehouse
from chatsales.core.warehouse import query
from orchestration.dbt_manifest import prepare_dbt


def last_day_with_messages() -> date:
    [(latest,)] = query("select max(sent_at) from marts.fct_messages")
    return (latest.astimezone(ZoneInfo(reporting_timezone())) if latest.tzinfo else latest).date()


def step_seconds(instance: DagsterInstance, run_id: str) -> dict[str, float]:
    starts, seconds = {}, {}
    for entry in instance.all_logs(run_id):
        kind = entry.dagster_event_type
        if kind == DagsterEventType.STEP_START:
            starts[entry.step_key] = entry.timestamp
        elif kind == DagsterEventType.STEP_SUCCESS:
            seconds[entry.step_key] = entry.timestamp - starts[entry.step_key]
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--day", type=date.fromisoformat, help="the day of data (default: last)")
    args = parser.parse_args()
    prepare_dbt()
    from orchestration.assets.dbt import catch_up_config
    from orchestration.definitions import build_definitions
    from orchestration.partitions import catch_up_days, range_tags
    from orchestration.resources import resources_for

    defs = build_definitions(resources_for(settings()))

    day = args.day or last_day_with_messages()
    tz = ZoneInfo(reporting_timezone())
    tick = datetime.combine(day + timedelta(days=1), clock(0, 30), tzinfo=tz)
    repository = defs.get_repository_def()
    schedule = repository.get_schedule_def("daily_marts_after_midnight")
    job = defs.resolve_job_def("marts_job")
    print(f"Warehouse {warehouse().display_name}; the schedule's tick at {tick.isoformat()}")
    runs = {}
    with DagsterInstance.ephemeral() as instance:
        context = build_schedule_context(
            instance=instance, scheduled_execution_time=tick, repository_def=repository
        )
        [request] = schedule.evaluate_tick(context).run_requests
        catch_up = {"run_config": catch_up_config(), "tags": range_tags(catch_up_days(warehouse()))}
        for name, kwargs in (
            ("daily (scheduled)", {"partition_key": request.partition_key}),
            ("catch-up", catch_up),  # recorded on the days it recomputes, as `chatsales run`
        ):
            started = time.perf_counter()
            result = job.execute_in_process(instance=instance, **kwargs)
            runs[name] = (time.perf_counter() - started, step_seconds(instance, result.run_id))
    [(messages,)] = query(
        "select count(*) from marts.fct_messages where chat_id in (select chat_id from "
        f"marts.fct_messages where sent_at >= timestamp '{day - timedelta(days=3)}' - "
        f"interval '3 hours' and sent_at < timestamp '{day + timedelta(days=1)}')"
    )
    for name, (wall, steps) in runs.items():
        detail = ", ".join(f"{step} {seconds:.1f}s" for step, seconds in steps.items())
        print(f"{name:<18} {wall:6.1f}s wall ({detail})")
    daily = runs["daily (scheduled)"][0]
    print(f"partition {request.partition_key}: {messages:,} messages in the recomputed chats, "
          f"{messages / daily:,.0f} messages/s; daily / catch-up = "
          f"{daily / runs['catch-up'][0]:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
