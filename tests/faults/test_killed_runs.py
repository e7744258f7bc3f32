"""`chatsales run` cut short again and again, then one plain `chatsales run` on the same landing
folder: it must finish with no manual step, and its marts must equal those of the session's
clean run of the same landing (EXCEPT ALL both ways), so nothing that landed is missing or
counted twice.

Each run is cut at a later point than the one before, so every run after the first also
recovers from the one before it and must get past that point:
- DuckDB, the engine whose files a kill can leave half-written: `chatsales run` killed with
  SIGKILL (its whole process group, as a crash or a lost machine would) during the webhooks'
  dlt load, then during the marts, then during the serving publish.
- PostgreSQL, a server of the test's own: killed during the load; then the server restarted
  under the message models (an administrator's restart, a failover), which must fail the run
  saying the server went away; then killed during the marts."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable

import pytest

from chatsales.core.settings import Warehouse

from ..support.cli import run_cli_ok
from ..support.interrupted_runs import run_interrupted
from ..support.postgres_server import PostgresServer
from ..support.same_marts import differing_rows

pytestmark = [pytest.mark.warehouse, pytest.mark.faults]

RECOVERED = "A killed run"  # the next run freed the dead run's pool slot, not waited for it


def killed_after(delay: float) -> Callable[[subprocess.Popen], None]:
    def kill(process: subprocess.Popen) -> None:
        time.sleep(delay)
        os.killpg(process.pid, signal.SIGKILL)

    return kill


def killed_at(marker: str, delay: float, env: dict[str, str], after_a_kill: bool) -> None:
    returncode, lines = run_interrupted(marker, killed_after(delay), env)
    printed = "\n".join(lines)
    assert returncode == -signal.SIGKILL, printed[-3000:]
    assert not after_a_kill or RECOVERED in printed, printed[-3000:]


def test_duckdb_runs_killed_three_times_then_a_plain_run(duckdb_warehouse, demo_landing, tmp_path):
    env = duckdb_warehouse.env_for(
        tmp_path, f"duckdb:///{tmp_path / 'warehouse.duckdb'}", demo_landing
    )
    killed_at("▶ wazzup_raw", 0.5, env, after_a_kill=False)  # the webhooks' dlt load
    killed_at("✓ marts/mart_manager_metrics", 0.0, env, after_a_kill=True)
    killed_at("▶ serving__superset_duckdb", 0.1, env, after_a_kill=True)

    recovery = run_cli_ok(["run"], env)
    assert RECOVERED in recovery.stdout
    assert differing_rows(Warehouse(env["CHATSALES_WAREHOUSE"]), duckdb_warehouse.warehouse) == {}


@pytest.fixture
def own_server():
    """A server of this test's own, which it may stop."""
    if os.environ.get("TEST_PG_URL"):
        pytest.skip("stops its own PostgreSQL server: runs only with the tests' own binaries")
    server = PostgresServer()
    server.start()
    yield server
    server.remove()


@pytest.mark.postgres
def test_postgres_killed_restarted_and_killed_then_a_plain_run(
    own_server, postgres_warehouse, demo_landing, tmp_path
):
    env = postgres_warehouse.env_for(tmp_path, own_server.url, demo_landing)
    killed_at("▶ wazzup_raw", 0.5, env, after_a_kill=False)

    def restart(_) -> None:
        own_server.stop("fast")  # ends every session, as `systemctl restart postgresql` does
        own_server.start()

    returncode, lines = run_interrupted("✓ intermediate/int_messages", restart, env)
    printed = "\n".join(lines)
    assert returncode == 1, printed[-3000:]
    assert RECOVERED in printed, printed[-3000:]
    failures = printed[printed.index("The run failed") :]
    assert "lost the warehouse connection (is the server up?)" in failures, failures

    killed_at("✓ marts/mart_manager_metrics", 0.0, env, after_a_kill=False)
    recovery = run_cli_ok(["run"], env)
    assert RECOVERED in recovery.stdout
    assert differing_rows(Warehouse(own_server.url), postgres_warehouse.warehouse) == {}
