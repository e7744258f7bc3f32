"""`alert_sensor`: tells someone when an asset check fails or mart_anomalies gains a row.

It starts no run. Each tick reads the check evaluations of the runs that ended since the last
tick (Dagster event log) and the anomalies of the configured kinds (orchestration.notifications),
and
alerts what has not been alerted yet. The cursor remembers what was sent, so an anomaly alerts once,
and a check alerts when it starts failing, again only after it has passed in between (a
failing check would otherwise repeat on every scheduled run). An alert the webhook refused
stays unsent and is retried on the next tick.
"""

import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from dagster import (
    AssetCheckSeverity,
    DagsterRunStatus,
    DefaultSensorStatus,
    RunsFilter,
    SensorEvaluationContext,
    SkipReason,
    sensor,
)

from chatsales.core.settings import Warehouse

from ..notifications import AlertSettings, anomaly_alert, deliver
from ..resources import AlertsResource, WarehouseResource
from .anomalies import WarehouseUnavailable, anomaly_key, recent_anomalies
from .checks import check_alert, check_evaluations, check_key, evaluation_of, finished_runs
from .run_failures import run_failure_summary_sensor

# A tick must end well within Dagster's sensor timeout (60 s) even at 10 s per POST.
MAX_ALERTS_PER_TICK = 20
RUNNING = [DagsterRunStatus.STARTING, DagsterRunStatus.STARTED, DagsterRunStatus.CANCELING]


@dataclass
class AlertCursor:
    """The sensor cursor, as JSON: where the event log was read to, what is known to be sent."""

    checks_after: int | None = None  # storage id of the last run-ended event handled
    failing_checks: set[str] = field(default_factory=set)  # alerted and not passed since
    sent_anomalies: set[str] = field(default_factory=set)  # anomaly_key of each alerted row

    @classmethod
    def load(cls, raw: str | None) -> "AlertCursor":
        data = json.loads(raw) if raw else {}
        return cls(
            data.get("checks_after"),
            set(data.get("failing_checks", [])),
            set(data.get("sent_anomalies", [])),
        )

    def dump(self) -> str:
        return json.dumps(
            {
                "checks_after": self.checks_after,
                "failing_checks": sorted(self.failing_checks),
                "sent_anomalies": sorted(self.sent_anomalies),
            }
        )


@dataclass
class Tick:
    context: SensorEvaluationContext
    settings: AlertSettings
    cursor: AlertCursor
    warehouse: Warehouse
    sent: int = 0
    refused: bool = False  # the webhook refused one: send nothing more this tick

    def send(self, alert) -> bool:
        if self.refused or self.sent >= MAX_ALERTS_PER_TICK:
            return False
        if deliver(alert, self.settings, self.context.log):
            self.sent += 1
            return True
        self.refused = True
        return False


def alert_failed_checks(tick: Tick) -> None:
    """Reads the check evaluations of each run that ended since the last tick."""
    settings, cursor = tick.settings, tick.cursor
    since = time.time() - settings.check_lookback_hours * 3600
    instance = tick.context.instance
    for ended in finished_runs(instance, cursor.checks_after, since):
        failing = set(cursor.failing_checks)
        for record in check_evaluations(instance, ended.run_id):
            evaluation = evaluation_of(record)
            key = check_key(evaluation)
            if evaluation.passed:
                failing.discard(key)
            elif key not in failing and (
                evaluation.severity == AssetCheckSeverity.ERROR or settings.check_severity == "warn"
            ):
                if not tick.send(check_alert(evaluation, ended.run_id)):
                    return  # this run is read again next tick; what was sent stays in failing
                failing.add(key)
                cursor.failing_checks.add(key)
        cursor.failing_checks = failing
        cursor.checks_after = ended.storage_id


def run_in_progress(context: SensorEvaluationContext) -> bool:
    """A run started in the last 12 hours is still going (an older one has likely died)."""
    recent = datetime.now(UTC) - timedelta(hours=12)
    runs = RunsFilter(statuses=RUNNING, created_after=recent)
    return context.instance.get_runs_count(filters=runs) > 0


def alert_new_anomalies(tick: Tick) -> str | None:
    """Alerts the new anomalies; returns why they could not be read, if so."""
    if tick.warehouse.kind == "duckdb" and run_in_progress(tick.context):
        # Even a read-only open holds a lock that makes a writer's open fail.
        return "a run is in progress, the DuckDB warehouse is left alone until it ends"
    try:
        rows, start = recent_anomalies(tick.settings, tick.warehouse)
    except WarehouseUnavailable as error:
        return f"warehouse not readable now ({error})"
    if start is not None:  # the window only moves forward: forget keys that fell out of it
        tick.cursor.sent_anomalies = {k for k in tick.cursor.sent_anomalies if k >= start}
    sent = tick.cursor.sent_anomalies
    for row in rows:
        key = anomaly_key(row)
        if key in sent:
            continue
        if not tick.send(anomaly_alert(row, tick.settings.language)):
            return None
        sent.add(key)
    return None


@sensor(
    name="alert_sensor",
    minimum_interval_seconds=60,
    default_status=DefaultSensorStatus.STOPPED,
    description=(
        "Alerts each failed asset check and each new mart_anomalies row of the configured "
        "kinds to CHATSALES_ALERT_WEBHOOK_URL or a Telegram chat (log only without one)."
    ),
)
def alert_sensor(
    context: SensorEvaluationContext, warehouse: WarehouseResource, alerts: AlertsResource
):
    cursor = AlertCursor.load(context.cursor)
    tick = Tick(context, alerts.settings(), cursor, warehouse.target)
    alert_failed_checks(tick)
    not_read = alert_new_anomalies(tick)
    context.update_cursor(tick.cursor.dump())
    if tick.settings.configured:
        summary = f"{tick.sent} alert(s) sent to {tick.settings.destination}"
    else:
        summary = f"{tick.sent} alert(s) written to the log (no webhook configured)"
    if tick.refused:
        summary += "; an alert was not delivered, retried next tick"
    elif tick.sent >= MAX_ALERTS_PER_TICK:
        summary += f"; at most {MAX_ALERTS_PER_TICK} a tick, the rest on the next one"
    if not_read:
        summary += f"; anomalies not read: {not_read}"
    return SkipReason(summary)


sensors = [alert_sensor, run_failure_summary_sensor]
