"""Great Expectations suites: each passes on the demo warehouses, each fails on a row broken on
purpose (in a scratch copy of the table, never in the shared warehouse), and the Dagster asset
checks run them, build the Data Docs and report a locked DuckDB file as busy."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest
from dagster import AssetSelection, AssetSpec, DagsterInstance, Definitions, define_asset_job

from chatsales.core.settings import Settings, Warehouse
from chatsales.core.warehouse import connect
from orchestration.checks import data_docs_index, gx_checks
from orchestration.checks.great_expectations import WarehouseBusy, validate
from orchestration.checks.suites import FRESHNESS_ENV, load_suite, load_suites
from orchestration.resources import WarehouseResource

SCRATCH = "scratch_gx"
DUPLICATE = "insert into {t} select * from {t} where {key} = (select min({key}) from {t})"
BREAK = "update {t} set {column} = {value} where {key} = (select min({key}) from {t})"
# mart_manager_metrics has no single key: break the team's first year row
YEAR_ROW = "grain = 'year' and manager_id = 'all' and channel = 'all'"
BREAK_METRICS = (
    "update {t} set {column} = {value} where " + YEAR_ROW + " and period_start = "
    "(select min(period_start) from {t} where " + YEAR_ROW + ")"
)

# (suite, source table, statement that breaks one row, the expectation that must fail, column)
BROKEN = {
    "wazzup duplicate id": ("raw_wazzup_messages", "raw_wazzup.messages",
                            DUPLICATE.format(t="{t}", key="message_id"),
                            "expect_compound_columns_to_be_unique", None),
    "wazzup no send time": ("raw_wazzup_messages", "raw_wazzup.messages",
                            BREAK.format(t="{t}", column="date_time", value="null",
                                         key="message_id"),
                            "expect_column_values_to_not_be_null", "date_time"),
    "export message without id": ("raw_export_messages", "raw_telegram.messages",
                                  "insert into {t} (message_id, sent_at) "
                                  "values (null, timestamptz '2024-03-01 10:00:00+00')",
                                  "expect_column_values_to_not_be_null", "message_id"),
    "duplicate message": ("fct_messages", "marts.fct_messages",
                          DUPLICATE.format(t="{t}", key="message_id"),
                          "expect_column_values_to_be_unique", "message_id"),
    "sideways message": ("fct_messages", "marts.fct_messages",
                         BREAK.format(t="{t}", column="direction", value="'sideways'",
                                      key="message_id"),
                         "expect_column_values_to_be_in_set", "direction"),
    "robot sender": ("fct_messages", "marts.fct_messages",
                     BREAK.format(t="{t}", column="sender_kind", value="'robot'",
                                  key="message_id"),
                     "expect_column_values_to_be_in_set", "sender_kind"),
    "message from 2099": ("fct_messages", "marts.fct_messages",
                          BREAK.format(t="{t}", column="sent_at",
                                       value="timestamptz '2099-01-01 00:00:00+00'",
                                       key="message_id"),
                          "expect_column_max_to_be_between", "sent_at"),
    "message from 2001": ("fct_messages", "marts.fct_messages",
                          BREAK.format(t="{t}", column="sent_at",
                                       value="timestamptz '2001-01-01 00:00:00+00'",
                                       key="message_id"),
                          "expect_column_min_to_be_between", "sent_at"),
    "message of unknown manager": ("fct_messages", "marts.fct_messages",
                                   BREAK.format(t="{t}", column="manager_id", value="'m99'",
                                                key="message_id"),
                                   "expect_column_values_to_be_in_set", "manager_id"),
    "negative response time": ("fct_waits", "marts.fct_waits",
                               BREAK.format(t="{t}", column="response_time_s", value="-5",
                                            key="wait_id"),
                               "expect_column_values_to_be_between", "response_time_s"),
    "negative business time": ("fct_waits", "marts.fct_waits",
                               BREAK.format(t="{t}", column="business_response_time_s",
                                            value="-1", key="wait_id"),
                               "expect_column_values_to_be_between", "business_response_time_s"),
    "conversion 1.5": ("mart_manager_metrics", "marts.mart_manager_metrics",
                       BREAK_METRICS.format(t="{t}", column="cohort_conversion_rate",
                                            value="1.5"),
                       "expect_column_values_to_be_between", "cohort_conversion_rate"),
    "interval above 1": ("mart_manager_metrics", "marts.mart_manager_metrics",
                         BREAK_METRICS.format(t="{t}", column="conversion_ci_high", value="1.5"),
                         "expect_column_values_to_be_between", "conversion_ci_high"),
    "sla share below 0": ("mart_manager_metrics", "marts.mart_manager_metrics",
                          BREAK_METRICS.format(t="{t}", column="sla_share", value="-0.1"),
                          "expect_column_values_to_be_between", "sla_share"),
    "metrics of unknown manager": ("mart_manager_metrics", "marts.mart_manager_metrics",
                                   BREAK_METRICS.format(t="{t}", column="manager_id",
                                                        value="'m99'"),
                                   "expect_column_values_to_be_in_set", "manager_id"),
}  # fmt: skip


@pytest.fixture(autouse=True)
def gx_state(tmp_path, monkeypatch):
    """Data Docs of each test in its own folder; freshness off unless a test turns it on."""
    monkeypatch.setenv("CHATSALES_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv(FRESHNESS_ENV, raising=False)


def execute(target: Warehouse, *statements: str) -> None:
    with connect(target, read_only=False) as conn:
        cursor = conn.cursor()
        for statement in statements:
            cursor.execute(statement)
        conn.commit()


@pytest.fixture
def scratch(built) -> Iterator[Warehouse]:
    """A scratch schema in the built warehouse, dropped afterwards."""
    execute(built.warehouse, f"create schema if not exists {SCRATCH}")
    yield built.warehouse
    execute(built.warehouse, f"drop schema if exists {SCRATCH} cascade")


def scratch_copy(target: Warehouse, source: str, *statements: str) -> str:
    table = source.split(".", 1)[1]
    copy = f"{SCRATCH}.{table}"
    execute(
        target,
        f"drop table if exists {copy}",
        f"create table {copy} as select * from {source}",
        *(statement.format(t=copy) for statement in statements),
    )
    return table


@pytest.mark.unit
def test_suite_files_are_gx_suites_with_known_tables():
    suites = load_suites()
    assert {suite.name for suite in suites} >= {
        "raw_wazzup_messages", "raw_export_messages", "fct_messages", "fct_messages_freshness",
        "fct_waits", "mart_manager_metrics",
    }  # fmt: skip
    for suite in suites:
        assert suite.build().expectations, suite.name
        assert suite.tables, suite.name
    checked = {(key.asset_key.path[0], key.asset_key.path[1], key.name)
               for check in gx_checks for key in check.check_keys}  # fmt: skip
    expected = {(schema, table, f"gx_{suite.name}")
                for suite in suites for schema, table in suite.tables}  # fmt: skip
    assert checked == expected


@pytest.mark.warehouse
def test_every_suite_passes_on_demo_data(built):
    for suite in load_suites():
        for schema, table in suite.tables:
            outcome = validate(built.warehouse, schema, table, suite)
            assert outcome.success, (outcome.summary, outcome.failed)
            if suite.name == "fct_messages_freshness":
                assert "freshness not configured" in outcome.skipped
            else:
                assert outcome.evaluated == len(suite.spec["expectations"])
                assert not outcome.skipped and not outcome.failed


@pytest.mark.warehouse
@pytest.mark.parametrize("case", BROKEN, ids=list(BROKEN))
def test_suite_fails_on_a_broken_row(scratch, case):
    suite, source, statement, expectation, column = BROKEN[case]
    table = scratch_copy(scratch, source, statement)
    outcome = validate(scratch, SCRATCH, table, suite)
    assert not outcome.success
    assert [(f.expectation, f.column) for f in outcome.failed] == [(expectation, column)]
    assert outcome.failed[0].observed


@pytest.mark.warehouse
def test_freshness_runs_only_when_configured(scratch, monkeypatch):
    monkeypatch.setenv(FRESHNESS_ENV, "6")
    stale = validate(scratch, "marts", "fct_messages", "fct_messages_freshness")
    assert not stale.success and not stale.skipped  # the demo's last message is history
    assert stale.failed[0].observed.startswith("observed ")
    table = scratch_copy(
        scratch,
        "marts.fct_messages",
        DUPLICATE.format(t="{t}", key="message_id"),
        "update {t} set message_id = 'fresh', sent_at = current_timestamp where message_id = "
        "(select min(message_id) from {t})",
    )
    fresh = validate(scratch, SCRATCH, table, load_suite("fct_messages_freshness"))
    assert fresh.success and fresh.evaluated == 1


def check_job_result(env: dict[str, str]):
    keys = {key.asset_key for check in gx_checks for key in check.check_keys}
    job = define_asset_job("gx_checks_only", selection=AssetSelection.checks(*gx_checks))
    warehouse = WarehouseResource.from_settings(Settings.from_environ(env))
    defs = Definitions(
        assets=[AssetSpec(key) for key in keys],
        asset_checks=gx_checks,
        jobs=[job],
        resources={"warehouse": warehouse},
    )
    Definitions.validate_loadable(defs)
    result = defs.resolve_job_def(job.name).execute_in_process(instance=DagsterInstance.ephemeral())
    assert result.success
    return result.get_asset_check_evaluations()


@pytest.mark.warehouse
@pytest.mark.dagster
def test_asset_checks_pass_in_dagster_and_build_data_docs(duckdb_warehouse, monkeypatch):
    evaluations = check_job_result(duckdb_warehouse.env)
    assert len(evaluations) == sum(len(check.check_keys) for check in gx_checks)
    for evaluation in evaluations:
        assert evaluation.passed, (evaluation.check_name, evaluation.description)
    messages = next(e for e in evaluations if e.check_name == "gx_fct_messages")
    assert messages.metadata["row_count"].value > 0
    assert messages.metadata["data_docs"].value == str(data_docs_index())
    index = data_docs_index().read_text(encoding="utf-8")
    for suite in ("fct_messages", "fct_waits", "mart_manager_metrics", "raw_wazzup_messages"):
        assert f'href="expectations/{suite}.html"' in index
    # the plain list GX's CDN-drawn tables leave out when offline
    assert "fct_messages on marts.fct_messages (duckdb)</a> — passed" in index


@pytest.mark.warehouse
def test_locked_duckdb_fails_the_checks_as_busy(duckdb_warehouse, monkeypatch):
    path = str(duckdb_warehouse.warehouse.duckdb_path)
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import duckdb, sys; c = duckdb.connect({path!r}); "
         "print('locked', flush=True); sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(WarehouseBusy, match="busy"):
            validate(duckdb_warehouse.warehouse, "marts", "fct_messages", "fct_messages")
        evaluations = check_job_result(duckdb_warehouse.env)
    finally:
        holder.communicate("", timeout=60)
    busy = [e for e in evaluations if e.metadata.get("warehouse_busy")]
    assert busy and all(not e.passed and "busy" in e.description for e in busy)
