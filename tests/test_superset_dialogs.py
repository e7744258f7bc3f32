"""The head of sales reads the dialogs behind an anomaly: the `messages` dataset and its chart
(one row per message), who may read the text (row-level security, the PostgreSQL reader role,
the read-only serving copy), and masking for every role, SQL Lab included.

The chart's numbers against an independent SQL are in test_superset_charts.py (its reference
is in tests/support/superset_reference.py); the clicks are in test_superset_screens.py."""

from __future__ import annotations

import shutil
from contextlib import closing

import duckdb
import psycopg2
import pytest

from chatsales.app.superset import client, reader
from chatsales.app.superset.paths import credentials
from chatsales.core.settings import Warehouse, serving_duckdb_path
from chatsales.core.warehouse import query
from orchestration import serving

from .support.masking import rebuild_messages
from .support.superset_server import BUNDLE, listing

pytestmark = pytest.mark.superset

MESSAGES_CHART = "3945799e-bef7-58ca-ae5f-7a426a0fb3b7"


def _ids(superset, resource: str, key: str) -> dict[str, int]:
    return {row[key]: row["id"] for row in listing(superset.session(), superset.url, resource)}


def _dataset_id(superset) -> int:
    return _ids(superset, "dataset", "table_name")["messages"]


def _database_id(superset) -> int:
    (database,) = listing(superset.session(), superset.url, "database")
    return database["id"]


def _texts_per_manager(superset, username: str) -> dict[str, tuple[int, int]]:
    """(messages, readable texts) per manager_id of the messages dataset, as `username`."""
    count = [
        {"expressionType": "SQL", "sqlExpression": sql, "label": label}
        for sql, label in (("COUNT(*)", "messages"), ("COUNT(message_text)", "texts"))
    ]
    query_context = {
        "datasource": {"id": _dataset_id(superset), "type": "table"},
        "force": True,
        "queries": [{"columns": ["manager_id"], "metrics": count, "row_limit": 1000}],
        "result_format": "json",
        "result_type": "full",
    }
    answer = superset.session(username).post(
        f"{superset.url}/api/v1/chart/data", json=query_context, timeout=120
    )
    assert answer.status_code == 200, answer.text[:500]
    rows = answer.json()["result"][0]["data"]
    return {row["manager_id"]: (row["messages"], row["texts"]) for row in rows}


def _sql_lab(superset, sql: str) -> dict:
    """Run `sql` in SQL Lab as admin; the answer (status 'success', or 'errors')."""
    answer = superset.session().post(
        f"{superset.url}/api/v1/sqllab/execute/",
        json={"database_id": _database_id(superset), "sql": sql, "runAsync": False},
        timeout=120,
    )
    return answer.json()


def _error(answer: dict) -> str:
    assert answer.get("status") != "success", answer
    return " ".join(error["message"] for error in answer["errors"])


def test_the_messages_dataset_has_every_message_once_keyed_by_the_dialog_owner(superset):
    per_manager = _texts_per_manager(superset, "head")
    expected = superset.query(
        "SELECT dl.owner_manager_id AS manager_id, COUNT(*) AS n, COUNT(m.message_text) AS t "
        "FROM marts.fct_messages AS m JOIN marts.fct_dialogs AS dl ON dl.dialog_id = m.dialog_id "
        "GROUP BY dl.owner_manager_id"
    )
    assert per_manager == {row["manager_id"]: (row["n"], row["t"]) for row in expected}
    assert (
        sum(n for n, _ in per_manager.values())
        == superset.query("SELECT COUNT(*) AS n FROM marts.fct_messages")[0]["n"]
    )


def test_a_manager_reads_only_their_own_dialogs_messages(superset):
    everyone = _texts_per_manager(superset, "head")
    assert len(everyone) > 1 and everyone["m01"][1] > 0
    assert _texts_per_manager(superset, "m01") == {"m01": everyone["m01"]}
    # the chart itself, as m01: only dialogs m01 owns
    chart_id = _ids(superset, "chart", "uuid")[MESSAGES_CHART]
    answer = superset.session("m01").get(f"{superset.url}/api/v1/chart/{chart_id}/data/")
    assert answer.status_code == 200, answer.text[:300]
    dialogs = {row["dialog_id"] for row in answer.json()["result"][0]["data"]}
    owners = superset.query(
        "SELECT DISTINCT owner_manager_id AS manager_id FROM marts.fct_dialogs WHERE dialog_id IN ("
        + ", ".join(f"'{d}'" for d in sorted(dialogs))
        + ")"
    )
    assert dialogs and [row["manager_id"] for row in owners] == ["m01"]


@pytest.mark.postgres
def test_on_postgres_sql_lab_reads_marts_only_and_writes_nothing(superset_postgres):
    superset = superset_postgres
    (count,) = _sql_lab(superset, "SELECT COUNT(*) AS n FROM marts.fct_messages")["data"]
    assert count["n"] > 0
    for schema in ("raw_wazzup", "staging", "intermediate"):
        table = {"raw_wazzup": "messages", "staging": "stg_wazzup__messages"}.get(
            schema, "int_messages"
        )
        refused = _error(_sql_lab(superset, f"SELECT * FROM {schema}.{table} LIMIT 1"))
        assert "permission denied" in refused, refused
    for write in (
        "INSERT INTO marts.dim_managers (manager_id) VALUES ('intruder')",
        "CREATE TABLE marts.intruder AS SELECT 1 AS a",
    ):
        _error(_sql_lab(superset, write))
    # below Superset's own refusal, the database refuses the reader role too
    wh = superset.built.warehouse
    reader_url = wh.postgres_url(
        user=reader.READER_ROLE, password=credentials(superset.home)["reader_password"]
    )
    with closing(psycopg2.connect(reader_url)) as conn, conn.cursor() as cursor:
        conn.autocommit = True  # each statement its own transaction: the SET holds for the next
        for statement in (
            "SET default_transaction_read_only = off",
            "INSERT INTO marts.dim_managers (manager_id) VALUES ('intruder')",
        ):
            try:
                cursor.execute(statement)
            except psycopg2.errors.InsufficientPrivilege as denied:
                assert "permission denied" in str(denied)
            else:
                assert statement.startswith("SET"), statement
    assert not query("SELECT 1 FROM marts.dim_managers WHERE manager_id = 'intruder'", wh)


def test_on_duckdb_superset_writes_nothing_and_sees_no_raw_text(superset_duckdb):
    superset = superset_duckdb
    _error(_sql_lab(superset, "CREATE TABLE marts.intruder AS SELECT 1 AS a"))
    refused = _error(_sql_lab(superset, "SELECT * FROM raw_wazzup.messages LIMIT 1"))
    assert "does not exist" in refused, refused
    served = serving_duckdb_path(superset.built.warehouse)
    with closing(duckdb.connect(str(served), read_only=True)) as con:
        with pytest.raises(duckdb.InvalidInputException, match="read-only"):
            con.execute("CREATE TABLE marts.intruder AS SELECT 1 AS a")
        schemas = {
            row[0] for row in con.execute("SELECT schema_name FROM duckdb_schemas()").fetchall()
        }
    assert not schemas & {"raw_wazzup", "raw_telegram", "raw_whatsapp", "staging", "intermediate"}


@pytest.mark.warehouse
def test_masked_text_is_unreadable_for_every_role_sql_lab_included(
    superset_duckdb, tmp_path_factory
):
    """The session's Superset pointed at a masked copy of its warehouse (the two text models
    rebuilt with the mask on, the serving copy published), then back."""
    superset, built = superset_duckdb, superset_duckdb.built
    tmp = tmp_path_factory.mktemp("masked_superset")
    masked = Warehouse(f"duckdb:///{tmp / 'warehouse.duckdb'}")
    shutil.copy(built.warehouse.duckdb_path, masked.duckdb_path)
    rebuild_messages(masked, tmp, built.env, masked=True)
    serving.publish(masked)
    reader_password = credentials(superset.home)["reader_password"]
    try:
        client.import_bundle(
            superset.url, *superset.admin, BUNDLE, masked, reader_password=reader_password
        )
        for username in (superset.admin[0], "head", "m01"):
            shown = _texts_per_manager(superset, username)
            assert shown and all(n > 0 and texts == 0 for n, texts in shown.values()), username
        (row,) = _sql_lab(
            superset,
            "SELECT COUNT(*) AS n, COUNT(message_text) AS texts, "
            "MIN(CAST(is_text_masked AS INTEGER)) AS masked FROM marts.fct_messages",
        )["data"]
        assert row["n"] > 0 and row["texts"] == 0 and row["masked"] == 1
    finally:
        client.import_bundle(
            superset.url, *superset.admin, BUNDLE, built.warehouse, reader_password=reader_password
        )
    assert _texts_per_manager(superset, "head")["m01"][1] > 0
