"""dbt models as Dagster assets; dbt tests become asset checks."""

from collections.abc import Mapping
from typing import Any

from dagster import AssetExecutionContext, Config
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource
from dagster_dbt import dbt_assets as dbt_assets_decorator

from ..project import dbt_project


class WarehouseDbtTranslator(DagsterDbtTranslator):
    """Groups by folder (staging, intermediate, marts); sources keep `[schema, table]` keys,
    the keys the dlt assets have, so the lineage is one graph."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "model":
            return dbt_resource_props["fqn"][1]
        return super().get_group_name(dbt_resource_props)


class DbtBuildConfig(Config):
    """Launchpad options of the dbt step."""

    full_refresh: bool = False
    """Rebuild incremental models from all history (after changing managers.csv or a
    metric definition); a daily run only recomputes the chats with recent messages."""


@dbt_assets_decorator(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=WarehouseDbtTranslator(
        settings=DagsterDbtTranslatorSettings(enable_asset_checks=True)
    ),
    pool="warehouse_writer",
)
def dbt_models(context: AssetExecutionContext, dbt: DbtCliResource, config: DbtBuildConfig):
    # unit tests check the SQL, not the data: the test suite runs them on both engines
    # (tests/test_pipeline.py), a scheduled run does not pay for them every time
    args = ["build", "--exclude-resource-type", "unit_test"]
    if config.full_refresh:
        args.append("--full-refresh")
    yield from dbt.cli(args, context=context).stream()
