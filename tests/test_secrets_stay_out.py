"""No secret the pipeline was given is written anywhere a run leaves files: run logs, dlt
state and traces, the Dagster instance (run records, events: in PostgreSQL with that
warehouse), dbt artifacts, GX Data Docs, and the DuckDB warehouse itself.

The session's builds carry the secrets: the Wazzup API key (its API is replayed) and, on
PostgreSQL, the superuser's password, random and holding `@/:%#`."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from chatsales.app.superset.paths import credentials
from chatsales.core.warehouse import connect

from .support.run_files import files_of_a_run

pytestmark = [pytest.mark.warehouse, pytest.mark.postgres]


def secrets_of(env: dict[str, str], password: str) -> set[str]:
    given = {env["SOURCES__WAZZUP_API__API_KEY"], password} - {""}
    # as they may be written: plain, percent-encoded (a URL), JSON-escaped
    return given | {quote(s, safe="") for s in given} | {s.replace("/", "\\/") for s in given}


def test_no_secret_is_written_by_a_run(built):
    secrets = secrets_of(built.env, built.warehouse.postgres["password"])
    files = files_of_a_run(built.env)
    assert len(files) > 20 and secrets
    found = []
    for path in files:
        data = path.read_bytes()
        found += [f"{path}: a {len(s)}-character secret" for s in secrets if s.encode() in data]
    if built.warehouse.kind == "postgres":  # Dagster's run records and events are kept there
        with connect(built.warehouse) as conn, conn.cursor() as cursor:
            for table, column in (("runs", "run_body"), ("event_logs", "event")):
                for secret in secrets:
                    cursor.execute(
                        f"select count(*) from dagster.{table} where strpos({column}, %s) > 0",
                        (secret,),
                    )
                    found += [f"dagster.{table}: a secret"] * cursor.fetchone()[0]
    assert found == []
    output = built.first_run.stdout + built.first_run.stderr
    assert not [secret for secret in secrets if secret in output]


@pytest.mark.superset
def test_no_superset_secret_is_logged(superset):
    """Superset's secret key, the reader role's and every user's password stay in
    credentials.json (mode 600): never in Superset's log."""
    stored = credentials(superset.home)
    secrets = {stored["secret_key"], stored["admin_password"], stored["reader_password"]}
    secrets |= set(stored["users"].values())
    log = superset.log_path.read_text(errors="replace")
    assert len(log) > 1000 and len(secrets) > 3
    assert not [secret for secret in secrets if secret in log]
