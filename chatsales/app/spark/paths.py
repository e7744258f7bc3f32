"""Where the local Spark cluster lives: its virtualenv, Spark's home inside it, the state
folders (warehouse, metastore, logs, pid files) and its loopback ports."""

from __future__ import annotations

from pathlib import Path

from chatsales.core.settings import REPO_ROOT, settings, state_dir

HOST = "127.0.0.1"
WORKERS = 2
SETUP_SCRIPT = REPO_ROOT / "scripts" / "setup_spark.sh"
LOCK_FILE = REPO_ROOT / "requirements" / "spark.lock"


def spark_venv() -> Path:
    return settings().spark_venv


def spark_python() -> Path:
    return spark_venv() / "bin" / "python"


def spark_home() -> Path:
    """The pyspark package: pip's pyspark is the whole Spark (bin/, jars/, sbin/)."""
    found = sorted(spark_venv().glob("lib/python3*/site-packages/pyspark"))
    if not found:
        raise FileNotFoundError(f"no pyspark in {spark_venv()}: run scripts/setup_spark.sh")
    return found[-1]


def cluster_dir(state: Path | None = None) -> Path:
    """The cluster's folder in `state` (default: the state dir of this process's settings)."""
    return (state or state_dir()) / "spark"


def warehouse_dir(state: Path | None = None) -> Path:
    """spark.sql.warehouse.dir: the managed tables' files."""
    return cluster_dir(state) / "warehouse"


def metastore_dir() -> Path:
    """The Hive metastore (embedded Derby) that names the tables."""
    return cluster_dir() / "metastore"


def logs_dir() -> Path:
    return cluster_dir() / "logs"


def pid_path(name: str) -> Path:
    return cluster_dir() / "pids" / f"{name}.pid"


def master_url() -> str:
    return f"spark://{HOST}:{settings().spark_master_port}"


def thrift_port() -> int:
    return settings().spark_thrift_port


def warehouse_url() -> str:
    """The CHATSALES_WAREHOUSE value of this cluster: its Thrift server."""
    return f"spark://{HOST}:{thrift_port()}"
