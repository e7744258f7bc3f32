"""Session fixtures: one demo landing folder, one DuckDB and one PostgreSQL warehouse, each
built once by the real `chatsales run` (Dagster → dlt → dbt) and shared by many tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from chatsales.settings import Warehouse

from .postgres_server import throwaway_postgres

REPO_ROOT = Path(__file__).resolve().parent.parent
CHATSALES = str(Path(sys.executable).with_name("chatsales"))
# Small enough to build twice on two engines in a few minutes, big enough for every story
# month to hold dialogs, deals and waits.
DEMO_ARGS = ["--seed", "7", "--scale", "0.08", "--months", "4"]


@dataclass
class BuiltWarehouse:
    warehouse: Warehouse
    env: dict[str, str]
    first_run: subprocess.CompletedProcess
    second_run: subprocess.CompletedProcess | None = None


def run_cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [CHATSALES, *args], env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=1800
    )


def warehouse_env(tmp: Path, url: str, landing: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CHATSALES_", "SOURCES__"))}
    env.update(
        CHATSALES_WAREHOUSE=url,
        CHATSALES_LANDING=str(landing),
        CHATSALES_STATE_DIR=str(tmp / "state"),
        DAGSTER_HOME=str(tmp / "dagster_home"),
    )
    return env


FIXTURES = Path(__file__).parent / "fixtures"
# Beside the demo: chat exports a head of sales imports, and webhooks nobody can attribute.
IMPORTED_EXPORTS = [
    ("whatsapp", FIXTURES / "whatsapp/landing/whatsapp/m01/Чат WhatsApp с Анна Клиентова.txt"),
    ("telegram", FIXTURES / "telegram/landing/telegram/igor/chat_anna_2024-03-13.json"),
]
UNMAPPED_CHANNEL = "00000000-dead-4bee-8000-000000000000"
PROBLEM_WEBHOOKS = [
    {"messages": [{"messageId": "stray-1", "dateTime": "2025-08-04T09:00:00.000Z",
                   "channelId": UNMAPPED_CHANNEL, "chatType": "whatsapp",
                   "chatId": "79005550101", "type": "text", "isEcho": False,
                   "text": "Здравствуйте", "status": "inbound"}]},
    '{"messages": [{"messageId": "cut-off',
]  # fmt: skip


@pytest.fixture(scope="session")
def demo_landing(tmp_path_factory) -> Path:
    landing = tmp_path_factory.mktemp("landing")
    env = dict(os.environ)
    result = run_cli(["demo", *DEMO_ARGS, "--landing", str(landing)], env)
    assert result.returncode == 0, result.stdout + result.stderr
    for kind, path in IMPORTED_EXPORTS:
        imported = run_cli(
            ["import", kind, str(path), "--manager", "m01", "--landing", str(landing)], env
        )
        assert imported.returncode == 0, imported.stdout + imported.stderr
    lines = [
        b if isinstance(b, str) else json.dumps(b, ensure_ascii=False) for b in PROBLEM_WEBHOOKS
    ]
    (landing / "wazzup" / "zz-problems.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return landing


@pytest.fixture(scope="session")
def postgres_url() -> str:
    with throwaway_postgres() as url:
        yield url


def _build(tmp: Path, url: str, landing: Path) -> BuiltWarehouse:
    env = warehouse_env(tmp, url, landing)
    first = run_cli(["run"], env)
    assert first.returncode == 0, f"chatsales run failed:\n{first.stdout}\n{first.stderr[-5000:]}"
    return BuiltWarehouse(Warehouse(url), env, first)


@pytest.fixture(scope="session")
def duckdb_warehouse(tmp_path_factory, demo_landing) -> BuiltWarehouse:
    tmp = tmp_path_factory.mktemp("duckdb")
    return _build(tmp, f"duckdb:///{tmp / 'warehouse.duckdb'}", demo_landing)


@pytest.fixture(scope="session")
def postgres_warehouse(tmp_path_factory, demo_landing, postgres_url) -> BuiltWarehouse:
    return _build(tmp_path_factory.mktemp("postgres"), postgres_url, demo_landing)


@pytest.fixture(scope="session", params=["duckdb", "postgres"])
def built(request) -> BuiltWarehouse:
    """Each test that takes `built` runs on both warehouses."""
    return request.getfixturevalue(f"{request.param}_warehouse")
