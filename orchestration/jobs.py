"""Jobs: asset selections the CLI and the UI launch."""

from __future__ import annotations

from dagster import AssetSelection, define_asset_job

warehouse_job = define_asset_job(
    name="warehouse_job",
    selection=AssetSelection.all(),
    description="Load every source, then build and test every dbt model.",
)
