"""`chatsales run` killed with SIGKILL (its whole process group, as a crash or a lost machine
would) at several points, then one plain `chatsales run` on the same landing folder: it must
finish with no manual step, and its marts must equal those of the session's clean run of the
same landing (EXCEPT ALL both ways), so nothing that landed is missing or counted twice.

Three points on DuckDB, the engine whose files a kill can leave half-written; a load and the
marts on PostgreSQL, where the server rolls back what the dead run left open. Each case costs
a killed run and a full one."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time

import pytest

from chatsales.core.settings import Warehouse

from ..support.cli import CHATSALES, warehouse_env
from ..support.interrupted_runs import run_interrupted
from ..support.paths import REPO_ROOT
from ..support.postgres_server import fresh_database
from ..support.same_marts import differing_rows

pytestmark = [pytest.mark.warehouse, pytest.mark.faults]

# the progress line at which the run is killed, and how long after it (the message models,
# killed mid-build like the marts, came out the same and are left out for CI's time)
KILL_POINTS = {
    "during the webhooks' dlt load": ("▶ wazzup_raw", 0.5),
    "during the marts": ("✓ marts/mart_manager_metrics", 0.0),
    "during the serving publish": ("▶ serving__superset_duckdb", 0.1),
}


def killed_after(delay: float):
    def kill(process: subprocess.Popen) -> None:
        time.sleep(delay)
        os.killpg(process.pid, signal.SIGKILL)

    return kill


CASES = [("duckdb", point) for point in KILL_POINTS] + [
    pytest.param("postgres", point, marks=pytest.mark.postgres)
    for point in ("during the webhooks' dlt load", "during the marts")
]


@pytest.mark.parametrize(("engine", "point"), CASES)
def test_a_plain_run_recovers_from_a_kill(engine, point, demo_landing, tmp_path, request):
    clean = request.getfixturevalue(f"{engine}_warehouse")
    if engine == "duckdb":
        url = f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    else:
        url = fresh_database(clean.warehouse.url, "killed_" + re.sub(r"\W+", "_", point))
    env = warehouse_env(tmp_path, url, demo_landing)
    env.update({k: v for k, v in clean.env.items() if k.startswith("SOURCES__")})
    marker, delay = KILL_POINTS[point]
    returncode, lines = run_interrupted(marker, killed_after(delay), env)
    assert returncode == -signal.SIGKILL, "\n".join(lines[-20:])

    recovery = subprocess.run(
        [CHATSALES, "run"], env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=1200
    )
    assert recovery.returncode == 0, recovery.stdout[-3000:] + recovery.stderr[-3000:]
    assert "A killed run" in recovery.stdout  # its pool slot was freed, not waited for
    ours = Warehouse(env["CHATSALES_WAREHOUSE"])
    assert differing_rows(ours, clean.warehouse) == {}
