"""dlt sources as Dagster assets, keyed `[raw_<source>, <table>]` like the dbt sources."""

from __future__ import annotations

from dagster import AssetExecutionContext, AssetKey, AssetSpec
from dagster_dlt import DagsterDltResource, DagsterDltTranslator, dlt_assets
from dagster_dlt.translator import DltResourceTranslatorData

from ingestion.pipelines import pipeline, sources


class WarehouseDltTranslator(DagsterDltTranslator):
    def get_asset_spec(self, data: DltResourceTranslatorData) -> AssetSpec:
        spec = super().get_asset_spec(data)
        dataset = data.pipeline.dataset_name if data.pipeline else data.resource.source_name
        return spec.replace_attributes(
            key=AssetKey([dataset, data.resource.table_name]),
            deps=[],
            group_name="ingestion",
        )


def _dlt_asset(source_name: str, source):
    @dlt_assets(
        dlt_source=source,
        dlt_pipeline=pipeline(source_name),
        name=f"{source_name}_raw",
        dagster_dlt_translator=WarehouseDltTranslator(),
        pool="warehouse_writer",
    )
    def load(context: AssetExecutionContext, dlt: DagsterDltResource):
        yield from dlt.run(context=context)

    return load


ingestion_assets = [_dlt_asset(name, source) for name, source in sources().items()]
