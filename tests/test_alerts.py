"""Alerts: the alert sensor posts each new anomaly once and each newly failing check, to a local
HTTP receiver in the generic JSON and the Telegram Bot API formats; the run failure sensor
names the failed step and its root cause. Real DuckDB copies, real Dagster runs and events."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import uuid
from http.server import ThreadingHTTPServer

import duckdb
import pytest
from dagster import (
    AssetCheckResult,
    DagsterEventType,
    DagsterInstance,
    DagsterRun,
    DagsterRunStatus,
    asset,
    asset_check,
    build_run_status_sensor_context,
    build_sensor_context,
    materialize,
)

from chatsales.core.settings import Settings
from chatsales.core.warehouse import query
from orchestration.notifications import AlertConfigError, alert_settings, anomaly_alert
from orchestration.resources import AlertsResource, WarehouseResource
from orchestration.sensors import alert_sensor, run_failure_summary_sensor
from orchestration.sensors.alerts import MAX_ALERTS_PER_TICK

from .support.http_replay import ReplayHandler

TOKEN = "123456:secret-bot-token"
LAST_DAY = "(select max(period_start) from marts.mart_manager_metrics where grain = 'day')"


class Receiver:
    """Records each POST (path, JSON body); answers from a queue, then 200 {"ok": true}."""

    def __init__(self):
        self.posts: list[tuple[str, dict]] = []
        self.answers: list[tuple[int, dict]] = []
        self.url = ""

    def bodies(self, event: str | None = None) -> list[dict]:
        return [body for _, body in self.posts if event is None or body.get("event") == event]


@pytest.fixture
def receiver():
    received = Receiver()

    class Handler(ReplayHandler):
        def do_POST(self):  # noqa: N802
            length = int(self.headers["Content-Length"])
            received.posts.append((self.path, json.loads(self.rfile.read(length))))
            status, answer = received.answers.pop(0) if received.answers else (200, {"ok": True})
            self._reply(status, answer)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    received.url = f"http://127.0.0.1:{server.server_port}"
    yield received
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def alert_env(monkeypatch):
    """No alert setting of the machine leaks in; each test sets its own."""
    for name in (
        "CHATSALES_ALERT_WEBHOOK_URL",
        "CHATSALES_ALERT_FORMAT",
        "CHATSALES_ALERT_KINDS",
        "CHATSALES_ALERT_GRAINS",
        "CHATSALES_ALERT_LOOKBACK_DAYS",
        "CHATSALES_ALERT_LANGUAGE",
        "CHATSALES_ALERT_CHECK_SEVERITY",
        "CHATSALES_TELEGRAM_BOT_TOKEN",
        "CHATSALES_TELEGRAM_CHAT_ID",
        "CHATSALES_TELEGRAM_API_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.fixture
def warehouse_copy(duckdb_warehouse, tmp_path, monkeypatch):
    """A copy of the built DuckDB warehouse the sensor reads (rows get added to it)."""
    path = tmp_path / "warehouse.duckdb"
    shutil.copyfile(duckdb_warehouse.warehouse.duckdb_path, path)
    monkeypatch.setenv("CHATSALES_WAREHOUSE", f"duckdb:///{path}")
    return path


@pytest.fixture
def instance(tmp_path):
    """A SQLite instance like the project's (one event file a run, an index beside them)."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    with DagsterInstance.local_temp(str(home)) as local:
        yield local


def sensor_log(capfd) -> str:
    """What the sensors logged: a sensor context's logger writes to stderr outside the daemon
    (in the daemon, to the tick's captured log), and does not propagate to pytest's caplog."""
    return capfd.readouterr().err


def tick(instance, cursor=None):
    """One evaluation of alert_sensor, as the daemon would run it: (skip message, new cursor)."""
    # the warehouse the test pointed CHATSALES_WAREHOUSE at; alert settings from the env
    warehouse = WarehouseResource.from_settings(Settings.from_environ())
    resources = {"warehouse": warehouse, "alerts": AlertsResource()}
    context = build_sensor_context(instance=instance, cursor=cursor, resources=resources)
    data = alert_sensor.evaluate_tick(context)
    assert not data.run_requests
    return data.skip_message, data.cursor


def count(path, sql: str) -> int:
    with duckdb.connect(str(path), read_only=True) as conn:
        return conn.execute(sql).fetchone()[0]


@pytest.mark.warehouse
@pytest.mark.dagster
def test_each_new_anomaly_posts_once(warehouse_copy, receiver, instance, alert_env):
    alert_env.setenv("CHATSALES_ALERT_WEBHOOK_URL", f"{receiver.url}/hooks/sales")
    expected = count(
        warehouse_copy,
        "select count(*) from marts.mart_anomalies where grain = 'month' "
        f"and period_start >= {LAST_DAY} - interval 62 day",
    )
    assert expected >= 2  # the demo's last two months hold anomalies

    message, cursor = tick(instance)
    assert len(receiver.posts) == expected, message
    assert {path for path, _ in receiver.posts} == {"/hooks/sales"}
    body = receiver.bodies()[0]
    assert body["event"] == "anomaly" and body["source"] == "chatsales"
    assert body["grain"] == "month" and body["reason_en"] in body["text"]
    assert body["kind"] in body["text"] and body["manager_id"] in body["text"]
    assert f"{expected} alert(s) sent" in message

    message, cursor = tick(instance, cursor)
    assert len(receiver.posts) == expected, "the same anomalies must not alert twice"

    with duckdb.connect(str(warehouse_copy)) as conn:
        conn.execute(
            "insert into marts.mart_anomalies (manager_id, grain, period_start, metric, value, "
            "kind, reason_ru, reason_en) select 'm01', 'month', max(period_start), "
            "'conversion_rate', 0.1, 'conversion_drop', 'Конверсия упала', 'Conversion fell "
            "from 30% to 10%' from marts.mart_anomalies where grain = 'month'"
        )
    message, cursor = tick(instance, cursor)
    assert len(receiver.posts) == expected + 1
    new = receiver.bodies()[-1]
    assert new["kind"] == "conversion_drop" and new["manager_id"] == "m01"
    assert "Conversion fell from 30% to 10%" in new["text"]
    tick(instance, cursor)
    assert len(receiver.posts) == expected + 1


@pytest.mark.warehouse
@pytest.mark.dagster
def test_kinds_grains_and_lookback_select_the_rows(warehouse_copy, receiver, instance, alert_env):
    alert_env.setenv("CHATSALES_ALERT_WEBHOOK_URL", receiver.url)
    alert_env.setenv("CHATSALES_ALERT_KINDS", "too_few_messages, slow_response, slowdown")
    alert_env.setenv("CHATSALES_ALERT_GRAINS", "day,month")
    alert_env.setenv("CHATSALES_ALERT_LOOKBACK_DAYS", "30")
    alert_env.setenv("CHATSALES_ALERT_LANGUAGE", "ru")
    selected = (
        "from marts.mart_anomalies where kind in ('too_few_messages', 'slow_response', "
        "'slowdown') and grain in ('day', 'month') "
        f"and period_start >= {LAST_DAY} - interval 30 day"
    )
    expected = count(warehouse_copy, f"select count(*) {selected}")
    day_rows = count(warehouse_copy, f"select count(*) {selected} and grain = 'day'")
    assert expected >= 1
    tick(instance)
    bodies = receiver.bodies("anomaly")
    assert len(bodies) == expected
    assert sum(b["grain"] == "day" for b in bodies) == day_rows
    assert {b["kind"] for b in bodies} <= {"too_few_messages", "slow_response", "slowdown"}
    assert all(b["reason_ru"] in b["text"] for b in bodies)


@pytest.mark.warehouse
@pytest.mark.dagster
def test_telegram_format_and_refusals_are_retried(
    warehouse_copy, receiver, instance, alert_env, capfd
):
    alert_env.setenv("CHATSALES_ALERT_FORMAT", "telegram")
    alert_env.setenv("CHATSALES_TELEGRAM_BOT_TOKEN", TOKEN)
    alert_env.setenv("CHATSALES_TELEGRAM_CHAT_ID", "-1001234")
    alert_env.setenv("CHATSALES_TELEGRAM_API_URL", receiver.url)
    # Telegram refuses with 400 and {"ok": false}; a 200 with ok false is a refusal too.
    receiver.answers = [
        (400, {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}),
        (200, {"ok": False, "description": "Too Many Requests: retry after 5"}),
    ]
    message, cursor = tick(instance)
    assert len(receiver.posts) == 1 and "not delivered" in message
    assert json.loads(cursor)["sent_anomalies"] == []
    message, cursor = tick(instance, cursor)
    assert len(receiver.posts) == 2 and json.loads(cursor)["sent_anomalies"] == []
    message, cursor = tick(instance, cursor)
    log = sensor_log(capfd)
    assert "chat not found" in log and "Too Many Requests" in log
    assert TOKEN not in log and TOKEN not in message

    delivered = receiver.posts[2:]
    assert len(delivered) == len(json.loads(cursor)["sent_anomalies"]) >= 2
    assert delivered[0][1]["text"] == receiver.posts[0][1]["text"], "the refused one is retried"
    for path, body in delivered:
        assert path == f"/bot{TOKEN}/sendMessage"
        assert set(body) == {"chat_id", "text", "disable_web_page_preview"}
        assert body["chat_id"] == "-1001234" and body["disable_web_page_preview"] is True
    tick(instance, cursor)
    assert len(receiver.posts) == 2 + len(delivered)


@pytest.mark.warehouse
@pytest.mark.dagster
def test_without_a_url_alerts_are_logged_only(warehouse_copy, receiver, instance, capfd):
    message, cursor = tick(instance)
    assert receiver.posts == []
    assert "written to the log (no webhook configured)" in message
    log = sensor_log(capfd)
    assert "Alert (log only" in log and "messages per dialog" in log
    assert json.loads(cursor)["sent_anomalies"]


def tiny_assets(passes: bool):
    """One asset and a check on it, failing or passing: a real check evaluation event."""

    @asset(name="tiny_table")
    def tiny_table() -> int:
        return 0

    @asset_check(asset=tiny_table, name="has_rows")
    def has_rows() -> AssetCheckResult:
        return AssetCheckResult(passed=passes, description="0 rows, expected at least 1")

    return [tiny_table, has_rows]


@pytest.mark.dagster
def test_a_failing_check_alerts_once_until_it_passes_again(receiver, instance, alert_env, tmp_path):
    empty = tmp_path / "empty.duckdb"  # a warehouse whose marts are not built yet
    duckdb.connect(str(empty)).close()
    alert_env.setenv("CHATSALES_WAREHOUSE", f"duckdb:///{empty}")
    alert_env.setenv("CHATSALES_ALERT_WEBHOOK_URL", receiver.url)

    assert materialize(tiny_assets(passes=False), instance=instance).success
    message, cursor = tick(instance)
    assert "anomalies not read: warehouse not readable now" in message
    (body,) = receiver.bodies()
    assert body["event"] == "check_failed"
    assert body["asset_key"] == "tiny_table" and body["check_name"] == "has_rows"
    assert "has_rows" in body["text"] and "tiny_table" in body["text"]
    assert "0 rows, expected at least 1" in body["text"]

    message, cursor = tick(instance, cursor)
    materialize(tiny_assets(passes=False), instance=instance)
    message, cursor = tick(instance, cursor)
    assert len(receiver.posts) == 1, "still failing: no new alert"
    materialize(tiny_assets(passes=True), instance=instance)
    materialize(tiny_assets(passes=False), instance=instance)
    message, cursor = tick(instance, cursor)
    assert len(receiver.posts) == 2, "failing again after a pass: alerted again"


@pytest.mark.warehouse
@pytest.mark.dagster
def test_a_locked_warehouse_is_skipped_not_crashed(warehouse_copy, receiver, instance, alert_env):
    alert_env.setenv("CHATSALES_ALERT_WEBHOOK_URL", receiver.url)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys; c = duckdb.connect(sys.argv[1]); "
         "print('locked', flush=True); sys.stdin.read()", str(warehouse_copy)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "locked"
        message, cursor = tick(instance)
    finally:
        holder.communicate("")
    assert "anomalies not read: warehouse not readable now" in message
    assert "lock" in message.lower()
    assert receiver.posts == [] and json.loads(cursor)["sent_anomalies"] == []
    tick(instance, cursor)  # the writer is gone: the next tick catches up
    assert receiver.posts


@pytest.mark.unit
def test_a_failed_run_is_named_with_its_days():
    from dagster import DagsterRun

    from orchestration.sensors.run_failures import run_days

    def run(**tags: str) -> DagsterRun:
        return DagsterRun(job_name="marts_job", run_id="0" * 36, tags=tags)

    range_run = run(**{"dagster/asset_partition_range_start": "2026-10-29",
                       "dagster/asset_partition_range_end": "2026-12-03"})  # fmt: skip
    assert run_days(range_run) == "2026-10-29…2026-12-03"  # a catch-up, a backfill
    assert run_days(run(**{"dagster/partition": "2026-12-02"})) == "2026-12-02"
    assert run_days(run()) is None


@pytest.mark.dagster
def test_run_failure_summary_names_the_step_and_root_cause(receiver, instance, alert_env, capfd):
    alert_env.setenv("CHATSALES_ALERT_WEBHOOK_URL", receiver.url)

    @asset
    def wazzup_messages() -> None:
        try:
            raise ConnectionError("api.wazzup24.com: connection refused")
        except ConnectionError as error:
            raise RuntimeError("loading messages failed") from error

    result = materialize([wazzup_messages], instance=instance, raise_on_error=False)
    assert not result.success
    (record,) = instance.fetch_run_status_changes(DagsterEventType.RUN_FAILURE, limit=5).records
    context = build_run_status_sensor_context(
        sensor_name="run_failure_summary_sensor",
        dagster_event=record.event_log_entry.dagster_event,
        dagster_instance=instance,
        dagster_run=instance.get_run_by_id(result.run_id),
    ).for_run_failure()
    capfd.readouterr()  # the failed run's own log
    run_failure_summary_sensor(context, alerts=AlertsResource())

    log = sensor_log(capfd)
    # the innermost error, not the RuntimeError Dagster caught
    cause = "ConnectionError: api.wazzup24.com: connection refused"
    summary = (
        f"Run {result.dagster_run.job_name} {result.run_id[:8]} failed:\n✗ wazzup_messages: {cause}"
    )
    assert summary in log
    (body,) = receiver.bodies()
    assert body["event"] == "run_failed" and body["run_id"] == result.run_id
    assert body["text"] == summary
    assert body["failed_steps"] == [{"step": "wazzup_messages", "cause": cause}]


@pytest.mark.warehouse
@pytest.mark.dagster
def test_a_first_start_sends_at_most_a_batch_a_tick(warehouse_copy, receiver, instance, alert_env):
    alert_env.setenv("CHATSALES_ALERT_WEBHOOK_URL", receiver.url)
    alert_env.setenv("CHATSALES_ALERT_GRAINS", "month,week")
    alert_env.setenv("CHATSALES_ALERT_LOOKBACK_DAYS", "3650")
    total = count(warehouse_copy, "select count(*) from marts.mart_anomalies")
    assert total > MAX_ALERTS_PER_TICK
    cursor, sent = None, []
    while not sent or sent[-1]:
        before = len(receiver.posts)
        message, cursor = tick(instance, cursor)
        sent.append(len(receiver.posts) - before)
    assert sum(sent) == total and max(sent) == MAX_ALERTS_PER_TICK
    assert len({body["text"] for body in receiver.bodies()}) == total


@pytest.mark.unit
def test_a_day_anomaly_reads_as_that_day():
    row = {
        "kind": "slowdown", "grain": "day", "period_start": "2026-11-03", "manager_id": "m02",
        "manager_name": "Валерий", "metric": "response_time_median_s", "value": 600.0,
        "reason_en": "slower, load flat", "reason_ru": "медленнее, нагрузка та же",
    }  # fmt: skip
    assert anomaly_alert(row, "ru").text.startswith("Валерий (m02), день 2026-11-03, slowdown:")
    assert ", day 2026-11-03, " in anomaly_alert(row).text


@pytest.mark.unit
@pytest.mark.parametrize(("name", "value"), [
    ("CHATSALES_ALERT_KINDS", "overlaod"),
    ("CHATSALES_ALERT_GRAINS", "hour"),
    ("CHATSALES_ALERT_FORMAT", "slack"),
    ("CHATSALES_ALERT_LOOKBACK_DAYS", "two months"),
    ("CHATSALES_ALERT_WEBHOOK_URL", "hooks.example/secret-path"),
])  # fmt: skip
def test_a_setting_that_cannot_work_fails_loudly(name, value):
    with pytest.raises(AlertConfigError, match=name) as raised:
        alert_settings({name: value})
    assert "secret-path" not in str(raised.value)
    with pytest.raises(AlertConfigError, match=name):  # the sensor's resource, given values
        AlertsResource(environment={name: value}).settings()


@pytest.mark.warehouse
@pytest.mark.postgres
@pytest.mark.dagster
def test_postgres_warehouse_alerts_the_same_rows(postgres_warehouse, receiver, instance, alert_env):
    """Read only: the shared PostgreSQL warehouse is not changed."""
    target = postgres_warehouse.warehouse
    alert_env.setenv("CHATSALES_WAREHOUSE", target.url)
    alert_env.setenv("CHATSALES_ALERT_WEBHOOK_URL", receiver.url)
    (expected,) = query(
        "select count(*) from marts.mart_anomalies where grain = 'month' "
        f"and period_start >= {LAST_DAY} - interval '62 days'",
        target,
    )[0]
    assert expected >= 2
    message, cursor = tick(instance)
    assert len(receiver.bodies("anomaly")) == expected, message
    tick(instance, cursor)
    assert len(receiver.bodies("anomaly")) == expected


@pytest.mark.warehouse
@pytest.mark.dagster
def test_a_running_run_keeps_the_sensor_off_the_duckdb_file(
    warehouse_copy, receiver, instance, alert_env
):
    """Even a read-only open locks the file against a run's writer: wait until the run ends."""
    alert_env.setenv("CHATSALES_ALERT_WEBHOOK_URL", receiver.url)
    running = DagsterRun(
        job_name="warehouse_job", run_id=str(uuid.uuid4()), status=DagsterRunStatus.STARTED
    )
    instance.add_run(running)
    message, cursor = tick(instance)
    assert "a run is in progress" in message and receiver.posts == []
    instance.report_run_failed(running)
    tick(instance, cursor)
    assert receiver.bodies("anomaly")
