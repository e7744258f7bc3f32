"""Resources shared by the assets, checks and sensors.

The definitions name environment variables (`EnvVar`), never their values: what the warehouse
is gets resolved when a run or a tick starts, so importing the definitions reads nothing from
the environment, and a test builds definitions with resources of its own
(`orchestration.definitions.build_definitions`)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from functools import cached_property
from importlib.metadata import version
from pathlib import Path

from dagster import ConfigurableResource, EnvVar
from dagster_dbt import DbtCliResource
from dagster_dlt import DagsterDltResource
from packaging.version import Version
from pydantic import Field

from chatsales.core.settings import Settings, Warehouse, export_dbt_env

from .notifications import AlertSettings, alert_settings
from .project import dbt_project

# What `chatsales ui` hands on to `dagster dev` (Settings.locations).
WAREHOUSE_VARIABLE = "CHATSALES_WAREHOUSE"
LANDING_VARIABLE = "CHATSALES_LANDING"
STATE_VARIABLE = "CHATSALES_STATE_DIR"


class WarehouseResource(ConfigurableResource):
    """The warehouse the pipeline writes, the landing folder it loads, and where the loads
    keep their state (dlt pipelines)."""

    url: str = Field(description="duckdb:///path or postgresql://user:pw@host:port/db")
    landing: str = Field(description="the landing folder (webhook files, chat exports, CSVs)")
    state_dir: str = Field(description="local state of the runs: dlt pipelines, logs")

    @classmethod
    def from_environment(cls) -> WarehouseResource:
        return cls(
            url=EnvVar(WAREHOUSE_VARIABLE),
            landing=EnvVar(LANDING_VARIABLE),
            state_dir=EnvVar(STATE_VARIABLE),
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> WarehouseResource:
        return cls(
            url=settings.warehouse_url,
            landing=str(settings.landing_dir),
            state_dir=str(settings.state_dir),
        )

    @property
    def target(self) -> Warehouse:
        return Warehouse(self.url)

    @property
    def landing_dir(self) -> Path:
        return Path(self.landing)

    @property
    def state_path(self) -> Path:
        return Path(self.state_dir)

    def hand_on_to_dbt(self) -> None:
        """dbt reads its profile from its environment: put this warehouse there."""
        export_dbt_env(self.target)

    def dbt_for(self, dbt: DbtCliResource) -> DbtCliResource:
        """`dbt`, running the dbt that builds this warehouse: on Spark, .venv-spark's (which
        need not exist when the definitions load)."""
        if self.target.kind != "spark":
            return dbt
        executable = self.target.dbt_executable
        if not executable.exists():
            raise FileNotFoundError(
                f"{executable} is missing: `chatsales spark start` or scripts/setup_spark.sh "
                "installs dbt-spark"
            )
        return dbt.model_copy(update={"dbt_executable": str(executable)})


class AlertsResource(ConfigurableResource):
    """Where alerts go and which: the `CHATSALES_ALERT_*` / `CHATSALES_TELEGRAM_*` settings,
    read from the environment on each tick (a changed variable counts at once), unless
    `environment` gives them."""

    environment: dict[str, str] = Field(
        default_factory=dict,
        description="the alert variables and their values, in place of the environment's",
    )

    def settings(self) -> AlertSettings:
        return alert_settings(self.environment or None)


class DbtCli(DbtCliResource):
    """dagster-dbt's resource, minus two things it does in this process before the first dbt
    command of a run, ~13 s together:
    - it asks `dbt --version`: the dbt it runs is this venv's, so dbt-core's version is known;
    - it opens a dbt adapter, which only serves `fetch_row_counts()` and
      `fetch_column_metadata()`, which these assets do not call."""

    @cached_property
    def _cli_version(self) -> Version:
        return Version(version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> None:
        return None


def dbt_resource() -> DbtCliResource:
    # The dbt beside this interpreter: the venv's bin is not always on PATH.
    return DbtCli(
        project_dir=dbt_project, dbt_executable=str(Path(sys.executable).with_name("dbt"))
    )


def resources_from_environment() -> dict:
    """The resources `dagster dev` and the daemon use: the warehouse named by env vars."""
    return {
        "dbt": dbt_resource(),
        "dlt": DagsterDltResource(),
        "warehouse": WarehouseResource.from_environment(),
        "alerts": AlertsResource(),
    }


def resources_for(settings: Settings, alerts: AlertsResource | None = None) -> dict:
    """The same resources with the values of `settings` (in-process runs, tests)."""
    return {
        **resources_from_environment(),
        "warehouse": WarehouseResource.from_settings(settings),
        "alerts": alerts or AlertsResource(),
    }
