"""The session's warehouses, each built once by the real `chatsales run` (Dagster → dlt → dbt)
in the background and shared by many tests: the demo on DuckDB and on PostgreSQL, and the
16-month demo (the planted stories) on DuckDB."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from chatsales.core.settings import Warehouse

from .background_builds import built_in_background
from .cli import SESSION_ENVIRON, run_cli_ok, warehouse_env
from .demo_landing import STORY_DEMO_ARGS
from .wazzup_api_replay import WAZZUP_API_KEY


@dataclass
class BuiltWarehouse:
    warehouse: Warehouse
    env: dict[str, str]
    first_run: subprocess.CompletedProcess
    second_run: subprocess.CompletedProcess | None = None


def build_demo(tmp: Path, url: str, landing: Path, wazzup_api_url: str) -> BuiltWarehouse:
    env = warehouse_env(tmp, url, landing)
    env.update(
        SOURCES__WAZZUP_API__API_KEY=WAZZUP_API_KEY, SOURCES__WAZZUP_API__BASE_URL=wazzup_api_url
    )
    return BuiltWarehouse(Warehouse(url), env, run_cli_ok(["run"], env))


def build_story(tmp: Path) -> BuiltWarehouse:
    landing = tmp / "landing"
    run_cli_ok(["demo", *STORY_DEMO_ARGS, "--landing", str(landing)], SESSION_ENVIRON)
    env = warehouse_env(tmp, f"duckdb:///{tmp / 'warehouse.duckdb'}", landing)
    return BuiltWarehouse(Warehouse(env["CHATSALES_WAREHOUSE"]), env, run_cli_ok(["run"], env))


def _demo_warehouse(request, engine: str) -> tuple[Callable, tuple]:
    tmp = request.getfixturevalue("tmp_path_factory").mktemp(engine)
    if engine == "duckdb":
        url = f"duckdb:///{tmp / 'warehouse.duckdb'}"
    else:
        url = request.getfixturevalue("postgres_url")
    landing, api = (request.getfixturevalue(f) for f in ("demo_landing", "wazzup_api_url"))
    return build_demo, (tmp, url, landing, api)


# `built` and `superset` (tests/conftest.py) run each test on both warehouses, taking the
# build by name at run time.
@built_in_background("duckdb_warehouse", also_used_by=("built[duckdb]",))
def _duckdb_build(request):
    return _demo_warehouse(request, "duckdb")


@built_in_background("postgres_warehouse", also_used_by=("built[postgres]", "superset[postgres]"))
def _postgres_build(request):
    return _demo_warehouse(request, "postgres")


@built_in_background("story_warehouse", also_used_by=("superset[duckdb]",))
def _story_build(request):
    return build_story, (request.getfixturevalue("tmp_path_factory").mktemp("stories"),)
