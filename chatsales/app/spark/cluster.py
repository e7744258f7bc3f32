"""Start, watch and stop the local standalone cluster: one master, two workers (one core
each) and the Thrift server, whose driver runs its queries on the workers. Each is a JVM
in its own session with a pid file; everything listens on 127.0.0.1 only."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from chatsales.app.daemons import stop_daemon
from chatsales.core.settings import settings

from . import hive_stubs, thrift
from .paths import (
    HOST,
    WORKERS,
    cluster_dir,
    logs_dir,
    master_url,
    metastore_dir,
    pid_path,
    spark_home,
    thrift_port,
    warehouse_dir,
)

MASTER_CLASS = "org.apache.spark.deploy.master.Master"
WORKER_CLASS = "org.apache.spark.deploy.worker.Worker"
THRIFT_CLASS = "org.apache.spark.sql.hive.thriftserver.HiveThriftServer2"
# the master's and workers' own JVMs only schedule: a small heap each
DAEMON_MEMORY = "256m"


@dataclass(frozen=True)
class Daemon:
    name: str
    command: list[str]
    main_class: str  # in its command line: a pid file's process is still this daemon
    # the JVM's heap: spark-class gives SPARK_DAEMON_MEMORY to the master, the workers and
    # (before --driver-memory) the Thrift server
    memory: str = DAEMON_MEMORY


def daemons() -> list[Daemon]:
    """The cluster's processes, in start order."""
    config = settings()
    bin_dir = spark_home() / "bin"
    master = Daemon(
        "master",
        [str(bin_dir / "spark-class"), MASTER_CLASS, "--host", HOST,
         "--port", str(config.spark_master_port),
         "--webui-port", str(config.spark_master_ui_port)],
        MASTER_CLASS,
    )  # fmt: skip
    workers = [
        Daemon(
            f"worker-{n}",
            [
                str(bin_dir / "spark-class"),
                WORKER_CLASS,
                "--host",
                HOST,
                "--cores",
                "1",
                "--memory",
                config.spark_worker_memory,
                "--webui-port",
                "0",
                "--work-dir",
                str(cluster_dir() / "work" / str(n)),
                master_url(),
            ],
            WORKER_CLASS,
        )  # fmt: skip
        for n in range(1, WORKERS + 1)
    ]
    return [master, *workers, thrift_daemon()]


def thrift_daemon() -> Daemon:
    config = settings()
    metastore = metastore_dir()
    jdbc = f"jdbc:derby:;databaseName={metastore / 'metastore_db'};create=true"
    conf = {
        "spark.driver.host": HOST,
        "spark.driver.bindAddress": HOST,
        "spark.executor.memory": config.spark_worker_memory,
        "spark.executor.cores": "1",
        "spark.cores.max": str(WORKERS),
        "spark.sql.warehouse.dir": str(warehouse_dir()),
        # timestamps read and shown in UTC, as the raw files hold them, whatever the host's zone
        "spark.sql.session.timeZone": "UTC",
        "spark.ui.enabled": "false",
        # the embedded Derby metastore and Hive's scratch and resource folders under the state
        # dir, not in the working directory, /tmp/hive and a /tmp/<session>_resources a start
        "spark.hadoop.javax.jdo.option.ConnectionURL": jdbc,
        "spark.hadoop.hive.exec.scratchdir": str(cluster_dir() / "scratch"),
        "spark.hadoop.hive.exec.local.scratchdir": str(cluster_dir() / "scratch-local"),
        # a folder per session, as Hive's default has it: a closing session deletes its own
        "spark.hadoop.hive.downloaded.resources.dir": str(
            cluster_dir() / "resources" / "${hive.session.id}_resources"
        ),
        "spark.driver.extraJavaOptions": f"-Dderby.system.home={metastore}",
        # the Hive class pyspark's jars lack, without which a session close fails now and then
        "spark.driver.extraClassPath": str(hive_stubs.classes_dir()),
        # a shuffle partition per executor core, not 200: a build's statements are small, and
        # each task more is driver time (the slice's incremental mart_manager_metrics: 4
        # partitions 10–27 s, 2 partitions 8–12 s)
        "spark.sql.shuffle.partitions": str(WORKERS),
        # adaptive execution re-plans each query stage by stage: worth it on big skewed
        # shuffles, driver time on a build's ~1,000 small statements (the test slice's first
        # run: 403 → 338 s, the driver's CPU 383 → 279 s)
        "spark.sql.adaptive.enabled": "false",
        # a partitioned table's folders are listed by the driver, as the disk is local: past
        # 32 folders (the default) Spark lists them in a job of a task per folder, and the
        # slice's builds ran 259 such jobs, 80 % of all their tasks
        "spark.sql.sources.parallelPartitionDiscovery.threshold": "100000",
        # the driver keeps each statement's plan for a UI: the big marts' plans are huge
        "spark.sql.ui.retainedExecutions": "20",
        "spark.sql.thriftServer.ui.retainedStatements": "20",
        "spark.sql.thriftServer.ui.retainedSessions": "20",
    }
    command = [
        str(spark_home() / "bin" / "spark-submit"), "--class", THRIFT_CLASS,
        "--name", "chatsales-thrift", "--master", master_url(),
        "--driver-memory", config.spark_driver_memory,
    ]  # fmt: skip
    for key, value in conf.items():
        command += ["--conf", f"{key}={value}"]
    command += [
        "--hiveconf", f"hive.server2.thrift.port={thrift_port()}",
        "--hiveconf", f"hive.server2.thrift.bind.host={HOST}",
        # no log file per statement in /tmp/<user>/operation_logs, each removed by an `rm -rf`
        # process when its statement closes (~800 in the test slice's two builds)
        "--hiveconf", "hive.server2.logging.operation.enabled=false",
        # statements run on 8 threads kept alive, not on a new thread each (the pool's default
        # is 100 threads, each ended after 10 s idle): a thread's first metastore call builds
        # its own metastore handler and Derby connection (the slice's first run, two pairs:
        # 336 → 255 s and 412 → 392 s, the driver's CPU 297 → 204 s and 368 → 331 s)
        "--hiveconf", "hive.server2.async.exec.threads=8",
        "--hiveconf", "hive.server2.async.exec.keepalive.time=86400",
        "spark-internal",
    ]  # fmt: skip
    return Daemon("thrift", command, THRIFT_CLASS, config.spark_driver_memory)


def spark_env(daemon: Daemon) -> dict[str, str]:
    return {
        **os.environ,
        "SPARK_HOME": str(spark_home()),
        "SPARK_LOCAL_IP": HOST,
        "SPARK_DAEMON_MEMORY": daemon.memory,
        "SPARK_LOG_DIR": str(logs_dir()),
        "SPARK_CONF_DIR": str(cluster_dir() / "conf"),
    }


def running_pid(daemon: Daemon) -> int | None:
    """The pid in the daemon's pid file if that process is still this daemon."""
    with contextlib.suppress(FileNotFoundError, ValueError):
        pid = int(pid_path(daemon.name).read_text())
        if daemon.main_class.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
            return pid
    return None


def launch(daemon: Daemon) -> int:
    """Start the daemon in its own session, its output in logs/<name>.log; its pid."""
    for folder in (logs_dir(), pid_path(daemon.name).parent, cluster_dir() / "conf"):
        folder.mkdir(parents=True, exist_ok=True)
    metastore_dir().mkdir(parents=True, exist_ok=True)
    with open(logs_dir() / f"{daemon.name}.log", "ab") as log:
        proc = subprocess.Popen(
            daemon.command,
            env=spark_env(daemon),
            cwd=cluster_dir(),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    pid_path(daemon.name).write_text(str(proc.pid))
    return proc.pid


def port_open(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=1):
        return True
    return False


def alive(pid: int) -> bool:
    """Whether the process runs (reaped first if this process started it). Not its command
    line: while spark-class execs java, /proc/<pid>/cmdline can read empty for a moment."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def wait_until(ready, what: str, daemon: Daemon, pid: int, timeout: float) -> None:
    """Poll `ready()` until true; fail early if the daemon's process is gone."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return
        if not alive(pid):
            log = logs_dir() / f"{daemon.name}.log"
            lines = log.read_text(errors="replace").strip().splitlines() if log.exists() else []
            last = lines[-1] if lines else "no output"
            raise RuntimeError(f"{daemon.name} exited before {what} ({last}); see {log}")
        time.sleep(0.5)
    raise TimeoutError(f"{what}: not after {timeout:.0f}s; see {logs_dir()}")


def start(timeout: float = 180) -> dict[str, int]:
    """Start whatever is not running, wait until the Thrift server answers `select 1`;
    {name: pid}."""
    hive_stubs.compile_if_changed()  # the Thrift server's driver loads them
    pids = {}
    master_port = settings().spark_master_port
    for daemon in daemons():
        pids[daemon.name] = running_pid(daemon) or launch(daemon)
        if daemon.name == "master":  # workers and the driver register with it
            up = lambda: port_open(master_port)  # noqa: E731
            wait_until(up, f"the master on port {master_port}", daemon, pids["master"], timeout)
    server, pid = daemons()[-1], pids["thrift"]
    wait_until(lambda: port_open(thrift_port()), "the Thrift port", server, pid, timeout)
    wait_until(thrift.answers, "select 1 through Thrift", server, pid, timeout)
    return pids


def status() -> dict[str, int | None]:
    """{name: pid, or None when not running}."""
    return {daemon.name: running_pid(daemon) for daemon in daemons()}


def stop(timeout: float = 30) -> list[str]:
    """SIGTERM the Thrift server, then the workers, then the master; SIGKILL a daemon's group
    if it lingers. The names it stopped."""
    stopped = []
    for daemon in reversed(daemons()):
        pid = running_pid(daemon)
        if pid is not None:
            stop_daemon(pid, timeout)
            stopped.append(daemon.name)
        pid_path(daemon.name).unlink(missing_ok=True)
    return stopped
