"""The one Dagster entry point: `dagster dev -w workspace.yaml` loads `defs` from here.

The definitions are the same whatever the environment: the resources name environment
variables (`CHATSALES_WAREHOUSE`, `CHATSALES_LANDING`, ...) that are read when a run or a tick
starts. `build_definitions` takes other resources: `chatsales run` passes the settings'
values, and a test passes its own warehouse."""

from __future__ import annotations

from dagster import Definitions, in_process_executor

from .assets.dbt import dbt_message_models, dbt_reference_models
from .assets.ingestion import ingestion_assets
from .assets.serving import serving_assets
from .checks import gx_checks
from .jobs import crm_job, ingestion_job, marts_job, quality_job, warehouse_job
from .loggers import progress_logger
from .resources import resources_from_environment
from .schedules import schedules
from .sensors.alerts import sensors as alert_sensors
from .sensors.new_data import sensors as new_data_sensors


def build_definitions(resources: dict | None = None) -> Definitions:
    return Definitions(
        assets=[*ingestion_assets, dbt_reference_models, dbt_message_models, *serving_assets],
        asset_checks=gx_checks,
        jobs=[warehouse_job, crm_job, ingestion_job, marts_job, quality_job],
        schedules=schedules,
        sensors=[*new_data_sensors, *alert_sensors],
        resources=resources or resources_from_environment(),
        # Steps run one after another in the run's process: every step that opens the
        # warehouse is in one pool anyway (DuckDB has one writer per file), and a step
        # process per step would pay the imports again.
        executor=in_process_executor,
        loggers={"console": progress_logger},
    )


defs = build_definitions()
