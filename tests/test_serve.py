"""`chatsales serve` on the DuckDB warehouse built by `chatsales run`: started once for the
module on free ports, its four components answer; the receiver, killed with SIGKILL, is back
within seconds and loses no acknowledged webhook; SIGTERM stops the whole tree in order (the
receiver's open file published, no process left, exit code 0), and no secret reaches the log.
Before them, the back-off policy, the log prefixing and one supervised child on its own."""

from __future__ import annotations

import io
import itertools
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from chatsales.app.serve.logs import LogSink, Redactor, prefixed
from chatsales.app.serve.processes import marked
from chatsales.app.serve.supervisor import Backoff, ChildSpec, SupervisedChild
from chatsales.core.settings import serving_duckdb_path
from orchestration.dbt_manifest import FINGERPRINT

from .support.cli import CHATSALES, run_cli_ok, warehouse_env
from .support.paths import REPO_ROOT
from .support.postgres_server import free_port
from .support.superset_server import require_superset_venv

TOKEN = "serve-test-webhook-token-0123456789"
API_KEY = "serve-test-wazzup-api-key-9876543210"
COMPONENTS = ("receiver", "daemon", "webserver", "superset")
STARTUP_SECONDS = 300
LAUNCH_RUN = """mutation($params: ExecutionParams!) { launchRun(executionParams: $params) {
  __typename ... on LaunchRunSuccess { run { runId } } ... on Error { message } } }"""
RUN_STATUS = """query($id: ID!) { runOrError(runId: $id) { ... on Run { status } } }"""
LOCATION = "orchestration.definitions:defs"
TERMINAL = {"SUCCESS", "FAILURE", "CANCELED"}
DAEMON_HEALTH = (
    "{ instance { daemonHealth { allDaemonStatuses { daemonType required healthy } } } }"
)


# --- the policy and the plumbing, in milliseconds ---------------------------------------


@pytest.mark.unit
def test_backoff_doubles_up_to_its_cap():
    backoff = Backoff(initial=1, factor=2, cap=10, reset_after=60)
    assert [backoff.delay(n) for n in range(1, 7)] == [1, 2, 4, 8, 10, 10]


@pytest.mark.unit
def test_backoff_starts_over_after_a_healthy_while():
    backoff = Backoff(initial=1, factor=2, cap=10, reset_after=60)
    assert backoff.failures_after(3, healthy_for=5) == 4  # crashing again soon: longer wait
    assert backoff.failures_after(3, healthy_for=0) == 4  # never healthy: longer wait
    assert backoff.failures_after(3, healthy_for=60) == 1  # healthy a minute: from the start


@pytest.mark.unit
def test_log_lines_are_prefixed_uncoloured_and_secrets_replaced(tmp_path):
    stream = io.StringIO()
    sink = LogSink(tmp_path / "logs" / "serve.log", Redactor([TOKEN, "", "abc", None]), 9, stream)
    sink.write("receiver", f"POST /wazzup/{TOKEN} answered\n")
    sink.write("superset", "abc stays: too short to be a secret\r\n")
    sink.write("daemon", "\x1b[32m2026-12-04\x1b[0m - dagster.daemon - \x1b[34mINFO\x1b[0m\n")
    sink.close()
    expected = (
        "receiver  | POST /wazzup/*** answered\n"
        "superset  | abc stays: too short to be a secret\n"
        "daemon    | 2026-12-04 - dagster.daemon - INFO\n"
    )
    assert stream.getvalue() == expected
    assert (tmp_path / "logs" / "serve.log").read_text() == expected
    assert prefixed("daemon", "x\n", 4) == "daemon | x"


@pytest.mark.integration
def test_a_supervised_child_is_restarted_and_its_whole_tree_stopped(tmp_path):
    """A child that forks a grandchild into a session of its own, then exits: restarted after
    the back-off; stop() ends the grandchildren too, found by the marker they inherit."""
    script = (
        "import subprocess, sys; "
        "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'], "
        "start_new_session=True); print('up', flush=True); sys.exit(3)"
    )
    spec = ChildSpec(
        "flaky", [sys.executable, "-c", script], dict(os.environ), tmp_path,
        healthy=lambda _: False, check_every=0.05, backoff=Backoff(initial=0.2, cap=0.4),
    )  # fmt: skip
    stream = io.StringIO()
    child = SupervisedChild(spec, LogSink(None, Redactor([]), 9, stream))
    child.start()
    deadline = time.monotonic() + 20
    while child.restarts < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    child.stop()
    log = stream.getvalue()
    assert child.restarts >= 2, log
    assert "flaky: exited with code 3: restart 1 in 0s" in log
    assert "flaky     | up" in log
    assert marked(child.marker) == []


@pytest.mark.integration
def test_a_child_that_stops_answering_is_restarted(tmp_path):
    answering = threading.Event()
    answering.set()
    spec = ChildSpec(
        "mute", [sys.executable, "-c", "import time; time.sleep(60)"], dict(os.environ),
        tmp_path, healthy=lambda _: answering.is_set(), check_every=0.05, failed_checks=3,
        backoff=Backoff(initial=0.1),
    )  # fmt: skip
    stream = io.StringIO()
    child = SupervisedChild(spec, LogSink(None, Redactor([]), 9, stream))
    child.start()
    wait_for(lambda: child.is_healthy, 20, "a healthy child")
    first = child.process
    answering.clear()
    wait_for(lambda: child.restarts == 1, 20, "a restart")
    answering.set()
    wait_for(lambda: child.is_healthy, 20, "a healthy child again")
    child.stop()
    assert first.returncode == -signal.SIGTERM  # ended politely, the group first
    assert "mute: no answer to 3 health checks: restart 1 in 0s" in stream.getvalue()
    assert marked(child.marker) == []


@pytest.mark.integration
@pytest.mark.dagster
def test_runs_left_unfinished_are_marked_canceled_unless_their_runner_lives(tmp_path):
    """The backstop after the daemon and webserver stopped: a run their workers left started
    gets a terminal record; one a live `chatsales run` is running is not serve's to end."""
    from dagster import DagsterInstance, DagsterRunStatus
    from dagster._core.storage.dagster_run import DagsterRun

    from chatsales.app.serve.runs import cancel_runs_left_unfinished
    from orchestration.recovery import runner_tags

    since = time.time() - 1
    with DagsterInstance.from_config(str(tmp_path)) as instance:
        left, live, done = (
            instance.add_run(DagsterRun(job_name="ingestion_job", status=status, tags=tags))
            for status, tags in [
                (DagsterRunStatus.STARTED, {}),
                (DagsterRunStatus.STARTED, runner_tags()),  # this process: alive
                (DagsterRunStatus.SUCCESS, {}),
            ]
        )
    assert cancel_runs_left_unfinished(tmp_path, since) == [left.run_id]
    with DagsterInstance.from_config(str(tmp_path)) as instance:
        statuses = [instance.get_run_by_id(run.run_id).status for run in (left, live, done)]
    assert statuses == [
        DagsterRunStatus.CANCELED,
        DagsterRunStatus.STARTED,
        DagsterRunStatus.SUCCESS,
    ]


# --- the real thing --------------------------------------------------------------------


@dataclass
class Served:
    process: subprocess.Popen
    env: dict[str, str]
    output: Path
    landing: Path
    receiver_port: int
    dagster_url: str
    superset_url: str
    superset_home: Path
    started_in: float
    acknowledged: list[str]

    def log(self) -> str:
        return self.output.read_text(errors="replace")

    def log_file(self) -> str:
        return (Path(self.env["CHATSALES_STATE_DIR"]) / "logs" / "serve.log").read_text()

    def post(self, message_id: str, timeout: float = 10) -> int:
        """POST one webhook; its id is remembered if the receiver acknowledged it."""
        body = {"messages": [{"messageId": message_id, "text": "serve test"}]}
        url = f"http://127.0.0.1:{self.receiver_port}/wazzup/{TOKEN}"
        try:
            status = requests.post(url, json=body, timeout=timeout).status_code
        except requests.ConnectionError:
            return 0
        if status == 200:
            self.acknowledged.append(message_id)
        return status

    def landed(self, pattern: str = "*.jsonl") -> set[str]:
        folder = self.landing / "wazzup"
        files = [*folder.glob(pattern), *(folder / ".incoming").glob(pattern)]
        lines = [line for path in files for line in path.read_text().splitlines() if line]
        return {m["messageId"] for line in lines for m in json.loads(line).get("messages", [])}

    def graphql(self, query: str, variables: dict) -> dict:
        answer = requests.post(f"{self.dagster_url}/graphql", timeout=60,
                               json={"query": query, "variables": variables})  # fmt: skip
        assert not answer.json().get("errors"), answer.text[:2000]
        return answer.json()["data"]

    def launch_run(self, job: str) -> str:
        selector = {"repositoryLocationName": LOCATION, "repositoryName": "__repository__",
                    "jobName": job}  # fmt: skip
        launched = self.graphql(LAUNCH_RUN, {"params": {"selector": selector}})["launchRun"]
        assert launched["__typename"] == "LaunchRunSuccess", launched
        return launched["run"]["runId"]

    def run_status(self, run_id: str) -> str:
        return self.graphql(RUN_STATUS, {"id": run_id})["runOrError"]["status"]

    def pid_of(self, component: str) -> int:
        return int(re.findall(rf"serve +\| {component}: started \(pid (\d+)\)", self.log())[-1])


def tree_of(served: Served) -> list[str]:
    """Processes of serve's tree, found without serve's own code: a session one of its
    children started (each child leads one), or serve's pid in the environment marker."""
    sessions = {served.process.pid, *map(int, re.findall(r"started \(pid (\d+)\)", served.log()))}
    marker = f"CHATSALES_SERVE_TREE={served.process.pid}:".encode()
    found = []
    for entry in (e for e in Path("/proc").iterdir() if e.name.isdigit()):
        try:
            stat = (entry / "stat").read_text()
            environ = (entry / "environ").read_bytes()
        except OSError:  # gone, or not ours to read
            continue
        state, _ppid, _pgid, sid = stat.rsplit(")", 1)[1].split()[:4]
        if state != "Z" and (int(sid) in sessions or marker in environ):
            found.append(f"{entry.name}: {(entry / 'cmdline').read_bytes()[:200]!r}")
    return found


def wait_for(condition, timeout: float, what: str, served: Served | None = None) -> float:
    started = time.monotonic()
    while not condition():
        if served is not None and served.process.poll() is not None:
            pytest.fail(f"serve exited ({served.process.returncode}) while waiting for {what}")
        if time.monotonic() - started > timeout:
            tail = served.log()[-6000:] if served else ""
            pytest.fail(f"no {what} after {timeout:.0f}s\n{tail}")
        time.sleep(0.25)
    return time.monotonic() - started


@pytest.fixture(scope="module")
def served(duckdb_warehouse, tmp_path_factory):
    """`chatsales serve` on free ports (Superset set up first, as an operator does) until the
    SIGTERM test stops it."""
    require_superset_venv()
    tmp = tmp_path_factory.mktemp("serve")
    # Runs launched here write a warehouse of their own; Superset shows the build's marts
    # through a copy of its serving file (replaced by rename, never written in place), and
    # the build's dbt manifest is reused (its fingerprint matches: no parse).
    env = warehouse_env(tmp, f"duckdb:///{tmp / 'warehouse.duckdb'}", tmp / "landing")
    shutil.copy(serving_duckdb_path(duckdb_warehouse.warehouse), tmp / "warehouse.serving.duckdb")
    built_target = Path(duckdb_warehouse.env["DBT_TARGET_PATH"])
    (tmp / "dbt_target").mkdir()
    for name in ("manifest.json", FINGERPRINT):
        shutil.copy(built_target / name, tmp / "dbt_target" / name)
    env.update(
        CHATSALES_WAZZUP_WEBHOOK_TOKEN=TOKEN,
        SOURCES__WAZZUP_API__API_KEY=API_KEY,
        CHATSALES_RECEIVER_PORT=str(free_port()),
        CHATSALES_DAGSTER_UI_PORT=str(free_port()),
        CHATSALES_SUPERSET_PORT=str(free_port()),
        CHATSALES_SERVE_STOP_TIMEOUT_SECONDS="20",
    )
    setting_up = time.monotonic()
    run_cli_ok(["superset", "setup"], env)
    print(f"superset setup: {time.monotonic() - setting_up:.0f}s")
    output = tmp / "serve.out"
    with open(output, "wb") as out:
        process = subprocess.Popen(
            [CHATSALES, "serve"], env=env, cwd=REPO_ROOT, stdin=subprocess.DEVNULL,
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    served = Served(
        process, env, output, tmp / "landing", int(env["CHATSALES_RECEIVER_PORT"]),
        f"http://127.0.0.1:{env['CHATSALES_DAGSTER_UI_PORT']}",
        f"http://127.0.0.1:{env['CHATSALES_SUPERSET_PORT']}", tmp / "state" / "superset", 0.0, [],
    )  # fmt: skip
    try:
        served.started_in = wait_for(
            lambda: all(f"{name}: healthy after" in served.log() for name in COMPONENTS),
            STARTUP_SECONDS, "healthy components", served,
        )  # fmt: skip
        print(f"serve: every component healthy in {served.started_in:.0f}s")
        yield served
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(120)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        for pid in marked(f"{process.pid}:"):  # never leave a test's servers behind
            os.kill(pid, signal.SIGKILL)


@pytest.mark.warehouse
@pytest.mark.dagster
@pytest.mark.superset
def test_every_component_answers(served):
    assert served.post("answers-1") == 200
    wrong = f"http://127.0.0.1:{served.receiver_port}/wazzup/not-the-token"
    assert requests.post(wrong, json={"test": True}, timeout=10).status_code == 404

    assert requests.get(f"{served.dagster_url}/server_info", timeout=10).status_code == 200
    answer = requests.post(f"{served.dagster_url}/graphql", json={"query": DAEMON_HEALTH},
                           timeout=30).json()  # fmt: skip
    statuses = answer["data"]["instance"]["daemonHealth"]["allDaemonStatuses"]
    required = {s["daemonType"]: s["healthy"] for s in statuses if s["required"]}
    assert {"SCHEDULER", "SENSOR"} <= set(required), statuses
    assert all(required.values()), statuses

    assert requests.get(f"{served.superset_url}/health", timeout=10).status_code == 200
    stored = json.loads((served.superset_home / "credentials.json").read_text())
    login = requests.post(
        f"{served.superset_url}/api/v1/security/login",
        json={"username": "admin", "password": stored["admin_password"], "provider": "db"},
        timeout=30,
    )
    assert login.status_code == 200, login.text[:500]
    assert login.json()["access_token"]


@pytest.mark.warehouse
@pytest.mark.dagster
@pytest.mark.superset
@pytest.mark.faults
def test_a_killed_receiver_is_back_within_seconds_and_loses_nothing(served):
    for n in range(20):
        assert served.post(f"before-kill-{n}") == 200
    victim = served.pid_of("receiver")
    os.kill(victim, signal.SIGKILL)
    # every webhook sent meanwhile is either refused or acknowledged-and-stored
    attempt = itertools.count()
    back_in = wait_for(
        lambda: served.post(f"during-restart-{next(attempt)}", timeout=2) == 200,
        30, "receiver back", served,
    )  # fmt: skip
    print(f"receiver back {back_in:.1f}s after SIGKILL")
    assert served.pid_of("receiver") != victim
    assert "receiver: exited with code -9: restart 1 in 1s" in served.log()
    for n in range(20):
        assert served.post(f"after-kill-{n}") == 200
    assert back_in < 15
    # the killed receiver's file is published by the new one; the new one's is still open
    assert set(served.acknowledged) <= served.landed() | served.landed("*.jsonl.part")


@pytest.mark.warehouse
@pytest.mark.dagster
@pytest.mark.superset
def test_sigterm_stops_every_process_in_order_and_publishes(served):
    assert served.post("just-before-sigterm") == 200
    run_id = served.launch_run("ingestion_job")  # queued, then launched by the daemon
    wait_for(lambda: served.run_status(run_id) == "STARTED", 120, "the run started", served)
    assert len(tree_of(served)) >= 5, "serve's tree not found before the stop"
    stopping = time.monotonic()
    served.process.send_signal(signal.SIGTERM)
    code = served.process.wait(180)
    print(f"serve stopped in {time.monotonic() - stopping:.1f}s")
    assert code == 0, served.log()[-4000:]
    assert tree_of(served) == []
    # the receiver's open file was published: every acknowledged body in a .jsonl
    assert list((served.landing / "wazzup" / ".incoming").glob("*.part")) == []
    assert set(served.acknowledged) <= served.landed()
    log = served.log()
    stops = [log.index(f"serve     | {name}: stopped") for name in COMPONENTS]
    assert stops == sorted(stops), "not stopped receiver → daemon → webserver → superset"
    assert "serve     | stopped" in log
    from dagster import DagsterInstance

    with DagsterInstance.from_config(served.env["DAGSTER_HOME"]) as instance:
        run = instance.get_run_by_id(run_id)
    assert run.status.value in TERMINAL, f"the run in progress was left {run.status.value}"
    for name in (*COMPONENTS, "serve"):
        assert f"\n{name:<9} | " in log
    assert set(served.log_file().splitlines()) <= set(log.splitlines())
    stored = json.loads((served.superset_home / "credentials.json").read_text())
    for secret in (TOKEN, API_KEY, stored["admin_password"], stored["secret_key"]):
        assert secret not in log
