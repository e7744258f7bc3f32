"""`chatsales run`: materialize every asset through Dagster, on the project's instance, so
the runs show up in the Dagster UI history, then print a short summary.

Two runs: `crm_job` (amoCRM, Bitrix24), then `warehouse_job` (every other source and every
model), whatever the first did: a CRM outage fails the CRM run, and the marts are built from
the CRM data loaded before (orchestration/jobs.py)."""

from __future__ import annotations

from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from chatsales.core.settings import (
    Settings,
    dagster_home,
    record_history_start,
    recorded_history_start,
    settings,
    state_dir,
    warehouse,
)
from chatsales.core.warehouse import table_counts

from .dbt_manifest import prepare_dbt
from .instance import ensure_dagster_home
from .pools import wait_for_the_warehouse
from .recovery import release_abandoned_runs, runner_tags

if TYPE_CHECKING:
    from dagster import PartitionKeyRange


@dataclass
class CrmFailure:
    """A CRM load that failed: its step's root cause, and when its data was last loaded."""

    source: str
    cause: str
    loaded_before: datetime | None  # its last successful load (None: never)

    def describe(self) -> str:
        when = f"{self.loaded_before:%Y-%m-%d %H:%M} UTC" if self.loaded_before else "never"
        named = (
            self.cause
            if self.cause.startswith(f"{self.source}:")
            else f"{self.source}: {self.cause}"
        )
        return f"{named} (its data last loaded: {when})"


@dataclass
class RunReport:
    success: bool
    run_id: str
    log_path: Path
    days: PartitionKeyRange  # recorded in Dagster
    crm_run_id: str = ""
    crm_failures: list[CrmFailure] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    checks_passed: int = 0
    checks_failed: list[str] = field(default_factory=list)
    checks_warned: list[str] = field(default_factory=list)
    mart_rows: dict[str, int] = field(default_factory=dict)


def step_failures(result, with_class: bool = True) -> list[tuple[str, str]]:
    """(step, root cause) of each failed step of an in-process run."""
    from orchestration.loggers import root_cause

    return [
        (event.step_key, root_cause(event.step_failure_data.error, with_class))
        for event in result.all_events
        if event.is_step_failure
    ]


def last_loaded(instance, source: str) -> datetime | None:
    """When the source's tables were last materialized (a successful load)."""
    from orchestration.assets.ingestion import assets_by_source

    events = instance.get_latest_materialization_events(assets_by_source[source].keys)
    stamps = [event.timestamp for event in events.values() if event is not None]
    return datetime.fromtimestamp(max(stamps), UTC) if stamps else None


def run_pipeline(log_path: Path | None = None, full_refresh: bool = False) -> RunReport:
    """Run `crm_job`, then `warehouse_job`, in process against the project's Dagster instance;
    with full_refresh, incremental dbt models are rebuilt from all history."""
    ensure_dagster_home()
    prepare_dbt()
    from dagster import AssetCheckSeverity, DagsterInstance

    from orchestration.assets.dbt import catch_up_config
    from orchestration.assets.ingestion import source_of_step
    from orchestration.definitions import build_definitions
    from orchestration.partitions import range_tags, recorded_days
    from orchestration.resources import resources_for

    log_path = log_path or state_dir() / "logs" / f"run-{datetime.now():%Y%m%d-%H%M%S}.log"
    config = settings()
    defs = build_definitions(resources_for(config))
    job = defs.resolve_job_def("warehouse_job")
    log_config = {"loggers": {"console": {"config": {"log_path": str(log_path)}}}}
    log_path.parent.mkdir(parents=True, exist_ok=True)
    days = recorded_days(config.warehouse, print, full_refresh)
    # dbt's and dlt's own chatter goes to the log file; progress lines to the console.
    with DagsterInstance.from_config(str(dagster_home())) as instance:
        for run_id in release_abandoned_runs(instance):
            print(f"A killed run ({run_id}) held the warehouse: marked failed, released.")
        wait_for_the_warehouse(instance, print)
        with (
            log_path.open("a", encoding="utf-8") as chatter,
            redirect_stdout(chatter),
            redirect_stderr(chatter),
        ):
            crm = defs.resolve_job_def("crm_job").execute_in_process(
                instance=instance, run_config=log_config, tags=runner_tags(), raise_on_error=False
            )
            result = job.execute_in_process(
                instance=instance,
                run_config={**log_config, **catch_up_config(full_refresh)},
                # recorded on the days the catch-up recomputes (see orchestration/partitions.py)
                tags={**range_tags(days), **runner_tags()},
                raise_on_error=False,
            )
        crm_failures = [
            CrmFailure(source, cause, last_loaded(instance, source))
            for source, cause in ((source_of_step(s), c) for s, c in step_failures(crm, False))
        ]
        if not crm.success and not crm_failures:  # failed before any step did
            crm_failures = [CrmFailure("crm_job", "the run failed; see the log", None)]
    report = RunReport(
        result.success and crm.success, result.run_id, log_path, days, crm.run_id, crm_failures
    )
    report.failures = [f"{step}: {cause}" for step, cause in step_failures(result)]
    for evaluation in result.get_asset_check_evaluations():
        name = f"{evaluation.check_name} on {evaluation.asset_key.to_user_string()}"
        if evaluation.passed:
            report.checks_passed += 1
        elif evaluation.severity == AssetCheckSeverity.WARN:
            report.checks_warned.append(name)
        else:
            report.checks_failed.append(name)
    if result.success:  # the marts were built, even when a CRM load failed
        report.mart_rows = table_counts("marts", config.warehouse)
        record_where_data_starts(config)
    return report


def record_where_data_starts(config: Settings) -> None:
    """After the first run, unless set or recorded already: the partitions start on the first
    day with messages from then on (never earlier than they do now, or days this run built
    would have no record)."""
    if config.history_start or recorded_history_start(config):
        return
    from orchestration.partitions import daily_partitions, first_modelled_day

    first = first_modelled_day(config.warehouse)
    if first:
        record_history_start(max(first, daily_partitions.get_first_partition_key()))


def print_crm_failures(report: RunReport) -> None:
    built = "; the marts were built from the CRM data loaded before" if report.mart_rows else ""
    print(f"\nThe CRM load failed (crm_job run {report.crm_run_id}){built}:")
    for failure in report.crm_failures:
        print(f"  ✗ {failure.describe()}")
    print("The next run resumes each CRM from its cursor.")


def print_summary(report: RunReport) -> None:
    target = warehouse()
    if report.failures or not report.mart_rows:
        print("\nThe run failed:")
        for failure in report.failures or ["see the log"]:
            print(f"  ✗ {failure}")
        if report.crm_failures:
            print_crm_failures(report)
        print(f"Full log: {report.log_path}")
        return
    print("\nDone. Rows per mart:")
    for table, rows in report.mart_rows.items():
        print(f"  marts.{table:<28} {rows:>10,}")
    checks = f"{report.checks_passed} checks passed"
    if report.checks_failed:
        checks += f", {len(report.checks_failed)} failed: " + "; ".join(report.checks_failed)
    if report.checks_warned:
        checks += f", {len(report.checks_warned)} warning: " + "; ".join(report.checks_warned)
    print(f"\n{checks}.")
    if report.checks_warned:
        print("Warnings do not block the marts; see marts.data_issues for what to fix.")
    print(f"Warehouse: {target.display_name} (schemas staging, intermediate, marts)")
    from orchestration.checks import data_docs_index

    print(f"Great Expectations Data Docs: {data_docs_index()}")
    first, last = (date.fromisoformat(day) for day in (report.days.start, report.days.end))
    print(f"Run {report.run_id}: full log {report.log_path}")
    print(f"Recorded in Dagster on {(last - first).days + 1} days of the message models, "
          f"{first} … {last}")  # fmt: skip
    print(
        "Dagster UI with this run in its history: .venv/bin/chatsales ui  → http://127.0.0.1:3000"
    )
    if report.crm_failures:
        print_crm_failures(report)
