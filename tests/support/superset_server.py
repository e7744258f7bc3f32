"""A real Superset for tests: set up from .venv-superset on a free port against a built
warehouse (its UI in CHATSALES_LANGUAGE, ru by default), the committed bundle imported in
English (the source, whose labels the chart references use) through
`chatsales.app.superset.client`, and logged-in REST sessions for any of its users (the same
API the dashboards' charts call)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
import yaml

from chatsales.app.superset import client, server
from chatsales.app.superset.language import SOURCE_LANGUAGE
from chatsales.app.superset.paths import credentials, superset_venv
from chatsales.core.settings import dashboards_warehouse
from chatsales.core.warehouse import connect

from .paths import REPO_ROOT
from .postgres_server import free_port
from .warehouses import BuiltWarehouse

BUNDLE = REPO_ROOT / "superset_exports"
DASHBOARDS = ["overview", "managers", "response-time-and-load", "conversion", "anomalies", "day"]


def listing(session: requests.Session, url: str, resource: str) -> list[dict]:
    """Every `resource` (dashboard, chart, dataset, …) the session may see, through the REST API."""
    query = json.dumps({"page_size": 100})
    answer = session.get(f"{url}/api/v1/{resource}/", params={"q": query}, timeout=60)
    answer.raise_for_status()
    return answer.json()["result"]


@dataclass
class RunningSuperset:
    url: str
    home: Path
    log_path: Path
    built: BuiltWarehouse
    admin: tuple[str, str]
    users: list[str]
    imported: dict = field(default_factory=dict)

    def password(self, username: str) -> str:
        if username == self.admin[0]:
            return self.admin[1]
        return credentials(self.home)["users"][username]

    def session(self, username: str | None = None) -> requests.Session:
        """A REST session logged in as `username` (default admin), with its CSRF token."""
        username = username or self.admin[0]
        session = requests.Session()
        login = session.post(
            f"{self.url}/api/v1/security/login",
            json={"username": username, "password": self.password(username), "provider": "db"},
            timeout=30,
        )
        login.raise_for_status()
        session.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
        csrf = session.get(f"{self.url}/api/v1/security/csrf_token/", timeout=30)
        session.headers.update({"X-CSRFToken": csrf.json()["result"], "Referer": self.url})
        return session

    def query(self, sql: str) -> list[dict]:
        """Rows as dicts from what this Superset reads (the serving copy on DuckDB)."""
        with connect(dashboards_warehouse(self.built.warehouse)) as conn:
            cursor = conn.cursor()
            cursor.execute(sql)
            names = [column[0] for column in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def edited_bundle(tmp: Path, kind: str, **changes) -> tuple[Path, dict]:
    """A copy of the bundle with the first `kind` file (charts, dashboards…) edited; the
    copy's folder and that object as it was."""
    edited = tmp / "bundle"
    shutil.copytree(BUNDLE, edited)
    path = sorted((edited / kind).glob("*.yaml"))[0]
    original = yaml.safe_load(path.read_text())
    path.write_text(yaml.safe_dump({**original, **changes}, sort_keys=False))
    return edited, original


def require_superset_venv() -> None:
    if not (superset_venv() / "bin" / "gunicorn").exists():
        pytest.skip(f"{superset_venv()} is absent: scripts/setup_superset.sh creates it")


@contextmanager
def running_superset(built: BuiltWarehouse, home: Path) -> Iterator[RunningSuperset]:
    """Set up, start and import the bundle; stop on exit."""
    require_superset_venv()
    env = server.superset_env(built.warehouse, home=home, port=free_port())
    users = server.setup(env)
    log_path = home / "superset.log"
    process = server.start(env, log_path)
    try:
        url = env["CHATSALES_SUPERSET_URL"]
        server.wait_healthy(url, timeout=180, proc=process)
        admin = (env["CHATSALES_SUPERSET_ADMIN_USER"], env["CHATSALES_SUPERSET_ADMIN_PASSWORD"])
        superset = RunningSuperset(url, home, log_path, built, admin, users)
        reader_password = credentials(home)["reader_password"]
        superset.imported = client.import_bundle(
            url, *admin, BUNDLE, built.warehouse, reader_password=reader_password
        )
        yield superset
    finally:
        server.stop(process)


@contextmanager
def imported_in(superset: RunningSuperset, language: str) -> Iterator[dict]:
    """The bundle imported in `language` for the block, the source (English) again after it,
    as the other tests expect it."""
    args = (superset.url, *superset.admin, BUNDLE, superset.built.warehouse)
    reader_password = credentials(superset.home)["reader_password"]
    try:
        yield client.import_bundle(*args, language, reader_password=reader_password)
    finally:
        if language != SOURCE_LANGUAGE:
            client.import_bundle(*args, SOURCE_LANGUAGE, reader_password=reader_password)


def rows_per_manager(superset, username: str, dataset_id: int) -> dict[str, int]:
    """COUNT(*) by manager_id on one dataset, through the chart-data API as `username`."""
    query_context = {
        "datasource": {"id": dataset_id, "type": "table"},
        "force": True,
        "queries": [
            {
                "columns": ["manager_id"],
                "metrics": [
                    {"expressionType": "SQL", "sqlExpression": "COUNT(*)", "label": "rows"}
                ],
                "row_limit": 1000,
                "orderby": [],
            }
        ],
        "result_format": "json",
        "result_type": "full",
    }
    answer = superset.session(username).post(
        f"{superset.url}/api/v1/chart/data", json=query_context, timeout=120
    )
    assert answer.status_code == 200, answer.text[:500]
    return {row["manager_id"]: row["rows"] for row in answer.json()["result"][0]["data"]}
