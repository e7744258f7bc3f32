"""Set up, start, watch and stop the Superset process (it runs from .venv-superset)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from pathlib import Path
from urllib.parse import urlparse

from chatsales.core.settings import Warehouse, as_warehouse, dashboards_warehouse, settings

from . import reader
from .paths import (
    CONFIG_PATH,
    HOST,
    PROVISION_SCRIPT,
    base_url,
    credentials,
    superset_home,
    superset_port,
    superset_venv,
)

METADATA_DB = "superset"
HEAD_USER = "head"


def metadata_uri(wh: Warehouse, home: Path) -> str:
    """Database `superset` on a PostgreSQL warehouse's server; else SQLite in Superset's home."""
    if uri := settings().superset_metadata_uri:
        return uri.get_secret_value()
    if wh.kind != "postgres":
        return f"sqlite:///{home / 'superset.db'}"
    return wh.postgres_url(database=METADATA_DB)


def superset_env(warehouse=None, home=None, port=None, language=None) -> dict[str, str]:
    """The environment of every Superset command and of the server process (its UI in
    `language`, default CHATSALES_LANGUAGE)."""
    wh = as_warehouse(warehouse)
    home = Path(home) if home else superset_home()
    port = int(port or superset_port())
    secrets = credentials(home)
    return {
        **os.environ,
        "SUPERSET_HOME": str(home),
        "SUPERSET_CONFIG_PATH": str(CONFIG_PATH),
        "SUPERSET_LOAD_EXAMPLES": "no",
        "CHATSALES_WAREHOUSE": wh.url,
        "CHATSALES_SUPERSET_METADATA_URI": metadata_uri(wh, home),
        "CHATSALES_SUPERSET_SECRET_KEY": secrets["secret_key"],
        "CHATSALES_SUPERSET_ADMIN_USER": secrets["admin_user"],
        "CHATSALES_SUPERSET_ADMIN_PASSWORD": secrets["admin_password"],
        "CHATSALES_SUPERSET_PORT": str(port),
        "CHATSALES_SUPERSET_URL": base_url(port),
        "CHATSALES_LANGUAGE": language or settings().language,
    }


def ensure_metadata_database(uri: str) -> None:
    """Create the PostgreSQL metadata database if the server lacks it."""
    import psycopg2

    parsed = urlparse(uri)
    dbname = parsed.path.lstrip("/")
    conn = psycopg2.connect(uri.rsplit("/", 1)[0] + "/postgres", connect_timeout=10)
    try:
        conn.autocommit = True
        with conn.cursor() as cursor:
            cursor.execute("select 1 from pg_database where datname = %s", (dbname,))
            if cursor.fetchone() is None:
                cursor.execute(f'create database "{dbname}"')
    finally:
        conn.close()


def manager_ids(wh: Warehouse) -> list[str]:
    """The managers of marts.dim_managers (the serving copy on DuckDB); [] before the first run."""
    sql = "select manager_id from marts.dim_managers where manager_id <> 'unassigned' order by 1"
    from chatsales.core.warehouse import query

    try:
        return [row[0] for row in query(sql, dashboards_warehouse(wh))]
    except Exception:
        return []


def provision_spec(env: dict[str, str]) -> dict:
    """The users to create: admin, `head` (Sales head) and one Manager per manager_id."""
    home = Path(env["SUPERSET_HOME"])
    managers = manager_ids(Warehouse(env["CHATSALES_WAREHOUSE"]))
    passwords = credentials(home, (HEAD_USER, *managers))["users"]
    users = [{"username": HEAD_USER, "role": "Sales head", "first_name": "Head",
              "last_name": "of sales", "password": passwords[HEAD_USER]}]  # fmt: skip
    users += [{"username": m, "role": "Manager", "first_name": "Manager", "last_name": m,
               "password": passwords[m]} for m in managers]  # fmt: skip
    admin = {"username": env["CHATSALES_SUPERSET_ADMIN_USER"],
             "password": env["CHATSALES_SUPERSET_ADMIN_PASSWORD"]}  # fmt: skip
    return {"admin": admin, "users": users}


def _superset_python() -> str:
    python = superset_venv() / "bin" / "python"
    if not python.exists():
        raise RuntimeError(f"{python} not found: run scripts/setup_superset.sh first")
    return str(python)


def setup(env: dict[str, str]) -> list[str]:
    """Migrate the metadata DB, sync roles, create/update roles and users. Idempotent.
    Returns the provisioned usernames (admin first)."""
    Path(env["SUPERSET_HOME"]).mkdir(parents=True, exist_ok=True)
    if env["CHATSALES_SUPERSET_METADATA_URI"].startswith("postgres"):
        ensure_metadata_database(env["CHATSALES_SUPERSET_METADATA_URI"])
    spec = provision_spec(env)
    result = subprocess.run(
        [_superset_python(), str(PROVISION_SCRIPT), "setup"],
        input=json.dumps(spec),
        env=env,
        cwd=env["SUPERSET_HOME"],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise RuntimeError(f"Superset setup failed:\n{result.stderr[-4000:]}")
    setup_reader(env)
    return [spec["admin"]["username"], *(user["username"] for user in spec["users"])]


def setup_reader(env: dict[str, str]) -> None:
    """On PostgreSQL, the role Superset reads the warehouse as (reader.py); where the
    pipeline's user may not create it, the SQL for an administrator is printed instead."""
    wh = Warehouse(env["CHATSALES_WAREHOUSE"])
    if wh.kind != "postgres":
        return
    password = credentials(Path(env["SUPERSET_HOME"]))["reader_password"]
    sql_file = reader.ensure_reader_role(wh, password, Path(env["SUPERSET_HOME"]))
    if sql_file is None:
        print(f"✓ PostgreSQL role {reader.READER_ROLE}: reads schema marts only", flush=True)
        return
    print(f"! {wh.postgres['user']} may not create roles: an administrator must run, once,")
    print(f"  psql -d {wh.postgres['dbname']} -f {sql_file}   (it holds the password), i.e.:")
    print(reader.printable_sql(wh, password), flush=True)


def gunicorn_command(env: dict[str, str]) -> list[str]:
    """gunicorn serving Superset on 127.0.0.1, at the port `env` names."""
    gunicorn = superset_venv() / "bin" / "gunicorn"
    return [
        str(gunicorn), "--bind", f"{HOST}:{env['CHATSALES_SUPERSET_PORT']}",
        "--workers", "1", "--worker-class", "gthread", "--threads", "8", "--timeout", "120",
        "--limit-request-line", "0", "--limit-request-field_size", "0",
        "superset.app:create_app()",
    ]  # fmt: skip


def start(env: dict[str, str], log_path: Path | None) -> subprocess.Popen:
    """Start gunicorn serving Superset on 127.0.0.1 in its own session, its output appended
    to log_path (None: this terminal)."""
    command = gunicorn_command(env)
    with contextlib.ExitStack() as stack:
        log = None
        if log_path is not None:
            Path(log_path).parent.mkdir(parents=True, exist_ok=True)
            log = stack.enter_context(open(log_path, "ab"))
        return subprocess.Popen(
            command,
            env=env,
            cwd=env["SUPERSET_HOME"],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT if log else None,
            start_new_session=True,
        )


def is_healthy(url: str) -> bool:
    from chatsales.app.serve.health import http_ok

    return http_ok(f"{url.rstrip('/')}/health")


def wait_healthy(url: str, timeout: float = 120, proc: subprocess.Popen | None = None) -> float:
    """Wait until `<url>/health` answers 200; the seconds it took."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if is_healthy(url):
            return time.monotonic() - started
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"Superset exited with code {proc.returncode} before answering")
        time.sleep(0.5)
    raise TimeoutError(f"Superset at {url} not healthy after {timeout:.0f}s")


def stop(proc: subprocess.Popen, timeout: float = 30) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
