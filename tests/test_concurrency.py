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
from .support.postgres_server import fresh_database

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

CLAIM_EACH_ROUND = """
import sys, time
from pathlib import Path
from dagster import DagsterInstance
from orchestration.instance import ensure_dagster_home
ensure_dagster_home()
go, run_id, rounds = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
with DagsterInstance.get() as instance:
    storage = instance.event_log_storage
    print("ready", flush=True)
    for step in range(rounds):
        while not go.with_suffix(f".{step}").exists():
            time.sleep(0.001)
        status = storage.claim_concurrency_slot("warehouse", run_id, f"step{step}")
        print("claimed" if status.is_claimed else "blocked", flush=True)
"""
FREE_EVERY_SLOT = """
import sys
from dagster import DagsterInstance
from orchestration.instance import ensure_dagster_home
ensure_dagster_home()
with DagsterInstance.get() as instance:
    storage = instance.event_log_storage
    if "warehouse" not in {pool.name for pool in storage.get_pool_limits()}:
        storage.initialize_concurrency_limit_to_default("warehouse")  # as a run's first step
    for run_id in sys.argv[1:]:
        storage.free_concurrency_slots_for_run(run_id)
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


@pytest.mark.parametrize(
    "storage", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_steps_claiming_the_warehouse_pool_at_once_get_its_one_slot_once(
    storage, tmp_path, request
):
    # Dagster reads a free slot, then writes its step into it: eight claims at once on its own
    # storage classes got the pool of one two to five times in most rounds.
    if storage == "postgres":
        url = fresh_database(request.getfixturevalue("postgres_url"), "pool_claims")
    else:
        url = f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    env = warehouse_env(tmp_path, url, tmp_path / "landing")
    runs, rounds, go = [f"run{number}" for number in range(8)], 3, tmp_path / "go"

    def free_every_slot() -> None:
        free = [sys.executable, "-c", FREE_EVERY_SLOT, *runs]
        done = subprocess.run(
            free, env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr[-3000:]

    free_every_slot()
    claims = [
        subprocess.Popen([sys.executable, "-c", CLAIM_EACH_ROUND, str(go), run_id, str(rounds)],
                         cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, text=True)
        for run_id in runs
    ]  # fmt: skip
    try:
        for claim in claims:
            assert claim.stdout.readline() == "ready\n"
        for step in range(rounds):
            go.with_suffix(f".{step}").touch()
            outcomes = [claim.stdout.readline().strip() for claim in claims]
            assert outcomes.count("claimed") == 1, f"round {step}: {outcomes}"
            free_every_slot()
    finally:
        for claim in claims:
            claim.kill()
            claim.wait()
