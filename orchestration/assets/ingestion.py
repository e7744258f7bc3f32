"""dlt sources as Dagster assets, keyed `[raw_<source>, <table>]` like the dbt sources."""

from pathlib import Path

from dagster import AssetExecutionContext, AssetKey, AssetSpec, RetryRequested, multi_asset
from dagster_dlt import DagsterDltResource, DagsterDltTranslator, build_dlt_asset_specs
from dagster_dlt.translator import DltResourceTranslatorData

from chatsales.core.settings import settings
from chatsales.core.warehouse import table_names
from ingestion.pipelines import (
    CRM_SOURCES,
    SOURCE_NAMES,
    after_load,
    describing_pipeline,
    empty_source,
    pipeline,
    run_options,
    source,
)

from ..pools import WAREHOUSE_POOL
from ..resources import WarehouseResource

# Sources read over HTTP: an outage or a rate limit that outlasts the clients' own request
# retries fails the step, which Dagster then retries after 1, 2, 4 × the base delay.
API_SOURCES = ("wazzup_api", "amocrm", "bitrix24")
API_RETRIES = 3
# Sources whose tables all come from one pass over each new landing file, under one file
# cursor: loading one table alone would move the cursor past files the others never got, so
# their assets materialize together.
LOADED_TOGETHER = ("wazzup",)


def api_retry_base_seconds() -> float:
    return settings().api_retry_base_seconds


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
    # Built here only to describe the source's tables; the run builds both again from the
    # warehouse resource. This is dagster-dlt's `dlt_assets`, with subsetting chosen per source.
    with describing_pipeline(source_name) as describing:
        specs = build_dlt_asset_specs(
            source(source_name, Path(".")), describing, WarehouseDltTranslator()
        )

    @multi_asset(
        name=f"{source_name}_raw",
        specs=specs,
        can_subset=source_name not in LOADED_TOGETHER,
        pool=WAREHOUSE_POOL,
    )
    def load(context: AssetExecutionContext, dlt: DagsterDltResource, warehouse: WarehouseResource):
        try:
            loaded = list(
                dlt.run(
                    context=context,
                    dlt_source=source(source_name, warehouse.landing_dir),
                    dlt_pipeline=pipeline(source_name, warehouse.target, warehouse.state_path),
                    **run_options(warehouse.target),
                )
            )
            after_load(source_name, warehouse.target, warehouse.state_path)
            yield from loaded
        except Exception as error:
            if source_name not in API_SOURCES or context.retry_number >= API_RETRIES:
                if source_name in CRM_SOURCES:
                    _create_tables_if_never_loaded(context, source_name, warehouse)
                raise
            delay = api_retry_base_seconds() * 2**context.retry_number
            context.log.warning(f"{source_name} failed ({error}); retrying in {delay:.0f}s")
            raise RetryRequested(max_retries=API_RETRIES, seconds_to_wait=delay) from error

    return load


def _create_tables_if_never_loaded(
    context: AssetExecutionContext, source_name: str, warehouse: WarehouseResource
) -> None:
    """A CRM down on its very first load: its tables are created empty, so that the models
    reading them build (with no deals from it yet) instead of failing on a missing table. Its
    next load fills them from the start."""
    loader = pipeline(source_name, warehouse.target, warehouse.state_path)
    if table_names(loader.dataset_name, warehouse.target):
        return
    loader.run(empty_source(source_name), **run_options(warehouse.target))
    after_load(source_name, warehouse.target, warehouse.state_path)
    context.log.warning(
        f"{source_name} has never loaded: its tables are created empty, so the marts build "
        "without its deals until it answers"
    )


assets_by_source = {name: _dlt_asset(name) for name in SOURCE_NAMES}
ingestion_assets = list(assets_by_source.values())
# loaded by a run of their own (orchestration/jobs.py: crm_job), so that a CRM outage fails
# that run and the marts still build from the CRM data loaded before
crm_assets = [assets_by_source[name] for name in CRM_SOURCES]


def source_of_step(step_key: str) -> str:
    """`amocrm_raw` -> `amocrm`."""
    return step_key.removesuffix("_raw")
