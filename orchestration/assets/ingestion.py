"""dlt sources as Dagster assets, keyed `[raw_<source>, <table>]` like the dbt sources."""

from dagster import AssetExecutionContext, AssetKey, AssetSpec
from dagster_dlt import DagsterDltResource, DagsterDltTranslator, dlt_assets
from dagster_dlt.translator import DltResourceTranslatorData

from ingestion.pipelines import SOURCE_NAMES, pipeline, source


class WarehouseDltTranslator(DagsterDltTranslator):
    def get_asset_spec(self, data: DltResourceTranslatorData) -> AssetSpec:
        spec = super().get_asset_spec(data)
        dataset = data.pipeline.dataset_name if data.pipeline else data.resource.source_name
        return spec.replace_attributes(
            key=AssetKey([dataset, data.resource.table_name]),
            deps=[],
            group_name="ingestion",
        )


def _dlt_asset(source_name: str):
    @dlt_assets(
        dlt_source=source(source_name),
        dlt_pipeline=pipeline(source_name),
        name=f"{source_name}_raw",
        dagster_dlt_translator=WarehouseDltTranslator(),
        pool="warehouse_writer",
    )
    def load(context: AssetExecutionContext, dlt: DagsterDltResource):
        # Built again at run time: a long-running UI must see landing files that
        # appeared after it started.
        yield from dlt.run(context=context, dlt_source=source(source_name))

    return load


ingestion_assets = [_dlt_asset(name) for name in SOURCE_NAMES]
