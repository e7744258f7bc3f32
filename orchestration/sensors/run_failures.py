"""`run_failure_summary_sensor`: one readable summary per failed run, in the sensor's log and,
with a webhook configured, as an alert: the job, the run, each failed step and its root cause."""

from dagster import DagsterRun, DefaultSensorStatus, RunFailureSensorContext, run_failure_sensor
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
    PARTITION_NAME_TAG,
)

from ..loggers import root_cause
from ..notifications import Alert, deliver
from ..resources import AlertsResource


def run_days(run: DagsterRun) -> str | None:
    """The run's partition, or its range of them (a catch-up, a backfill)."""
    tags = run.tags
    if ASSET_PARTITION_RANGE_START_TAG in tags:
        return f"{tags[ASSET_PARTITION_RANGE_START_TAG]}…{tags[ASSET_PARTITION_RANGE_END_TAG]}"
    return tags.get(PARTITION_NAME_TAG)


def failure_summary(run: DagsterRun, failure_event, step_failures) -> Alert:
    """'Run warehouse_job 1a2b3c4d failed: ✗ dbt_models: dbt: Failure in model …' (one line a
    step). Without a failed step (the run worker died, a resource failed to start), the run's
    own error."""
    partition = run_days(run)
    head = f"Run {run.job_name} {run.run_id[:8]}" + (
        f" (partition {partition})" if partition else ""
    )
    steps = [
        {"step": event.step_key, "cause": root_cause(event.event_specific_data.error)}
        for event in step_failures
    ]
    if steps:
        lines = [f"✗ {step['step']}: {step['cause']}" for step in steps]
    else:
        error = getattr(failure_event.event_specific_data, "error", None)
        lines = [root_cause(error) if error is not None else failure_event.message or "no details"]
    text = f"{head} failed:\n" + "\n".join(lines)
    fields = {"job_name": run.job_name, "run_id": run.run_id, "partition": partition}
    return Alert("run_failed", text, {**fields, "failed_steps": steps})


@run_failure_sensor(
    name="run_failure_summary_sensor",
    default_status=DefaultSensorStatus.RUNNING,
    # Also runs with no code location: `chatsales run` executes in process on the instance.
    monitor_all_code_locations=True,
    description="Logs which steps of a failed run failed and why; alerts it when a webhook is set.",
)
def run_failure_summary_sensor(context: RunFailureSensorContext, alerts: AlertsResource) -> None:
    alert = failure_summary(
        context.dagster_run, context.failure_event, context.get_step_failure_events()
    )
    context.log.error(alert.text)
    settings = alerts.settings()
    if settings.configured:
        deliver(alert, settings, context.log)
