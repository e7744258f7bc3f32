"""`chatsales spark start|stop|status`."""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import time

from . import cluster
from .paths import LOCK_FILE, SETUP_SCRIPT, cluster_dir, logs_dir, spark_venv, warehouse_url


def environment_installed() -> bool:
    """Whether .venv-spark holds what requirements/spark.lock pins (its stamp is the lock's
    hash)."""
    stamp = spark_venv() / ".chatsales-lock.sha256"
    want = hashlib.sha256(LOCK_FILE.read_bytes()).hexdigest()
    return stamp.exists() and stamp.read_text().strip() == want


def ensure_environment() -> None:
    """Install .venv-spark from requirements/spark.lock unless it is installed already."""
    if environment_installed():
        return
    print(f"First use: installing the Spark environment into {spark_venv()} "
          "(pyspark, dbt-spark; ~650 MB, 1-2 min)…", flush=True)  # fmt: skip
    started = time.monotonic()
    env = {**os.environ, "CHATSALES_SPARK_VENV": str(spark_venv())}
    subprocess.run(["bash", str(SETUP_SCRIPT)], check=True, env=env)
    print(f"✓ Spark environment installed in {time.monotonic() - started:.0f}s", flush=True)


def cmd_start(args: argparse.Namespace) -> int:
    ensure_environment()
    started = time.monotonic()
    print(f"Starting Spark (master, 2 workers, Thrift server) in {cluster_dir()}…", flush=True)
    try:
        pids = cluster.start(timeout=args.timeout)
    except (RuntimeError, TimeoutError) as exc:
        print(f"✗ {exc}")
        return 1
    processes = ", ".join(f"{name} {pid}" for name, pid in pids.items())
    seconds = time.monotonic() - started
    print(f"✓ {processes} (answers `select 1` after {seconds:.0f}s; logs {logs_dir()})")
    print(f"CHATSALES_WAREHOUSE={warehouse_url()}")
    return 0


def cmd_stop(args: argparse.Namespace) -> int:
    stopped = cluster.stop()
    print(f"Stopped: {', '.join(stopped)}" if stopped else "Spark was not running")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    pids = cluster.status()
    for name, pid in pids.items():
        print(f"  {name:<9} {'pid ' + str(pid) if pid else 'not running'}")
    up = all(pids.values())
    print(f"Spark is running: CHATSALES_WAREHOUSE={warehouse_url()}" if up else "Spark is down")
    return 0 if up else 1


def add_parser(commands: argparse._SubParsersAction) -> None:
    spark = commands.add_parser(
        "spark", help="a local Spark cluster (master, 2 workers, Thrift server) on 127.0.0.1"
    )
    actions = spark.add_subparsers(dest="action", required=True)
    start = actions.add_parser("start", help="start it; the last line is its CHATSALES_WAREHOUSE")
    start.add_argument("--timeout", type=float, default=180, help="seconds to wait for Thrift")
    start.set_defaults(handler=cmd_start)
    actions.add_parser("stop", help="stop it").set_defaults(handler=cmd_stop)
    status = actions.add_parser("status", help="its processes (exit code 1 when down)")
    status.set_defaults(handler=cmd_status)
