"""The Dagster instance: its dagster.yaml (concurrency pools, storage) and its storage, made
once by `ensure_dagster_home`.

With the DuckDB default, Dagster keeps run history, schedule ticks and sensor cursors in SQLite
files under DAGSTER_HOME. With a PostgreSQL warehouse they go to that database's `dagster`
schema, where they are backed up with the rest; `CHATSALES_DAGSTER_STORAGE` overrides the
choice: `sqlite`, or the postgresql:// URL of another database. The password is never
written: dagster.yaml names the variable it is read from, which chatsales sets for itself and
for the Dagster processes it starts (`dagster_storage_env`)."""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path

from chatsales.core.settings import Warehouse, dagster_home, settings

PASSWORD_VARIABLE = "CHATSALES_DAGSTER_PG_PASSWORD"
SCHEMA = "dagster"

SQLITE_STORAGE = """\
# Dagster's SQLite storage, writing a partition range's events in batches
storage:
  custom:
    module: orchestration.event_storage
    class: BatchingSqliteStorage
    config:
      base_dir: {home}
"""
POSTGRES_STORAGE = """\
# run history, schedule ticks and sensor cursors in PostgreSQL, schema {schema}, through
# Dagster's PostgreSQL storage writing a partition range's events in batches
storage:
  custom:
    module: orchestration.event_storage
    class: BatchingPostgresStorage
    config:
      postgres_db:
        hostname: {host}
        port: {port}
        username: {user}
        db_name: {dbname}
        scheme: postgresql+psycopg2
        password:
          env: {password_variable}
        params:
          options: {options}
"""


def dagster_storage() -> Warehouse | None:
    """The PostgreSQL database holding Dagster's storage, or None for SQLite."""
    config = settings()
    chosen = (config.dagster_storage or "").strip()
    if chosen == "sqlite":
        return None
    if chosen:
        return Warehouse(chosen)
    return config.warehouse if config.warehouse.kind == "postgres" else None


def storage_yaml(home: Path) -> str:
    database = dagster_storage()
    if database is None:
        return SQLITE_STORAGE.format(home=json.dumps(str(home.resolve())))
    pg = database.postgres
    return POSTGRES_STORAGE.format(
        schema=SCHEMA,
        password_variable=PASSWORD_VARIABLE,
        options=json.dumps(f"-csearch_path={SCHEMA}"),
        port=int(pg["port"]),
        **{key: json.dumps(pg[key]) for key in ("host", "user", "dbname")},
    )


def dagster_storage_env() -> dict[str, str]:
    """What a process opening the instance needs in its environment."""
    database = dagster_storage()
    return {PASSWORD_VARIABLE: database.postgres["password"]} if database else {}


def create_storage_schema() -> None:
    """Dagster creates its tables, not the schema they go in."""
    database = dagster_storage()
    if database is None:
        return
    from chatsales.core.warehouse import connect

    with connect(database, read_only=False) as conn:
        with conn.cursor() as cursor:
            cursor.execute(f"create schema if not exists {SCHEMA}")
        conn.commit()


WRITTEN_BY_CHATSALES = "# Written by chatsales; delete this line to keep your own edits."
DAGSTER_YAML = """\
{header}
telemetry:
  enabled: false
concurrency:
  pools:
    default_limit: 1
{storage}"""
# what chatsales wrote before the header (an instance made then is brought up to date)
FIRST_DAGSTER_YAML = """\
telemetry:
  enabled: false
concurrency:
  pools:
    default_limit: 1
"""


def ensure_dagster_home(home: Path | None = None) -> Path:
    """Write the instance's dagster.yaml (unless it is someone's own) and create its storage
    (default: DAGSTER_HOME), once, under a file lock: two processes creating the SQLite storage
    at once both stamp its migration table, and every later open of the instance fails on "more
    than one head". Sets what this process needs to open it (orchestration/instance.py)."""
    home = home or dagster_home()
    os.environ.update(dagster_storage_env())
    home.mkdir(parents=True, exist_ok=True)
    with open(home / ".init.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        config = home / "dagster.yaml"
        written = config.read_text() if config.exists() else None
        wanted = DAGSTER_YAML.format(header=WRITTEN_BY_CHATSALES, storage=storage_yaml(home))
        if written != wanted and (
            written in (None, FIRST_DAGSTER_YAML) or written.startswith(WRITTEN_BY_CHATSALES)
        ):
            config.write_text(wanted)
        ready = home / ".storage-ready"  # holds the dagster.yaml it was made for
        if not ready.exists() or ready.read_text() != wanted:
            create_storage_schema()
            from dagster import DagsterInstance

            with DagsterInstance.from_config(str(home)):
                ready.write_text(wanted)
    return home
