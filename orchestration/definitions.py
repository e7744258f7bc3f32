"""The one Dagster entry point: `dagster dev -w workspace.yaml` loads `defs` from here."""

from __future__ import annotations

from dagster import Definitions, in_process_executor, multiprocess_executor

from chatsales.core.settings import warehouse

from .assets.dbt import dbt_message_models, dbt_reference_models
from .assets.ingestion import ingestion_assets
from .assets.serving import serving_assets
from .checks import gx_checks
from .jobs import ingestion_job, marts_job, quality_job, warehouse_job
from .loggers import progress_logger
from .resources import resources
from .schedules import schedules
from .sensors.alerts import sensors as alert_sensors
from .sensors.new_data import sensors as new_data_sensors

# DuckDB has one writer per file: run steps one after another there.
executor = in_process_executor if warehouse().kind == "duckdb" else multiprocess_executor

defs = Definitions(
    assets=[*ingestion_assets, dbt_reference_models, dbt_message_models, *serving_assets],
    asset_checks=gx_checks,
    jobs=[warehouse_job, ingestion_job, marts_job, quality_job],
    schedules=schedules,
    sensors=[*new_data_sensors, *alert_sensors],
    resources=resources,
    executor=executor,
    loggers={"console": progress_logger},
)
