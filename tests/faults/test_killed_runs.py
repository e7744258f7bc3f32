"""`chatsales run` killed with SIGKILL (its whole process group, as a crash or a lost machine
would) at several points, then one plain `chatsales run` on the same landing folder: it must
finish with no manual step, and its marts must equal those of the session's clean run of the
same landing (EXCEPT ALL both ways), so nothing that landed is missing or counted twice.

On DuckDB, the engine whose files a kill can leave half-written; each case costs a killed run
and a full one."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest

from ..support.cli import CHATSALES, warehouse_env
from ..support.mart_diff import differing_rows
from ..support.paths import REPO_ROOT

pytestmark = [pytest.mark.warehouse, pytest.mark.faults]

# the progress line at which the run is killed, and how long after it
KILL_POINTS = {
    "during the webhooks' dlt load": ("▶ wazzup_raw", 0.5),
    "during the dbt message models": ("✓ intermediate/int_messages", 0.0),
    "during the marts": ("✓ marts/mart_manager_metrics", 0.0),
    "during the serving publish": ("▶ serving__superset_duckdb", 0.1),
}


def run_killed_at(marker: str, delay: float, env: dict[str, str]) -> list[str]:
    """Start `chatsales run`, SIGKILL its process group once `marker` is printed; its lines."""
    process = subprocess.Popen(
        [CHATSALES, "run"], env={**env, "PYTHONUNBUFFERED": "1"}, cwd=REPO_ROOT,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    lines = []
    try:
        for line in process.stdout:
            lines.append(line.rstrip("\n"))
            if marker in line:
                time.sleep(delay)
                os.killpg(process.pid, signal.SIGKILL)
                break
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL, "\n".join(lines[-20:])
    return lines


@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_a_plain_run_recovers_from_a_kill(point, duckdb_warehouse, demo_landing, tmp_path):
    env = warehouse_env(tmp_path, f"duckdb:///{tmp_path / 'warehouse.duckdb'}", demo_landing)
    env.update({k: v for k, v in duckdb_warehouse.env.items() if k.startswith("SOURCES__")})
    marker, delay = KILL_POINTS[point]
    run_killed_at(marker, delay, env)

    recovery = subprocess.run(
        [CHATSALES, "run"], env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=1200
    )
    assert recovery.returncode == 0, recovery.stdout[-3000:] + recovery.stderr[-3000:]
    assert "A killed run" in recovery.stdout  # its pool slot was freed, not waited for
    clean = duckdb_warehouse.warehouse.duckdb_path
    assert differing_rows(str(tmp_path / "warehouse.duckdb"), str(clean)) == {}
