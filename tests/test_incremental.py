"""Incremental models: a daily run recomputes only the chats with recent messages and the
periods they fall in, and its numbers equal a full refresh of the same data, on both engines.

Per engine, one warehouse is built from the demo's first three months, then the fourth
month's webhooks land and `chatsales run` runs again (incremental). A copy is rebuilt with
`chatsales run --full-refresh` and every message-derived table and mart is compared both ways.
Before the second run the test tampers with rows the run must not touch (an old chat, old
periods of the marts): a full rebuild would undo the edits, an incremental run keeps them. It
also edits one hypothesis and adds another in the landing folder's interventions.csv, as the
head of sales does: the incremental run measures both, as the full refresh does.
"""

from __future__ import annotations

import csv
import shutil
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import psycopg2
import pytest

from chatsales.core.settings import Warehouse
from chatsales.core.warehouse import connect, query

from .support.background_builds import built_in_background
from .support.cli import run_cli_ok, warehouse_env
from .support.demo_landing import DEMO_ARGS

pytestmark = pytest.mark.warehouse

LATE_MONTH_FILE = "2025-10.jsonl"  # the fourth month of DEMO_ARGS (from 2025-07)
COMPARED_TABLES = [
    "intermediate.int_messages",
    "intermediate.int_dialogs",
    "intermediate.int_waits",
    "intermediate.int_response_time_tests",
    "marts.fct_messages",
    "marts.fct_dialogs",
    "marts.fct_waits",
    "marts.fct_deal_channels",
    "marts.mart_manager_metrics",
    "marts.mart_period_comparison",
    "marts.mart_anomalies",
    "marts.mart_interventions",
]
ENGINES = ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)]
TAMPERED_TEXT = "tampered by the test"
TAMPERED_NUMBER = 777777  # passes every data test, unlike any real value
# A team event whose after window ends in the late month (complete only once it lands), added
# to interventions.csv before the second run, and a demo event whose description is edited.
ADDED_INTERVENTION = "team_autumn_push,2025-09-22,all,campaign,Autumn push,,won_deals,up"
EDITED_INTERVENTION = "m04_new_crm"
EDITED_DESCRIPTION = "Edited by the head of sales"


@dataclass(frozen=True)
class Tampered:
    """A row the late month's run must leave alone, and the column the test overwrites."""

    table: str
    column: str
    where: str


_ANOMALY_KEY = "cast(period_start as varchar) || grain || manager_id || metric"


def _tampered_rows(untouched_message_id: str) -> list[Tampered]:
    every_manager = "manager_id = 'all' and channel = 'all'"
    return [
        # a chat whose messages all predate the late month by far
        Tampered("marts.fct_messages", "message_type", f"message_id = '{untouched_message_id}'"),
        # the first month: the late month's chats reach back days, not months
        Tampered(
            "marts.mart_manager_metrics",
            "waits_pending",
            f"grain = 'month' and period_start = '2025-07-01' and {every_manager}",
        ),
        # August's values stay as they were, so its comparison with July is not redone
        Tampered(
            "marts.mart_period_comparison",
            "abs_change",
            f"grain = 'month' and period_start = '2025-08-01' and {every_manager}"
            " and metric = 'new_dialogs'",
        ),
        # July's first anomaly: its inputs and those of its trailing windows stay the same
        Tampered(
            "marts.mart_anomalies",
            "value",
            f"period_start < '2025-08-01' and {_ANOMALY_KEY} = "
            f"(select min({_ANOMALY_KEY}) from marts.mart_anomalies)",
        ),
        # the demo's events are all in 2026: their windows hold no day of the test's months, and
        # lie wholly after the data before and after the late month (the same completeness)
        Tampered(
            "marts.mart_interventions",
            "abs_change",
            "intervention_id = 'm01_objection_script' and metric = 'new_dialogs'",
        ),
    ]


def _value(tampered: Tampered) -> object:
    return TAMPERED_TEXT if tampered.column == "message_type" else TAMPERED_NUMBER


def _execute(target: Warehouse, sql: str) -> None:
    with connect(target, read_only=False) as conn:
        conn.cursor().execute(sql)
        conn.commit()


def _read(target: Warehouse, tampered: Tampered) -> object:
    rows = query(f"select {tampered.column} from {tampered.table} where {tampered.where}", target)
    assert len(rows) == 1, f"{tampered} matches {len(rows)} rows"
    return rows[0][0]


def _write(target: Warehouse, tampered: Tampered, value: object) -> None:
    literal = f"'{value}'" if isinstance(value, str) else str(value)
    _execute(
        target, f"update {tampered.table} set {tampered.column} = {literal} where {tampered.where}"
    )


def _edit_interventions(landing: Path) -> None:
    """What a head of sales does in the landing file: edit a description, add a row."""
    path = landing / "interventions.csv"
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        header, rows = reader.fieldnames, list(reader)
    for row in rows:
        if row["intervention_id"] == EDITED_INTERVENTION:
            row["description"] = EDITED_DESCRIPTION
    rows.append(dict(zip(header, next(csv.reader([ADDED_INTERVENTION])), strict=True)))
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def _oldest_message(target: Warehouse) -> str:
    """A message of a chat whose messages all predate the late month by far."""
    return query(
        """
        select min(message_id)
        from marts.fct_messages
        where chat_id = (
            select min(chat_id) from (
                select chat_id
                from marts.fct_messages
                group by chat_id
                having max(sent_at) < timestamp '2025-08-15'
            ) as old_chats
        )
        """,
        target,
    )[0][0]


class Databases:
    """Where the two warehouses of one engine live: files, or databases of the test server."""

    def __init__(self, engine: str, tmp: Path, server_url: str | None):
        self.engine, self.tmp, self.server_url = engine, tmp, server_url

    def url(self, name: str) -> str:
        if self.engine == "duckdb":
            return f"duckdb:///{self.tmp / name / 'warehouse.duckdb'}"
        return Warehouse(self.server_url).postgres_url(database=f"incremental_{name}")

    def create(self, name: str, copy_of: str | None = None) -> None:
        (self.tmp / name).mkdir(exist_ok=True)
        if self.engine == "duckdb":
            if copy_of:
                shutil.copy(Warehouse(self.url(copy_of)).duckdb_path, self.tmp / name)
            return
        admin = psycopg2.connect(**Warehouse(self.server_url).postgres, connect_timeout=10)
        admin.autocommit = True
        try:
            with admin.cursor() as cursor:
                cursor.execute(f"drop database if exists incremental_{name} with (force)")
                template = f" template incremental_{copy_of}" if copy_of else ""
                cursor.execute(f"create database incremental_{name}{template}")
        finally:
            admin.close()


def _build_incrementally(databases: Databases, landing: Path) -> dict:
    run_cli_ok(
        ["demo", *DEMO_ARGS, "--landing", str(landing)], warehouse_env(databases.tmp, "", landing)
    )
    late_file = landing / "wazzup" / LATE_MONTH_FILE
    parked = databases.tmp / LATE_MONTH_FILE
    shutil.move(late_file, parked)

    databases.create("daily")
    target = Warehouse(databases.url("daily"))
    env = warehouse_env(databases.tmp / "daily", target.url, landing)
    run_cli_ok(["run"], env)
    tampered = _tampered_rows(_oldest_message(target))
    originals = {row: _read(target, row) for row in tampered}
    for row in tampered:
        _write(target, row, _value(row))

    shutil.move(parked, late_file)
    _edit_interventions(landing)
    run_cli_ok(["run"], env)
    after_daily_run = {row: _read(target, row) for row in tampered}
    for row, value in originals.items():
        _write(target, row, value)

    databases.create("full_refresh", copy_of="daily")
    refreshed = databases.url("full_refresh")
    run_cli_ok(
        ["run", "--full-refresh"], warehouse_env(databases.tmp / "full_refresh", refreshed, landing)
    )
    return {
        "incremental": target,
        "full_refresh": Warehouse(refreshed),
        "tampered": {row: (_value(row), value) for row, value in after_daily_run.items()},
    }


def _start(engine: str):
    def prepare(request):
        tmp = request.getfixturevalue("tmp_path_factory").mktemp(f"incremental_{engine}")
        server = request.getfixturevalue("postgres_url") if engine == "postgres" else None
        return _build_incrementally, (Databases(engine, tmp, server), tmp / "landing")

    return prepare


built_in_background("incremental_duckdb", also_used_by=("incremental_build[duckdb]",))(
    _start("duckdb")
)
built_in_background("incremental_postgres", also_used_by=("incremental_build[postgres]",))(
    _start("postgres")
)


@pytest.fixture(scope="module", params=ENGINES)
def incremental_build(request, warehouse_builds) -> dict:
    return warehouse_builds.result(f"incremental_{request.param}")


def test_a_daily_run_leaves_old_chats_and_periods_alone(incremental_build):
    # a full rebuild of these rows would have undone the edits
    for row, (tampered, after_run) in incremental_build["tampered"].items():
        assert after_run == tampered, f"the daily run rewrote {row}"


def test_the_late_month_arrived(incremental_build):
    late = query(
        "select count(*) from marts.fct_messages where sent_at >= timestamp '2025-10-01'",
        incremental_build["incremental"],
    )[0][0]
    assert late > 100


def test_the_daily_run_measures_the_edited_and_added_interventions(incremental_build):
    rows = query(
        "select intervention_id, metric, description, status, is_as_expected "
        "from marts.mart_interventions where intervention_id in "
        f"('{EDITED_INTERVENTION}', 'team_autumn_push')",
        incremental_build["incremental"],
    )
    edited = [r for r in rows if r[0] == EDITED_INTERVENTION]
    added = {r[1]: r for r in rows if r[0] == "team_autumn_push"}
    assert len(edited) == 7 and {r[2] for r in edited} == {EDITED_DESCRIPTION}
    assert {r[3] for r in edited} == {"not_enough_data"}  # its windows are in 2026
    assert len(added) == 7 and added["won_deals"][3] == "measured"  # the late month completed it
    assert added["won_deals"][4] is not None and added["new_dialogs"][4] is None


@pytest.mark.parametrize("table", COMPARED_TABLES)
def test_incremental_equals_full_refresh(incremental_build, table):
    incremental = Counter(query(f"select * from {table}", incremental_build["incremental"]))
    refreshed = Counter(query(f"select * from {table}", incremental_build["full_refresh"]))
    only_incremental = list((incremental - refreshed).elements())[:5]
    only_refreshed = list((refreshed - incremental).elements())[:5]
    assert incremental.total() > 0
    assert only_incremental == [] and only_refreshed == [], (
        f"{table} differs:\nincremental only: {only_incremental}\n"
        f"full refresh only: {only_refreshed}"
    )
