"""Two ingestion runs started at once on one Dagster instance never write the warehouse at
the same time: every step that opens it is in the `warehouse` pool, limited to one
step at a time by the instance (`chatsales` writes that limit into dagster.yaml). Real
processes, a real DuckDB file (which allows one writer)."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys

import pytest
from dagster import DagsterEventType, DagsterInstance

from chatsales.core.settings import Warehouse
from chatsales.core.warehouse import query

from .support.cli import warehouse_env
from .support.paths import REPO_ROOT

pytestmark = pytest.mark.dagster

INGEST = """
import sys
from dagster import DagsterInstance
from orchestration.dbt_manifest import prepare_dbt
from orchestration.instance import ensure_dagster_home
ensure_dagster_home()
prepare_dbt()
from orchestration.definitions import defs
with DagsterInstance.get() as instance:
    job = defs.resolve_job_def("ingestion_job")
    result = job.execute_in_process(instance=instance, raise_on_error=False)
sys.exit(0 if result.success else 1)
"""

OPEN_INSTANCE = """
import sys, time
from pathlib import Path
from dagster import DagsterInstance
from orchestration.instance import ensure_dagster_home
print("imported", flush=True)
while not Path(sys.argv[1]).exists():  # start together, imports done
    time.sleep(0.01)
ensure_dagster_home()
DagsterInstance.get().get_runs()
"""


def _step_intervals(instance: DagsterInstance) -> list[tuple[float, float, str]]:
    """(start, end, "run step") of every step of every run on the instance."""
    intervals = []
    for run in instance.get_runs():
        starts = {}
        for record in instance.get_records_for_run(run.run_id).records:
            entry = record.event_log_entry
            if entry.dagster_event_type == DagsterEventType.STEP_START:
                starts[entry.step_key] = entry.timestamp
            elif entry.dagster_event_type == DagsterEventType.STEP_SUCCESS:
                step = f"{run.run_id[:8]} {entry.step_key}"
                intervals.append((starts[entry.step_key], entry.timestamp, step))
    return sorted(intervals)


def test_two_ingestion_runs_take_turns_on_the_warehouse(tmp_path, demo_landing):
    landing = tmp_path / "landing"
    shutil.copytree(demo_landing, landing)
    env = warehouse_env(tmp_path, f"duckdb:///{tmp_path / 'warehouse.duckdb'}", landing)
    runs = [  # own dbt target folders: each process writes a manifest while the other reads
        subprocess.Popen([sys.executable, "-c", INGEST], cwd=REPO_ROOT,
                         env={**env, "DBT_TARGET_PATH": str(tmp_path / f"dbt_{number}")},
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for number in range(2)
    ]  # fmt: skip
    outputs = [run.communicate(timeout=600)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], "\n".join(o[-3000:] for o in outputs)

    with DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
        intervals = _step_intervals(instance)
        checks = [
            record.event_log_entry.dagster_event.event_specific_data
            for run in instance.get_runs()
            for record in instance.get_records_for_run(
                run.run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION
            ).records
        ]
    # the Great Expectations checks found the warehouse free (not "busy") and the data good
    assert len(checks) == 2 * 3 and all(check.passed for check in checks)
    # the five dlt sources but the CRMs (crm_job's) and three GX checks, each run
    assert len(intervals) == 2 * (5 + 3)
    for (_, end, step), (start, _, following) in zip(intervals, intervals[1:], strict=False):
        assert end <= start, f"{step} still writing when {following} started"

    warehouse = Warehouse(env["CHATSALES_WAREHOUSE"])
    versions = "message_id || cast(is_edited as varchar) || cast(is_deleted as varchar)"
    [(rows, distinct)] = query(
        f"select count(*), count(distinct {versions}) from raw_wazzup.messages", warehouse
    )
    assert rows == distinct > 0  # the second run re-read nothing twice


def test_processes_starting_together_on_a_new_home_create_its_storage_once(tmp_path):
    # Without the lock in ensure_dagster_home, several processes creating the SQLite storage
    # at once each stamp its alembic_version table, and the instance can't be opened again.
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path / "dagster_home")}
    go = tmp_path / "go"
    starts = [
        subprocess.Popen([sys.executable, "-c", OPEN_INSTANCE, str(go)], cwd=REPO_ROOT, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for _ in range(4)
    ]  # fmt: skip
    for start in starts:
        assert start.stdout.readline() == "imported\n"
    go.touch()
    outputs = [start.communicate(timeout=300)[0] for start in starts]
    assert [start.returncode for start in starts] == [0] * 4, "\n".join(outputs)
    for database in (tmp_path / "dagster_home").rglob("*.db"):
        with sqlite3.connect(database) as connection:
            versions = connection.execute("select count(*) from alembic_version").fetchone()
        assert versions == (1,), f"{database.name} has {versions[0]} migration heads"
