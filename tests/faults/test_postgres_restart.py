"""PostgreSQL stopped and started again while `chatsales run` builds the models on it (an
administrator's restart, a failover): the run fails and says the server went away, and the
next plain run completes, its marts equal to the session's clean PostgreSQL run."""

from __future__ import annotations

import os

import pytest

from chatsales.core.settings import Warehouse

from ..support.cli import run_cli_ok, warehouse_env
from ..support.interrupted_runs import run_interrupted
from ..support.postgres_server import PostgresServer
from ..support.same_marts import differing_rows

pytestmark = [pytest.mark.warehouse, pytest.mark.postgres, pytest.mark.faults]


@pytest.fixture
def own_server():
    """A server of this test's own, which it may stop."""
    if os.environ.get("TEST_PG_URL"):
        pytest.skip("stops its own PostgreSQL server: runs only with the tests' own binaries")
    server = PostgresServer()
    server.start()
    yield server
    server.remove()


def test_a_run_cut_off_by_a_restart_fails_clearly_and_the_next_run_completes(
    own_server, postgres_warehouse, demo_landing, tmp_path
):
    env = warehouse_env(tmp_path, own_server.url, demo_landing)
    env.update({k: v for k, v in postgres_warehouse.env.items() if k.startswith("SOURCES__")})

    def restart(_) -> None:
        own_server.stop("fast")  # ends every session, as `systemctl restart postgresql` does
        own_server.start()

    returncode, lines = run_interrupted("✓ intermediate/int_messages", restart, env)
    output = "\n".join(lines)
    assert returncode != 0, output[-3000:]
    assert "The run failed" in output
    failures = output[output.index("The run failed") :]
    assert "lost the warehouse connection" in failures, failures

    run_cli_ok(["run"], env)
    assert differing_rows(Warehouse(own_server.url), postgres_warehouse.warehouse) == {}
