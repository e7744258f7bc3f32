"""The instance's storage (orchestration/event_storage.py) records a partition range run as
Dagster's own SQLite and PostgreSQL storages do: the same partitions, events, latest
materializations and check executions, written in batches. A small partitioned job runs the
same range on both."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from dagster import (
    AssetCheckKey,
    AssetCheckResult,
    AssetCheckSpec,
    AssetKey,
    AssetSpec,
    BackfillPolicy,
    DagsterEventType,
    DagsterInstance,
    DailyPartitionsDefinition,
    Definitions,
    MaterializeResult,
    PartitionKeyRange,
    define_asset_job,
    in_process_executor,
    multi_asset,
)

from orchestration.instance import PASSWORD_VARIABLE, ensure_dagster_home
from orchestration.partitions import range_tags

from .support.postgres_server import fresh_database

pytestmark = pytest.mark.dagster

DAYS = DailyPartitionsDefinition(start_date="2025-07-01", end_date="2025-08-01")
PLANNED = DagsterEventType.ASSET_MATERIALIZATION_PLANNED
KEYS = [AssetKey(["marts", name]) for name in ("fct_messages", "fct_waits", "mart_metrics")]


CHECKS = [AssetCheckKey(key, "not_null") for key in KEYS]


@multi_asset(
    specs=[AssetSpec(key) for key in KEYS],
    check_specs=[AssetCheckSpec(check.name, asset=check.asset_key) for check in CHECKS],
    partitions_def=DAYS,
    backfill_policy=BackfillPolicy.single_run(),
)
def models():
    for key in KEYS:
        yield MaterializeResult(asset_key=key)
        yield AssetCheckResult(asset_key=key, check_name="not_null", passed=key != KEYS[1])


JOB = Definitions(
    assets=[models], jobs=[define_asset_job("models_job")], executor=in_process_executor
).resolve_job_def("models_job")


def _run_range(instance: DagsterInstance, start: str, end: str) -> str:
    result = JOB.execute_in_process(
        instance=instance, tags=range_tags(PartitionKeyRange(start, end))
    )
    assert result.success
    return result.run_id


def _record(home: Path) -> dict:
    """What the instance knows after two range runs, the second overlapping the first."""
    with DagsterInstance.from_config(str(home)) as instance:
        storage = type(instance.event_log_storage).__name__
        runs = [_run_range(instance, "2025-07-01", "2025-07-10"),
                _run_range(instance, "2025-07-08", "2025-07-10")]  # fmt: skip
        known = {"storage": storage}
        for key in KEYS:
            latest = instance.get_latest_materialization_event(key)
            records = instance.fetch_materializations(key, limit=1000).records
            planned = [(run == runs[1], entry.dagster_event.partition) for run in runs
                       for entry in instance.all_logs(run, of_type=PLANNED)
                       if entry.dagster_event.asset_key == key]  # fmt: skip
            known[key] = {
                "partitions": instance.get_materialized_partitions(key),
                "events": sorted((r.run_id == runs[1], r.partition_key) for r in records),
                "latest": (latest.run_id == runs[1], latest.dagster_event.partition),
                "planned": sorted(planned),
            }
        for check in CHECKS:
            history = instance.event_log_storage.get_asset_check_execution_history(check, 100)
            known[check] = sorted(
                (r.run_id == runs[1], r.partition or "", r.status.value) for r in history
            )
    return known


def test_batched_storage_records_what_dagster_s_own_does(tmp_path):
    (tmp_path / "dagster").mkdir()
    dagster_s = _record(tmp_path / "dagster")  # no dagster.yaml: Dagster's SQLite storage
    ours = _record(ensure_dagster_home(tmp_path / "chatsales"))
    assert dagster_s.pop("storage") == "SqliteEventLogStorage"
    assert ours.pop("storage") == "BatchingSqliteEventLogStorage"
    assert ours == dagster_s
    recorded = dagster_s[KEYS[0]]
    assert len(recorded["partitions"]) == 10 and len(recorded["events"]) == 10 + 3
    assert recorded["latest"] == (True, "2025-07-10") and recorded["planned"] == recorded["events"]
    assert ("FAILED" in {status for *_, status in dagster_s[CHECKS[1]]}) and dagster_s[CHECKS[0]]


@pytest.mark.postgres
def test_batched_postgres_storage_records_what_dagster_s_own_does(
    postgres_url, tmp_path, monkeypatch
):
    from chatsales.core.settings import Warehouse

    pg = Warehouse(fresh_database(postgres_url, "dagster_own_storage")).postgres
    (tmp_path / "dagster").mkdir()
    (tmp_path / "dagster" / "dagster.yaml").write_text(
        "storage:\n  postgres:\n    postgres_db:\n"
        f"      hostname: {pg['host']}\n      port: {pg['port']}\n"
        f"      username: {pg['user']}\n      db_name: {pg['dbname']}\n"
        f"      password: {json.dumps(pg['password'])}\n      scheme: postgresql+psycopg2\n"
    )
    dagster_s = _record(tmp_path / "dagster")
    monkeypatch.setenv("CHATSALES_DAGSTER_STORAGE", fresh_database(postgres_url, "our_storage"))
    monkeypatch.setenv(PASSWORD_VARIABLE, "")  # undone after the test; set by ensure_dagster_home
    ours = _record(ensure_dagster_home(tmp_path / "chatsales"))
    assert dagster_s.pop("storage") == "PostgresEventLogStorage"
    assert ours.pop("storage") == "BatchingPostgresEventLogStorage"
    assert ours == dagster_s


def test_dagster_yaml_is_brought_up_to_date_unless_it_is_someone_s_own(tmp_path):
    from orchestration.instance import FIRST_DAGSTER_YAML, WRITTEN_BY_CHATSALES

    homes = {name: tmp_path / name for name in ("new", "first", "ours", "own")}
    for name, text in (("first", FIRST_DAGSTER_YAML), ("ours", f"{WRITTEN_BY_CHATSALES}\nx: 1\n"),
                       ("own", "telemetry:\n  enabled: false\n")):  # fmt: skip
        homes[name].mkdir()
        (homes[name] / "dagster.yaml").write_text(text)
    for home in homes.values():
        ensure_dagster_home(home)
    written = {name: (home / "dagster.yaml").read_text() for name, home in homes.items()}
    assert written["own"] == "telemetry:\n  enabled: false\n"
    for name in ("new", "first", "ours"):
        assert written[name].startswith(WRITTEN_BY_CHATSALES)
        assert "class: BatchingSqliteStorage" in written[name]
        assert f'base_dir: "{homes[name]}"' in written[name]


def test_only_a_run_s_own_log_is_written_without_waiting_for_the_disk(tmp_path):
    from sqlalchemy import text

    with DagsterInstance.from_config(str(ensure_dagster_home(tmp_path))) as instance:
        storage = instance.event_log_storage
        synchronous = {}
        for shard, connection in (("run", storage.run_connection("a-run")),
                                  ("index", storage.index_connection())):  # fmt: skip
            with connection as conn:
                synchronous[shard] = conn.execute(text("pragma synchronous")).scalar()
    assert synchronous == {"run": 0, "index": 2}  # OFF; FULL, SQLite's default
