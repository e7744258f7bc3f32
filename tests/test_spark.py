"""The local Spark cluster: `chatsales spark start|status|stop` on free loopback ports and a
state dir of its own (needs .venv-spark: scripts/setup_spark.sh, and Java 17)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from chatsales.app.spark import cluster, thrift
from chatsales.app.spark.paths import spark_python
from chatsales.core.settings import REPO_ROOT

from .support.postgres_server import free_port

pytestmark = [
    pytest.mark.spark,
    pytest.mark.skipif(shutil.which("java") is None, reason="Spark needs Java 17"),
]


@pytest.fixture
def spark_env(monkeypatch):
    if not spark_python().exists():
        pytest.skip("no .venv-spark: run scripts/setup_spark.sh")
    # not under pytest's basetemp, which a concurrent pytest session may prune under the JVMs
    state = Path(tempfile.mkdtemp(prefix="chatsales-spark-test-"))
    env = {
        "CHATSALES_STATE_DIR": str(state),
        "CHATSALES_SPARK_THRIFT_PORT": str(free_port()),
        "CHATSALES_SPARK_MASTER_PORT": str(free_port()),
        "CHATSALES_SPARK_MASTER_UI_PORT": str(free_port()),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    yield env
    cluster.stop()  # whatever a failed assertion left running
    shutil.rmtree(state, ignore_errors=True)


def chatsales(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "chatsales.app.cli", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_start_status_stop(spark_env):
    started = chatsales("spark", "start")
    assert started.returncode == 0, started.stdout + started.stderr
    port = spark_env["CHATSALES_SPARK_THRIFT_PORT"]
    assert (
        started.stdout.strip().splitlines()[-1] == f"CHATSALES_WAREHOUSE=spark://127.0.0.1:{port}"
    )

    status = chatsales("spark", "status")
    assert status.returncode == 0, status.stdout
    assert set(cluster.status()) == {"master", "worker-1", "worker-2", "thrift"}
    # the query runs on the workers' executors, not only in the Thrift server's driver
    assert thrift.run_sql(["select count(*) from range(1000)"]) == [[1000]]
    assert chatsales("spark", "start").stdout.strip().splitlines()[-1].endswith(port)

    stopped = chatsales("spark", "stop")
    assert stopped.returncode == 0
    assert not any(cluster.status().values())
    assert chatsales("spark", "status").returncode == 1
    assert not thrift.answers()
    assert java_processes_under(spark_env["CHATSALES_STATE_DIR"]) == []  # executors too


def java_processes_under(folder: str) -> list[int]:
    """The pids of processes whose command line names `folder` (the cluster's JVMs)."""
    pids = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if folder.encode() in (proc / "cmdline").read_bytes():
                pids.append(int(proc.name))
        except OSError:
            continue
    return pids
