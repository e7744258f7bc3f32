"""Fixtures and hooks only; what tests share besides fixtures is in tests/support.

Session fixtures: one demo landing folder, one DuckDB and one PostgreSQL warehouse, each
built once by the real `chatsales run` (Dagster → dlt → dbt) and shared by many tests; the
builds run in the background (tests/support/background_builds.py).

Every test carries a layer marker (pyproject.toml lists them); collection fails otherwise."""

from __future__ import annotations

import functools
import os
import shutil
import signal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from chatsales.core.settings import Settings

from .support.background_builds import BACKGROUND, BackgroundBuilds, builds_used_by
from .support.demo_landing import write_demo_landing
from .support.layer_markers import check_layer_markers
from .support.postgres_server import throwaway_postgres
from .support.warehouses import BuiltWarehouse
from .support.wazzup_api_replay import wazzup_api

# parsers' fuzzing (tests/test_parser_fuzzing.py): repeatable with a fixed budget, unless
# HYPOTHESIS_PROFILE=dev asks for a longer random search
_SLOW_IS_FINE = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example]
settings.register_profile(
    "ci", derandomize=True, max_examples=60, deadline=None, suppress_health_check=_SLOW_IS_FINE
)
settings.register_profile("dev", max_examples=1000, deadline=None,
                          suppress_health_check=_SLOW_IS_FINE)  # fmt: skip
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

pytest_plugins = ["pytester"]  # tests/test_markers.py runs pytest on tiny test files


def pytest_configure(config):
    # Servers the tests start inherit the pytest process's signal dispositions. Started from
    # a launcher that ignores SIGINT/SIGTERM (CI's does), they would ignore a polite stop.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects: an unmarked test fails every run
def pytest_collection_modifyitems(config, items):
    check_layer_markers(items)
    # the Spark tests' slice builds beside the other tests (tests/test_spark.py): they come last
    items.sort(key=lambda item: item.get_closest_marker("spark") is not None)


@pytest.fixture(scope="session")
def wazzup_api_url() -> str:
    with wazzup_api() as url:
        yield url


@pytest.fixture(scope="session")
def demo_landing(tmp_path_factory) -> Path:
    return write_demo_landing(tmp_path_factory.mktemp("landing"), dict(os.environ))


@pytest.fixture(scope="session")
def postgres_url() -> str:
    with throwaway_postgres() as url:
        yield url


@pytest.fixture(scope="session")
def warehouse_builds(request) -> BackgroundBuilds:
    """Every registered build a selected test uses starts as soon as the first build is
    asked for, two side by side, instead of each when its first test comes."""
    builds = BackgroundBuilds()
    for name in builds_used_by(request.session.items):
        builds.start(name, functools.partial(BACKGROUND[name].prepare, request))
    return builds


@pytest.fixture(scope="session")
def duckdb_warehouse(warehouse_builds) -> BuiltWarehouse:
    return warehouse_builds.result("duckdb_warehouse")


@pytest.fixture(scope="session")
def postgres_warehouse(warehouse_builds) -> BuiltWarehouse:
    return warehouse_builds.result("postgres_warehouse")


@pytest.fixture(
    scope="session", params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def built(request) -> BuiltWarehouse:
    """Each test that takes `built` runs on both warehouses; on PostgreSQL it is marked
    `postgres`."""
    return request.getfixturevalue(f"{request.param}_warehouse")


@pytest.fixture(scope="session")
def story_warehouse(warehouse_builds) -> BuiltWarehouse:
    """The demo company alone, 16 months, on DuckDB: where the planted stories are checked."""
    return warehouse_builds.result("story_warehouse")


@pytest.fixture(scope="session")
def dagster_defs(tmp_path_factory, demo_landing):
    """The project's Dagster definitions built with a warehouse resource of their own, a
    scratch DuckDB warehouse and a copy of the demo landing folder, so schedules, sensors and
    single assets run for real without touching the shared warehouses (and without patching
    the environment)."""
    tmp = tmp_path_factory.mktemp("defs")
    landing = tmp / "landing"
    shutil.copytree(demo_landing, landing)
    from orchestration.dbt_manifest import prepare_dbt

    prepare_dbt()
    from orchestration.definitions import build_definitions
    from orchestration.resources import WarehouseResource, resources_for

    warehouse = WarehouseResource(
        url=f"duckdb:///{tmp / 'warehouse.duckdb'}", landing=str(landing), state_dir=str(tmp)
    )
    return build_definitions({**resources_for(Settings()), "warehouse": warehouse})


@pytest.fixture(scope="session")
def superset_duckdb(story_warehouse, tmp_path_factory):
    """Superset (SQLite metadata) over the 16-month demo's serving DuckDB, bundle imported."""
    from .support.superset_server import running_superset

    with running_superset(story_warehouse, tmp_path_factory.mktemp("superset_duckdb")) as superset:
        yield superset


@pytest.fixture(scope="session")
def superset_postgres(postgres_warehouse, tmp_path_factory):
    """Superset with its metadata in PostgreSQL, reading the PostgreSQL warehouse."""
    from .support.superset_server import running_superset

    with running_superset(postgres_warehouse, tmp_path_factory.mktemp("superset_pg")) as superset:
        yield superset


@pytest.fixture(
    scope="session", params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def superset(request):
    """Each test that takes `superset` runs on both warehouses; on PostgreSQL it is marked
    `postgres`."""
    return request.getfixturevalue(f"superset_{request.param}")
