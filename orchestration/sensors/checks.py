"""Asset check evaluations (dbt tests and GX suites alike) read from the Dagster event log,
and the alert for a failed one."""

from __future__ import annotations

from collections.abc import Sequence

from dagster import (
    AssetCheckEvaluation,
    AssetCheckSeverity,
    DagsterEventType,
    DagsterInstance,
    EventLogRecord,
    RunStatusChangeRecordsFilter,
)

from orchestration.notifications import Alert

FINISHED = (
    DagsterEventType.RUN_SUCCESS,
    DagsterEventType.RUN_FAILURE,
    DagsterEventType.RUN_CANCELED,
)
BATCH = 200  # finished runs read per tick; the rest on the next one


def finished_runs(
    instance: DagsterInstance, after_storage_id: int | None, after_timestamp: float | None
) -> list[EventLogRecord]:
    """The run-ended events after a storage id (on a first tick, after a time), oldest first.

    Check evaluations are read run by run, not with one cross-run query on their event type:
    the default SQLite instance keeps events in one file a run and refuses a storage-id cursor
    for such a query; run status events are mirrored into its index, where a cursor works."""
    records, cut = [], None
    for event_type in FINISHED:
        found = instance.fetch_run_status_changes(
            RunStatusChangeRecordsFilter(
                event_type,
                after_storage_id=after_storage_id,
                after_timestamp=None if after_storage_id is not None else after_timestamp,
            ),
            limit=BATCH,
            ascending=True,
        ).records
        records.extend(found)
        if len(found) == BATCH:  # more of this type wait: stop before the first one not read
            last = found[-1].storage_id
            cut = last if cut is None else min(cut, last)
    records.sort(key=lambda record: record.storage_id)
    return [record for record in records if cut is None or record.storage_id <= cut]


def check_evaluations(instance: DagsterInstance, run_id: str) -> Sequence[EventLogRecord]:
    return instance.get_records_for_run(
        run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION
    ).records


def evaluation_of(record: EventLogRecord) -> AssetCheckEvaluation:
    return record.event_log_entry.dagster_event.event_specific_data


def check_key(evaluation: AssetCheckEvaluation) -> str:
    return f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}"


def what_failed(evaluation: AssetCheckEvaluation) -> str:
    """The check's description, else its short metadata (dbt: status=fail, failed_row_count=3)."""
    if evaluation.description:
        return evaluation.description.strip().splitlines()[0]
    parts = []
    for name, entry in evaluation.metadata.items():
        value = getattr(entry, "value", entry)
        if isinstance(value, bool | int | float | str) and len(str(value)) <= 80:
            parts.append(f"{name.split('/')[-1]}={value}")
    return ", ".join(parts[:4]) or "no details"


def check_alert(evaluation: AssetCheckEvaluation, run_id: str) -> Alert:
    asset = evaluation.asset_key.to_user_string()
    warns = evaluation.severity == AssetCheckSeverity.WARN
    verdict = "warns" if warns else "failed"
    partition = f" (partition {evaluation.partition})" if evaluation.partition else ""
    text = (
        f"Check {evaluation.check_name} on {asset}{partition} {verdict}: {what_failed(evaluation)}"
    )
    fields = {
        "asset_key": asset,
        "check_name": evaluation.check_name,
        "severity": evaluation.severity.value,
        "partition": evaluation.partition,
        "run_id": run_id,
    }
    return Alert("check_failed", text, fields)
