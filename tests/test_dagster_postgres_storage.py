"""With a PostgreSQL warehouse, Dagster keeps its run history, schedules' and sensors' state,
cursors and ticks in that database (schema `dagster`), not in SQLite under DAGSTER_HOME.
Dagster's CLI starts a sensor and a schedule and sets the sensor's cursor; the daemon ticks
both (the schedule launches a run); once it has stopped, a process of its own reads all of it
back. The password stays out of dagster.yaml."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from chatsales.core.settings import Warehouse
from chatsales.core.warehouse import query

from .support.cli import CHATSALES, warehouse_env
from .support.paths import REPO_ROOT
from .support.postgres_server import fresh_database

pytestmark = [pytest.mark.postgres, pytest.mark.dagster]

SENSOR = "landing_folder_sensor"
SCHEDULE = "ingestion_every_15_minutes"
DAGSTER = Path(CHATSALES).with_name("dagster")
READ_BACK = """
import json, sys
from dagster import DagsterInstance
with DagsterInstance.get() as instance:
    states = {s.name: s for s in instance.all_instigator_state()}
    def ticks(name):
        state = states[name]
        return [t.status.value for t in instance.get_ticks(
            state.instigator_origin_id, state.selector_id)]
    print(json.dumps({
        "storage": type(instance.run_storage).__name__,
        "runs": {r.job_name: r.status.value for r in instance.get_runs()},
        "cursor": states[sys.argv[1]].instigator_data.cursor,
        "running": sorted(n for n, s in states.items() if s.is_running),
        "ticks": {name: ticks(name) for name in sys.argv[1:]},
    }))
"""
# the daemon's work is done: the schedule ticked and its run ended (sensors tick first)
DONE = """
select
    exists (select from dagster.job_ticks where type = 'SCHEDULE' and status <> 'STARTED')
    and exists (select from dagster.runs where status in ('SUCCESS', 'FAILURE'))
"""


def dagster(args: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(
        [str(DAGSTER), *args, "-w", "workspace.yaml"], env=env, cwd=REPO_ROOT,
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, f"dagster {' '.join(args)}: {done.stderr[-3000:]}"


def test_dagster_keeps_runs_cursors_and_ticks_in_the_postgresql_warehouse(
    postgres_url, tmp_path, monkeypatch
):
    from orchestration.dbt_manifest import prepare_dbt
    from orchestration.instance import PASSWORD_VARIABLE, ensure_dagster_home
    from orchestration.sensors.new_data import landing_fingerprint

    url = fresh_database(postgres_url, "dagster_storage")
    landing = tmp_path / "landing"
    landing.mkdir()
    env = warehouse_env(tmp_path, url, landing)
    env["CHATSALES_INGESTION_CRON"] = "* * * * *"  # a schedule tick within the minute
    for name, value in [*env.items(), (PASSWORD_VARIABLE, "")]:
        monkeypatch.setenv(name, value)
    home = ensure_dagster_home()  # as `chatsales ui` does before it starts Dagster
    prepare_dbt()
    password = Warehouse(url).postgres["password"]
    assert "postgres_db" in (home / "dagster.yaml").read_text()
    assert password not in (home / "dagster.yaml").read_text()
    env[PASSWORD_VARIABLE] = password  # what `chatsales ui` hands on to Dagster's processes

    cursor, *_ = landing_fingerprint(landing, time.time())
    dagster(["sensor", "start", SENSOR], env)
    dagster(["sensor", "cursor", SENSOR, "--set", cursor], env)
    dagster(["schedule", "start", SCHEDULE], env)
    daemon = subprocess.Popen(
        [str(DAGSTER.with_name("dagster-daemon")), "run", "-w", "workspace.yaml"],
        env=env, cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 300
        while query(DONE, Warehouse(url)) != [(True,)] and time.monotonic() < deadline:
            time.sleep(3)
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=60)

    read_back = [sys.executable, "-c", READ_BACK, SENSOR, SCHEDULE]
    out = subprocess.run(read_back, env=env, cwd=REPO_ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-3000:]
    after = json.loads(out.stdout.splitlines()[-1])
    assert after["storage"] == "PostgresRunStorage"
    assert after["runs"] == {"ingestion_job": "SUCCESS"}
    assert after["cursor"] == cursor
    assert {SENSOR, SCHEDULE} <= set(after["running"])
    # the daemon read the cursor back from PostgreSQL: the landing had nothing new
    # (a tick the daemon's SIGTERM interrupted stays STARTED; every finished one skipped)
    finished = [status for status in after["ticks"][SENSOR] if status != "STARTED"]
    assert finished and set(finished) == {"SKIPPED"}
    assert after["ticks"][SCHEDULE] == ["SUCCESS"]
    assert not list(home.rglob("*.db")), "Dagster wrote SQLite storage"
