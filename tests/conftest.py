"""Session fixtures: one demo landing folder, one DuckDB and one PostgreSQL warehouse, each
built once by the real `chatsales run` (Dagster → dlt → dbt) and shared by many tests.

The warehouses (and the test modules' own heavy builds, registered with
`built_in_background`) are built in the background, two at a time, from the moment the
first is needed: a build keeps one core busy, and the tests meanwhile use the other."""

from __future__ import annotations

import functools
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from chatsales.core.settings import Warehouse

from .http_replay import ReplayHandler
from .postgres_server import throwaway_postgres

REPO_ROOT = Path(__file__).resolve().parent.parent
CHATSALES = str(Path(sys.executable).with_name("chatsales"))
# Small enough to build twice on two engines in a few minutes, big enough for every story
# month to hold dialogs, deals and waits.
DEMO_ARGS = ["--seed", "7", "--scale", "0.08", "--months", "4"]
# The planted stories need all 16 months (trailing baselines, the June dip, a year ago) and
# enough dialogs per manager-month for medians and proportion tests: one DuckDB build.
STORY_DEMO_ARGS = ["--seed", "7", "--scale", "0.4", "--months", "16"]


def pytest_configure(config):
    # Servers the tests start inherit the pytest process's signal dispositions. Started from
    # a launcher that ignores SIGINT/SIGTERM (CI's does), they would ignore a polite stop.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)


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


def run_cli_ok(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    """`run_cli` that fails the test with the command's output when the command fails."""
    result = run_cli(args, env)
    assert result.returncode == 0, (
        f"chatsales {args[0]} failed:\n{result.stdout}\n{result.stderr[-5000:]}"
    )
    return result


# The environment pytest started with: builds running beside the tests must not read
# os.environ while a test patches it.
SESSION_ENVIRON = dict(os.environ)


def warehouse_env(tmp: Path, url: str, landing: Path) -> dict[str, str]:
    env = {
        k: v for k, v in SESSION_ENVIRON.items() if not k.startswith(("CHATSALES_", "SOURCES__"))
    }
    env.update(
        CHATSALES_WAREHOUSE=url,
        CHATSALES_LANDING=str(landing),
        CHATSALES_STATE_DIR=str(tmp / "state"),
        DAGSTER_HOME=str(tmp / "dagster_home"),
        DBT_TARGET_PATH=str(tmp / "dbt_target"),
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


WAZZUP_API_KEY = "test-wazzup-key"
WAZZUP_CHANNELS = [
    {"channelId": UNMAPPED_CHANNEL, "transport": "whatsapp", "plainId": "79990000009",
     "state": "active"},
    {"channelId": "11111111-2222-4333-8444-555555555555", "transport": "tgapi",
     "plainId": "79990000010", "state": "phoneUnavailable"},
]  # fmt: skip
WAZZUP_USERS = [{"id": "8100001", "name": "Алексей Смирнов"}, {"id": "8100002", "name": "Мария"}]


class WazzupApiReplay(ReplayHandler):
    """The Wazzup API v3 for the session's runs (the real one is not reachable here)."""

    def do_GET(self):  # noqa: N802
        if self.headers.get("Authorization") != f"Bearer {WAZZUP_API_KEY}":
            return self._reply(401, {"error": "unauthorized"})
        path = urlparse(self.path).path
        bodies = {"/v3/channels": WAZZUP_CHANNELS, "/v3/users": WAZZUP_USERS}
        return self._reply(200, bodies[path]) if path in bodies else self._reply(404, {})


@pytest.fixture(scope="session")
def wazzup_api_url() -> str:
    server = ThreadingHTTPServer(("127.0.0.1", 0), WazzupApiReplay)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/v3"
    server.shutdown()


@pytest.fixture(scope="session")
def demo_landing(tmp_path_factory) -> Path:
    landing = tmp_path_factory.mktemp("landing")
    env = dict(os.environ)
    run_cli_ok(["demo", *DEMO_ARGS, "--landing", str(landing)], env)
    for kind, path in IMPORTED_EXPORTS:
        run_cli_ok(["import", kind, str(path), "--manager", "m01", "--landing", str(landing)], env)
    lines = [
        b if isinstance(b, str) else json.dumps(b, ensure_ascii=False) for b in PROBLEM_WEBHOOKS
    ]
    (landing / "wazzup" / "zz-problems.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    shutil.copytree(FIXTURES / "bitrix24", landing / "bitrix24")  # saved API pages
    # every export variant the source tests cover, through Dagster into both warehouses
    # (folders igor/maria/oleg are no demo managers: they show up in data_issues)
    for kind in ("telegram", "whatsapp"):
        shutil.copytree(FIXTURES / kind / "landing" / kind, landing / kind, dirs_exist_ok=True)
    return landing


@pytest.fixture(scope="session")
def postgres_url() -> str:
    with throwaway_postgres() as url:
        yield url


def build_warehouse(tmp: Path, url: str, landing: Path, wazzup_api_url: str) -> BuiltWarehouse:
    """`chatsales run` of the demo landing (and the Wazzup API replay) into `url`."""
    env = warehouse_env(tmp, url, landing)
    env.update(
        SOURCES__WAZZUP_API__API_KEY=WAZZUP_API_KEY, SOURCES__WAZZUP_API__BASE_URL=wazzup_api_url
    )
    return BuiltWarehouse(Warehouse(url), env, run_cli_ok(["run"], env))


def _build_story(tmp: Path) -> BuiltWarehouse:
    landing = tmp / "landing"
    run_cli_ok(["demo", *STORY_DEMO_ARGS, "--landing", str(landing)], SESSION_ENVIRON)
    env = warehouse_env(tmp, f"duckdb:///{tmp / 'warehouse.duckdb'}", landing)
    return BuiltWarehouse(Warehouse(env["CHATSALES_WAREHOUSE"]), env, run_cli_ok(["run"], env))


class BackgroundBuilds:
    """Builds running beside the tests, at most `slots` at a time, in the order started. A
    build is mostly one `chatsales run` process using about one core; CI has two."""

    def __init__(self, slots: int = 2):
        self._queue: queue.Queue = queue.Queue()
        self._builds: dict[str, Future] = {}
        for _ in range(slots):  # daemons: an interrupted session does not wait for them
            threading.Thread(target=self._work, daemon=True).start()

    def _work(self) -> None:
        while True:
            build, function, args = self._queue.get()
            if build.set_running_or_notify_cancel():
                try:
                    build.set_result(function(*args))
                except BaseException as error:  # re-raised in the test that asks for it
                    build.set_exception(error)

    def start(self, name: str, prepare: Callable[[], tuple[Callable, tuple]]) -> None:
        """prepare() runs now, here; what it returns runs in the background. If it fails or
        skips, so do the tests that ask for this build, and only they."""
        self._builds[name] = Future()
        try:
            function, args = prepare()
        except (Exception, pytest.skip.Exception, pytest.fail.Exception) as error:
            self._builds[name].set_exception(error)
        else:
            self._queue.put((self._builds[name], function, args))

    def result(self, name: str) -> Any:
        return self._builds[name].result()


@dataclass
class Background:
    prepare: Callable[[pytest.FixtureRequest], tuple[Callable, tuple]]
    users: set[str]


# name -> how to start it; filled as conftest and the test modules are imported
BACKGROUND: dict[str, Background] = {}


def built_in_background(name: str, also_used_by: tuple[str, ...] = ()):
    """Registers `prepare(request) -> (function, args)` for the build `name`: it runs in the
    main thread when the session's builds start, and `function(*args)` runs beside the tests.
    Fixtures in `also_used_by` take the build by name at run time, so pytest can't see it."""

    def register(prepare):
        BACKGROUND[name] = Background(prepare, {name, *also_used_by})
        return prepare

    return register


@pytest.fixture(scope="session")
def warehouse_builds(request) -> BackgroundBuilds:
    """Every registered build a collected test uses starts as soon as the first build is
    asked for, two side by side, instead of each when its first test comes."""
    used = set().union(*(item.fixturenames for item in request.session.items))
    builds = BackgroundBuilds()
    for name, background in BACKGROUND.items():
        if background.users & used:
            builds.start(name, functools.partial(background.prepare, request))
    return builds


def _session_warehouse(request, engine: str) -> tuple[Callable, tuple]:
    tmp = request.getfixturevalue("tmp_path_factory").mktemp(engine)
    if engine == "duckdb":
        url = f"duckdb:///{tmp / 'warehouse.duckdb'}"
    else:
        url = request.getfixturevalue("postgres_url")
    landing, api = (request.getfixturevalue(f) for f in ("demo_landing", "wazzup_api_url"))
    return build_warehouse, (tmp, url, landing, api)


@built_in_background("duckdb_warehouse", also_used_by=("built",))
def _duckdb_build(request):
    return _session_warehouse(request, "duckdb")


@built_in_background("postgres_warehouse", also_used_by=("built", "superset"))
def _postgres_build(request):
    return _session_warehouse(request, "postgres")


@built_in_background("story_warehouse", also_used_by=("superset",))
def _story_build(request):
    return _build_story, (request.getfixturevalue("tmp_path_factory").mktemp("stories"),)


@pytest.fixture(scope="session")
def duckdb_warehouse(warehouse_builds) -> BuiltWarehouse:
    return warehouse_builds.result("duckdb_warehouse")


@pytest.fixture(scope="session")
def postgres_warehouse(warehouse_builds) -> BuiltWarehouse:
    return warehouse_builds.result("postgres_warehouse")


@pytest.fixture(scope="session", params=["duckdb", "postgres"])
def built(request) -> BuiltWarehouse:
    """Each test that takes `built` runs on both warehouses."""
    return request.getfixturevalue(f"{request.param}_warehouse")


@pytest.fixture(scope="session")
def story_warehouse(warehouse_builds) -> BuiltWarehouse:
    """The demo company alone, 16 months, on DuckDB: where the planted stories are checked."""
    return warehouse_builds.result("story_warehouse")


@pytest.fixture(scope="session")
def dagster_defs(tmp_path_factory, demo_landing):
    """`orchestration.definitions.defs`, imported once per session (Python caches the module)
    with the environment pointing at a scratch DuckDB warehouse and a copy of the demo landing
    folder, so schedules, sensors and single assets run for real without touching the shared
    warehouses."""
    tmp = tmp_path_factory.mktemp("defs")
    landing = tmp / "landing"
    shutil.copytree(demo_landing, landing)
    saved = dict(os.environ)
    os.environ.update(
        CHATSALES_WAREHOUSE=f"duckdb:///{tmp / 'warehouse.duckdb'}",
        CHATSALES_LANDING=str(landing),
        CHATSALES_STATE_DIR=str(tmp / "state"),
        DBT_TARGET_PATH=str(tmp / "dbt_target"),
    )
    from orchestration.runner import prepare_dbt

    prepare_dbt()
    from orchestration.definitions import defs

    yield defs
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture(scope="session")
def superset_duckdb(story_warehouse, tmp_path_factory):
    """Superset (SQLite metadata) over the 16-month demo's serving DuckDB, bundle imported."""
    from .superset_server import running_superset

    with running_superset(story_warehouse, tmp_path_factory.mktemp("superset_duckdb")) as superset:
        yield superset


@pytest.fixture(scope="session")
def superset_postgres(postgres_warehouse, tmp_path_factory):
    """Superset with its metadata in PostgreSQL, reading the PostgreSQL warehouse."""
    from .superset_server import running_superset

    with running_superset(postgres_warehouse, tmp_path_factory.mktemp("superset_pg")) as superset:
        yield superset


@pytest.fixture(scope="session", params=["duckdb", "postgres"])
def superset(request):
    """Each test that takes `superset` runs on both warehouses."""
    return request.getfixturevalue(f"superset_{request.param}")
