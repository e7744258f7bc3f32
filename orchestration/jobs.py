"""Jobs: asset selections the CLI, the schedules, the sensors and the UI launch."""

from __future__ import annotations

from dagster import AssetSelection, define_asset_job

from .assets.dbt import dbt_message_models, dbt_reference_models
from .assets.ingestion import ingestion_assets
from .assets.serving import serving_assets
from .checks import gx_checks

INGESTION = AssetSelection.assets(*ingestion_assets)
MODELS = AssetSelection.assets(dbt_reference_models, dbt_message_models, *serving_assets)

warehouse_job = define_asset_job(
    name="warehouse_job",
    selection=INGESTION | MODELS,
    description="Load every source, then build and test every dbt model.",
)

ingestion_job = define_asset_job(
    name="ingestion_job",
    selection=INGESTION,
    description="Load the landing folder and the APIs into the raw schemas.",
)

marts_job = define_asset_job(
    name="marts_job",
    selection=MODELS,
    description="Build and test the dbt models and publish the dashboards' copy; for a "
    "partition range, recompute the chats active on those days.",
)

quality_job = define_asset_job(
    name="quality_job",
    selection=AssetSelection.checks(*gx_checks),
    description="Validate the warehouse as it is against every Great Expectations suite "
    "(expectations/suites); results in the checks and in GX Data Docs.",
)
