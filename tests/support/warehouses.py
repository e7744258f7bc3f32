"""The session's warehouses, each built once by the real `chatsales run` (Dagster → dlt → dbt)
in the background and shared by many tests: the demo on DuckDB and on PostgreSQL, and the
16-month demo (the planted stories) on DuckDB."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from chatsales.core.settings import Warehouse
from chatsales.core.warehouse import table_counts

from .background_builds import built_in_background
from .cli import run_cli, run_cli_ok, warehouse_env
from .demo_landing import STORY_DEMO_ARGS
from .wazzup_api_replay import WAZZUP_API_KEY


@dataclass
class BuiltWarehouse:
    warehouse: Warehouse
    env: dict[str, str]
    first_run: subprocess.CompletedProcess
    second_run: subprocess.CompletedProcess | None = None  # see second_run()
    counts_before_second_run: dict[str, dict[str, int]] | None = None

    @contextmanager
    def dagster_instance(self) -> Iterator:
        """The build's Dagster instance, opened as `chatsales` opens it: on PostgreSQL its
        storage's password comes from the variable its dagster.yaml names."""
        from dagster import DagsterInstance

        from orchestration.instance import PASSWORD_VARIABLE

        if self.warehouse.kind == "postgres":
            os.environ[PASSWORD_VARIABLE] = self.warehouse.postgres["password"]
        with DagsterInstance.from_config(self.env["DAGSTER_HOME"]) as instance:
            yield instance

    def env_for(self, tmp: Path, url: str, landing: Path) -> dict[str, str]:
        """An environment like this build's, on another warehouse (of the same engine) and
        landing folder: the same API sources, and this build's dbt manifest, so the first run
        skips a `dbt parse` (chatsales's fingerprint check still decides whether it is valid)."""
        env = warehouse_env(tmp, url, landing)
        env.update({k: v for k, v in self.env.items() if k.startswith("SOURCES__")})
        target = Path(env["DBT_TARGET_PATH"])
        target.mkdir(parents=True, exist_ok=True)
        for name in ("manifest.json", "manifest.fingerprint", "partial_parse.msgpack"):
            if (ours := Path(self.env["DBT_TARGET_PATH"]) / name).exists():
                shutil.copy2(ours, target / name)
        return env


def build_demo(tmp: Path, url: str, landing: Path, wazzup_api_url: str) -> BuiltWarehouse:
    env = warehouse_env(tmp, url, landing)
    env.update(
        SOURCES__WAZZUP_API__API_KEY=WAZZUP_API_KEY, SOURCES__WAZZUP_API__BASE_URL=wazzup_api_url
    )
    return BuiltWarehouse(Warehouse(url), env, run_cli_ok(["run"], env))


def build_story(tmp: Path) -> BuiltWarehouse:
    """As scripts/demo.sh does: the demo, then a run, with one state dir (where the demo records
    the first day of its history)."""
    landing = tmp / "landing"
    env = warehouse_env(tmp, f"duckdb:///{tmp / 'warehouse.duckdb'}", landing)
    run_cli_ok(["demo", *STORY_DEMO_ARGS, "--landing", str(landing)], env)
    return BuiltWarehouse(Warehouse(env["CHATSALES_WAREHOUSE"]), env, run_cli_ok(["run"], env))


def data_counts(built: BuiltWarehouse) -> dict[str, dict[str, int]]:
    """Rows per table of every schema, without dlt's own bookkeeping (a load is recorded)."""
    schemas = ["raw_wazzup", "raw_amocrm", "raw_directory", "staging", "intermediate", "marts"]
    return {
        schema: {t: n for t, n in table_counts(schema, built.warehouse).items() if t[0] != "_"}
        for schema in schemas
    }


def second_run(built: BuiltWarehouse) -> subprocess.CompletedProcess:
    """The build's second `chatsales run`, with no new data: run once, for every test that asks;
    `built.counts_before_second_run` keeps the rows from before it."""
    if built.second_run is None:
        built.counts_before_second_run = data_counts(built)
        built.second_run = run_cli(["run"], built.env)
    return built.second_run


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
