"""A PostgreSQL password with the characters a URL must quote (`@/:%#`) reaches every client
intact: dlt, dbt, the Great Expectations checks and Superset (issue 12, item 3).

The fast tests build the URLs and credentials; the slow ones run `chatsales run` and a
Superset import as a role with such a password, on the session's PostgreSQL server, which
asks for passwords on TCP (tests/support/postgres_server.py): a garbled password can't get in."""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import quote

import psycopg2
import pytest
from sqlalchemy import create_engine, make_url

from chatsales.app.superset import client, reader, server
from chatsales.app.superset.paths import credentials
from chatsales.core.settings import Warehouse
from chatsales.core.warehouse import query
from orchestration.checks import gx_checks

from .support.background_builds import built_in_background
from .support.superset_server import BUNDLE, listing, rows_per_manager
from .support.warehouses import BuiltWarehouse, build_demo

PASSWORD = "p@ss/w:rd%#1"
QUOTED = quote(PASSWORD, safe="")  # p%40ss%2Fw%3Ard%25%231
ROLE, ROLE_DB = "chatsales_pw", "chatsales_pw_wh"
URL = f"postgresql://bob:{QUOTED}@db.example:5433/wh"


def _parts(url: str) -> tuple:
    parsed = make_url(url)
    return parsed.username, parsed.password, parsed.host, parsed.port, parsed.database


# -- the URLs, built without a server ---------------------------------------------------------


@pytest.mark.unit
def test_the_password_is_read_unquoted():
    pg = Warehouse(URL).postgres
    assert (pg["user"], pg["password"], pg["host"], pg["port"], pg["dbname"]) == (
        "bob", PASSWORD, "db.example", "5433", "wh"
    )  # fmt: skip
    assert Warehouse(URL).dbt_env()["CHATSALES_PG_PASSWORD"] == PASSWORD


@pytest.mark.unit
def test_the_sqlalchemy_url_round_trips():
    wh = Warehouse(URL)
    assert _parts(wh.sqlalchemy_url) == ("bob", PASSWORD, "db.example", 5433, "wh")
    assert _parts(wh.postgres_url(database="other")) == (
        "bob",
        PASSWORD,
        "db.example",
        5433,
        "other",
    )
    without = Warehouse("postgresql://bob@db.example/wh")
    assert _parts(without.sqlalchemy_url) == ("bob", None, "db.example", 5432, "wh")


@pytest.mark.unit
def test_the_dlt_destination_gets_the_password_as_is():
    credentials = Warehouse(URL).dlt_destination().configuration(None, accept_partial=True)
    credentials = credentials.credentials
    assert (credentials.username, credentials.password) == ("bob", PASSWORD)
    assert (credentials.host, credentials.port, credentials.database) == ("db.example", 5433, "wh")
    native = credentials.to_native_representation()
    assert _parts(native) == ("bob", PASSWORD, "db.example", 5433, "wh")


@pytest.mark.unit
def test_superset_gets_the_password_apart_and_a_uri_that_parses(tmp_path, monkeypatch):
    config, password = client.templated_database(
        {"sqlalchemy_uri": client.PLACEHOLDER}, Warehouse(URL), reader_password=PASSWORD
    )
    assert password == PASSWORD
    masked = (reader.READER_ROLE, client.PASSWORD_MASK, "db.example", 5433, "wh")
    assert _parts(config["sqlalchemy_uri"]) == masked
    assert PASSWORD not in str(config) and QUOTED not in str(config)
    monkeypatch.delenv("CHATSALES_SUPERSET_METADATA_URI", raising=False)
    metadata = server.metadata_uri(Warehouse(URL), tmp_path)
    assert _parts(metadata) == ("bob", PASSWORD, "db.example", 5433, server.METADATA_DB)


@pytest.mark.unit
def test_the_display_name_holds_no_password():
    for url in (URL, f"postgresql://bob:{quote('a@b', safe='')}@db.example/wh"):
        shown = Warehouse(url).display_name
        assert shown.startswith("db.example:") and shown.endswith("/wh"), shown
        assert "@" not in shown and "bob" not in shown
    assert Warehouse(URL).display_name == "db.example:5433/wh"


# -- the test server asks for passwords --------------------------------------------------------


@pytest.mark.postgres
def test_the_test_server_refuses_tcp_without_the_password(postgres_url):
    if os.environ.get("TEST_PG_URL"):
        pytest.skip("TEST_PG_URL: a server this session did not set up")
    pg = Warehouse(postgres_url).postgres
    with pytest.raises(psycopg2.OperationalError, match="no password supplied"):
        psycopg2.connect(**{**pg, "password": ""}, connect_timeout=10).close()
    with pytest.raises(psycopg2.OperationalError, match="password authentication failed"):
        psycopg2.connect(**{**pg, "password": "wrong"}, connect_timeout=10).close()
    rules = query(
        "select distinct auth_method from pg_hba_file_rules where type = 'host'",
        Warehouse(postgres_url),
    )
    assert rules == [("scram-sha-256",)]


# -- a role with such a password: `chatsales run` and Superset ---------------------------------


def _create_role(server_url: str) -> str:
    """A login role with PASSWORD owning its database (dropped first, if a run left them);
    its warehouse URL."""
    admin = Warehouse(server_url).postgres
    conn = psycopg2.connect(**admin, connect_timeout=10)
    conn.autocommit = True
    try:
        with conn.cursor() as cursor:
            cursor.execute(f"drop database if exists {ROLE_DB} with (force)")
            cursor.execute(f"drop role if exists {ROLE}")
            cursor.execute(f"create role {ROLE} login password %s", (PASSWORD,))
            cursor.execute(f"create database {ROLE_DB} owner {ROLE}")
            cursor.execute(f"revoke connect on database {ROLE_DB} from public")
    except psycopg2.errors.InsufficientPrivilege as error:
        pytest.skip(f"can't create a role on the test server: {error}")
    finally:
        conn.close()
    return f"postgresql://{ROLE}:{QUOTED}@{admin['host']}:{admin['port']}/{ROLE_DB}"


def _drop_role(server_url: str) -> None:
    conn = psycopg2.connect(**Warehouse(server_url).postgres, connect_timeout=10)
    conn.autocommit = True
    try:
        with conn.cursor() as cursor:
            cursor.execute(f"drop database if exists {ROLE_DB} with (force)")
            cursor.execute(f"drop role if exists {ROLE}")
    finally:
        conn.close()


@built_in_background("password_warehouse")
def _start_password_build(request):
    server_url = request.getfixturevalue("postgres_url")
    url = _create_role(server_url)
    request.addfinalizer(lambda: _drop_role(server_url))  # at the session's end
    tmp = request.getfixturevalue("tmp_path_factory").mktemp("pg_password")
    landing, api = (request.getfixturevalue(f) for f in ("demo_landing", "wazzup_api_url"))
    return build_demo, (tmp, url, landing, api)


@pytest.fixture(scope="module")
def password_warehouse(warehouse_builds) -> BuiltWarehouse:
    return warehouse_builds.result("password_warehouse")


@pytest.mark.postgres
@pytest.mark.warehouse
def test_the_role_connects_with_its_password_only(password_warehouse):
    pg = password_warehouse.warehouse.postgres
    assert pg["password"] == PASSWORD
    assert query("select current_user, current_database()", password_warehouse.warehouse) == [
        (ROLE, ROLE_DB)
    ]
    with pytest.raises(psycopg2.OperationalError, match="password authentication failed"):
        psycopg2.connect(**{**pg, "password": QUOTED}, connect_timeout=10).close()


@pytest.mark.postgres
@pytest.mark.warehouse
def test_chatsales_run_as_the_role_loads_and_passes_its_checks(password_warehouse):
    """`run_cli_ok` already failed the build if `chatsales run` exited non-zero. The demo
    landing's planted problems warn in data_issues, as on the session's warehouses."""
    built = password_warehouse
    out = built.first_run.stdout
    summary = re.search(r"^(\d+) checks passed(.*)$", out, re.MULTILINE)
    assert summary, out[-3000:]
    assert int(summary.group(1)) > len(gx_checks), summary.group(0)
    assert summary.group(2) == ", 1 warning: assert_no_data_issues on marts/data_issues.", (
        summary.group(0)
    )
    assert f"Warehouse: 127.0.0.1:{built.warehouse.postgres['port']}/{ROLE_DB}" in out
    assert PASSWORD not in out and QUOTED not in out
    # the Great Expectations checks validated the role's tables: their Data Docs say how
    index = Path(built.env["CHATSALES_STATE_DIR"]) / "gx" / "data_docs" / "index.html"
    results = re.findall(
        r"<li><a [^>]*>(\w+) on ([\w.]+) \((\w+)\)</a> — ([^,]+),", index.read_text()
    )
    assert results and all(verdict == "passed" for *_, verdict in results), results
    assert {engine for _, _, engine, _ in results} == {"postgres"}
    assert ("fct_messages", "marts.fct_messages", "postgres", "passed") in results
    [(messages,)] = query("select count(*) from marts.fct_messages", built.warehouse)
    assert messages > 1000


@pytest.mark.postgres
@pytest.mark.superset
def test_superset_reads_the_role_s_warehouse_with_its_password(
    superset_postgres, password_warehouse, tmp_path, monkeypatch
):
    """The session's Superset, its bundle imported once more pointed at the role's warehouse
    (then back): the charts' queries connect as the reader role on the role's database, with
    the password sent apart. The role may not create roles: the SQL for an administrator is
    written instead, and run here as the server's superuser."""
    superset, role = superset_postgres, password_warehouse.warehouse
    reader_password = credentials(superset.home)["reader_password"]
    sql_file = reader.ensure_reader_role(role, reader_password, tmp_path)
    assert sql_file is not None and sql_file.stat().st_mode & 0o077 == 0
    with (
        psycopg2.connect(
            Warehouse(superset_postgres.built.warehouse.url).postgres_url(database=ROLE_DB)
        ) as conn,
        conn.cursor() as cursor,
    ):
        cursor.execute(sql_file.read_text())
    try:
        imported = client.import_bundle(
            superset.url, *superset.admin, BUNDLE, role, reader_password=reader_password
        )
        assert imported == superset.imported
        admin = superset.session()
        (database,) = listing(admin, superset.url, "database")
        answer = admin.get(
            f"{superset.url}/api/v1/database/{database['id']}/connection", timeout=60
        )
        assert answer.status_code == 200, answer.text[:300]
        configured = make_url(answer.json()["result"]["sqlalchemy_uri"])
        assert (configured.username, configured.database) == (reader.READER_ROLE, ROLE_DB)
        assert configured.password in (None, client.PASSWORD_MASK)  # kept apart, encrypted
        (dataset,) = (
            d
            for d in listing(admin, superset.url, "dataset")
            if d["table_name"] == "mart_manager_metrics"
        )
        shown = rows_per_manager(superset, None, dataset["id"])
        expected = query(
            "select manager_id, count(*) from marts.mart_manager_metrics group by manager_id", role
        )
        assert shown == dict(expected) and len(shown) > 1
    finally:
        client.import_bundle(
            superset.url,
            *superset.admin,
            BUNDLE,
            superset.built.warehouse,
            reader_password=reader_password,
        )
    # Superset's metadata URI for this role reaches the server as the role, too
    monkeypatch.delenv("CHATSALES_SUPERSET_METADATA_URI", raising=False)
    metadata = server.metadata_uri(role, tmp_path)
    server.ensure_metadata_database(metadata)
    engine = create_engine(make_url(metadata).set(drivername="postgresql+psycopg2"))
    try:
        with engine.connect() as conn:
            row = conn.exec_driver_sql("select current_user, current_database()").one()
        assert tuple(row) == (ROLE, server.METADATA_DB)
    finally:
        engine.dispose()


@pytest.mark.unit
def test_a_mistyped_scheme_is_refused_without_echoing_the_password():
    with pytest.raises(ValueError, match="postgressql") as refused:
        _ = Warehouse(f"postgressql://bob:{quote(PASSWORD, safe='')}@db/wh").kind
    assert "p@ss" not in str(refused.value) and "p%40ss" not in str(refused.value)


@pytest.mark.unit
def test_the_reader_role_may_read_marts_only_and_its_password_is_never_shown():
    statements = reader.reader_role_sql(Warehouse(URL), PASSWORD)
    grants = [s for s in statements if s.startswith(("GRANT", "ALTER DEFAULT"))]
    assert all(" ON SCHEMA marts " in s or " IN SCHEMA marts " in s for s in grants[1:])
    assert not any(
        word in s for s in grants for word in ("INSERT", "UPDATE", "CREATE ON", "GRANT ALL")
    )
    shown = reader.printable_sql(Warehouse(URL), PASSWORD)
    assert PASSWORD not in shown and reader.HIDDEN in shown
    assert len(shown.splitlines()) == len(statements)
