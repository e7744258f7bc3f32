"""`chatsales run` queued behind a live run that holds the warehouse (a sensor's run in the
daemon, a backfill) says what it waits for, and SIGTERM or Ctrl-C stop it at once, leaving
no run behind: Dagster's own wait, inside its interrupt capture, held both signals until
the slot came free."""

from __future__ import annotations

import signal
import subprocess
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from ..support.cli import CHATSALES, warehouse_env
from ..support.paths import REPO_ROOT

pytestmark = [pytest.mark.dagster, pytest.mark.faults]


def hold_the_warehouse(instance) -> str:
    """A run of this (live) process holding the warehouse pool's slot; its id."""
    from dagster import DagsterRun, DagsterRunStatus

    from orchestration.pools import WAREHOUSE_POOL
    from orchestration.recovery import runner_tags

    run_id = str(uuid.uuid4())
    status = DagsterRunStatus.STARTED
    instance.add_run(DagsterRun("warehouse_job", run_id=run_id, status=status, tags=runner_tags()))
    storage = instance.event_log_storage
    storage.initialize_concurrency_limit_to_default(WAREHOUSE_POOL)
    claim = storage.claim_concurrency_slot(WAREHOUSE_POOL, run_id, "wazzup_raw")
    assert claim.is_claimed
    return run_id


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_a_run_waiting_for_the_warehouse_stops_at_once(stop, tmp_path):
    from dagster import DagsterInstance

    from orchestration.instance import ensure_dagster_home
    from orchestration.pools import STOPPED_WAITING

    env = warehouse_env(tmp_path, f"duckdb:///{tmp_path / 'w.duckdb'}", tmp_path / "landing")
    home = ensure_dagster_home(tmp_path / "dagster_home")
    with DagsterInstance.from_config(str(home)) as instance:
        holder = hold_the_warehouse(instance)
        process = subprocess.Popen(
            [CHATSALES, "run"], env={**env, "PYTHONUNBUFFERED": "1"}, cwd=REPO_ROOT,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        reader = ThreadPoolExecutor(1)  # a run that never says it waits fails, not hangs
        try:
            waiting = reader.submit(process.stdout.readline).result(timeout=180)
            assert f"Waiting for run {holder}" in waiting, waiting + process.stderr.read()
            process.send_signal(stop)
            _, errors = process.communicate(timeout=30)
        finally:
            process.kill()  # ends the readline of a run that never said it waits
            reader.shutdown()
        assert process.returncode == 1 and STOPPED_WAITING in errors
        assert [run.run_id for run in instance.get_runs()] == [holder]
