"""Superset's own PostgreSQL login: `chatsales_reader` may read schema `marts` and nothing else.

The pipeline's user owns every schema (raw text included) and may write; Superset, SQL Lab
included, connects as this role instead. Its password is generated once and kept with the
other Superset credentials (paths.credentials)."""

from __future__ import annotations

import os
from contextlib import closing
from pathlib import Path

from chatsales.core.settings import Warehouse

READER_ROLE = "chatsales_reader"
SCHEMA = "marts"
HIDDEN = "<reader_password from credentials.json>"


def reader_role_sql(wh: Warehouse, password: str) -> list[str]:
    """The statements, each safe to run again, that create the role and grant it `marts`."""
    owner = wh.postgres["user"].replace('"', '""')
    database = wh.postgres["dbname"].replace('"', '""')
    literal = "'" + password.replace("'", "''") + "'"
    return [
        f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{READER_ROLE}') "
        f"THEN CREATE ROLE {READER_ROLE} LOGIN; END IF; END $$",
        f"ALTER ROLE {READER_ROLE} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE "
        f"PASSWORD {literal}",
        f"ALTER ROLE {READER_ROLE} SET default_transaction_read_only = on",
        f'GRANT CONNECT ON DATABASE "{database}" TO {READER_ROLE}',
        f'CREATE SCHEMA IF NOT EXISTS {SCHEMA} AUTHORIZATION "{owner}"',
        f"GRANT USAGE ON SCHEMA {SCHEMA} TO {READER_ROLE}",
        f"GRANT SELECT ON ALL TABLES IN SCHEMA {SCHEMA} TO {READER_ROLE}",
        # dbt replaces a table by a new one: the new one must be readable too
        f'ALTER DEFAULT PRIVILEGES FOR ROLE "{owner}" IN SCHEMA {SCHEMA} '
        f"GRANT SELECT ON TABLES TO {READER_ROLE}",
    ]


def may_create_roles(cursor) -> bool:
    cursor.execute("select rolsuper or rolcreaterole from pg_roles where rolname = current_user")
    return bool(cursor.fetchone()[0])


def ensure_reader_role(wh: Warehouse, password: str, home: Path) -> Path | None:
    """Create or update the role as the pipeline's user. Where that user may not create
    roles, write the SQL for an administrator into `<home>/reader_role.sql` (mode 600, it
    holds the password) and return its path; None when the role is ready."""
    import psycopg2

    statements = reader_role_sql(wh, password)
    with closing(psycopg2.connect(wh.postgres_url(), connect_timeout=10)) as conn:
        conn.autocommit = True
        with conn.cursor() as cursor:
            if may_create_roles(cursor):
                for statement in statements:
                    cursor.execute(statement)
                return None
    path = home / "reader_role.sql"
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write("".join(f"{statement};\n" for statement in statements))
    return path


def printable_sql(wh: Warehouse, password: str) -> str:
    """The statements with the password hidden, for a terminal or a log."""
    return "\n".join(f"{s};" for s in reader_role_sql(wh, password)).replace(password, HIDDEN)
