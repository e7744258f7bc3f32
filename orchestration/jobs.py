"""Jobs: asset selections the CLI, the schedules, the sensors and the UI launch.

The CRM loads are a job of their own, never a step of a job that builds models: Dagster skips
every step downstream of a failed one, so a CRM outage in the same run would leave the messenger
marts unbuilt. Apart, a CRM outage is a failed `crm_job` run, and the models read the CRM data
loaded before (`chatsales run` launches `crm_job`, then `warehouse_job`; the new-rows sensor
refreshes the marts after a CRM run that loaded rows)."""

from __future__ import annotations

from dagster import AssetSelection, define_asset_job

from .assets.dbt import dbt_message_models, dbt_reference_models
from .assets.ingestion import crm_assets, ingestion_assets
from .assets.serving import serving_assets
from .checks import gx_checks

CRM = AssetSelection.assets(*crm_assets)
# the messengers (landing files, Wazzup API) and the directory
NOT_CRM = AssetSelection.assets(*ingestion_assets) - CRM
MODELS = AssetSelection.assets(dbt_reference_models, dbt_message_models, *serving_assets)

warehouse_job = define_asset_job(
    name="warehouse_job",
    selection=NOT_CRM | MODELS,
    description="Load every source but the CRMs (crm_job), then build and test every dbt "
    "model on the CRM data loaded so far.",
)

crm_job = define_asset_job(
    name="crm_job",
    selection=CRM,
    description="Load amoCRM and Bitrix24 (deals, contacts, users) into their raw schemas; "
    "incremental from each source's cursor. A failure here never blocks the marts.",
)

ingestion_job = define_asset_job(
    name="ingestion_job",
    selection=NOT_CRM,
    description="Load the landing folder and the messenger APIs into the raw schemas (the "
    "CRMs: crm_job).",
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
