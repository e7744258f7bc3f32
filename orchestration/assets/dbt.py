"""dbt models as Dagster assets; dbt tests become asset checks.

Models derived from messages (`int_messages` and everything downstream) are partitioned by
day: a backfill of some days recomputes the chats active on those days. The rest (staging
views, managers, CRM deals, the business calendar) is unpartitioned and rebuilt every run.
"""

import json
from collections.abc import Mapping
from typing import Any

from dagster import AssetExecutionContext, BackfillPolicy, Config, Output
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource
from dagster_dbt import dbt_assets as dbt_assets_decorator

from ..partitions import daily_partitions, window_vars
from ..pools import WAREHOUSE_POOL
from ..project import dbt_project
from ..resources import WarehouseResource
from .directory import BUILT_FROM, RECORDED_ON, directory_fingerprint, fingerprint_built_from

MESSAGE_MODELS = "int_messages+"
# unit tests check the SQL, not the data: the test suite runs them on both engines
# (tests/test_pipeline.py), a scheduled run does not pay for them every time
BUILD = ["build", "--exclude-resource-type", "unit_test"]


class WarehouseDbtTranslator(DagsterDbtTranslator):
    """Groups by folder (staging, intermediate, marts) and seeds; sources keep
    `[schema, table]` keys, the keys the dlt assets have, so the lineage is one graph."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "model":
            return dbt_resource_props["fqn"][1]
        if dbt_resource_props["resource_type"] == "seed":
            return "seeds"
        return super().get_group_name(dbt_resource_props)


TRANSLATOR = WarehouseDbtTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))


class DbtBuildConfig(Config):
    """Launchpad options of the message models' dbt step."""

    full_refresh: bool = False
    """Rebuild incremental models from all history (after changing a metric definition; a
    changed managers.csv is noticed and rebuilt from all history by itself)."""

    catch_up: bool = False
    """Ignore the run's partitions in SQL and recompute the chats with messages newer than the
    models' own data (what `chatsales run` and the new-data sensors do, on the range of days
    that recomputes: orchestration/partitions.py). Off: recompute the chats with a message on
    the run's days (a backfill)."""


def catch_up_config(full_refresh: bool = False) -> dict:
    """Run config of a catch-up run of the message models."""
    return {
        "ops": {"dbt_message_models": {"config": {"catch_up": True, "full_refresh": full_refresh}}}
    }


# what both dbt steps share: the manifest, the asset keys and groups, the warehouse pool
DBT_ASSETS = {
    "manifest": dbt_project.manifest_path,
    "project": dbt_project,
    "dagster_dbt_translator": TRANSLATOR,
    "pool": WAREHOUSE_POOL,
}


@dbt_assets_decorator(**DBT_ASSETS, exclude=MESSAGE_MODELS)
def dbt_reference_models(
    context: AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource
):
    warehouse.hand_on_to_dbt()
    yield from warehouse.dbt_for(dbt).cli(BUILD, context=context).stream()


@dbt_assets_decorator(
    **DBT_ASSETS,
    select=MESSAGE_MODELS,
    partitions_def=daily_partitions,
    # one dbt build for a whole backfill: the window reaches dbt as two vars
    backfill_policy=BackfillPolicy.single_run(),
)
def dbt_message_models(
    context: AssetExecutionContext,
    dbt: DbtCliResource,
    warehouse: WarehouseResource,
    config: DbtBuildConfig,
):
    directory = directory_fingerprint(warehouse.target)
    full_refresh = config.full_refresh or _directory_changed(context, directory)
    warehouse.hand_on_to_dbt()
    args = list(BUILD)
    if config.catch_up:
        days = context.partition_key_range
        context.log.info(
            f"Catching up: recomputing the chats with recent messages (recorded on {days.start} "
            f"to {days.end})"
        )
    else:
        window = window_vars(context.partition_time_window)
        context.log.info(
            f"Recomputing the chats active from {window['window_start']} "
            f"to {window['window_end']} (exclusive)"
        )
        args += ["--vars", json.dumps(window)]
    if full_refresh:
        args.append("--full-refresh")
    recorded_on = context.assets_def.get_output_name_for_asset_key(RECORDED_ON)
    for event in warehouse.dbt_for(dbt).cli(args, context=context).stream():
        if directory and isinstance(event, Output) and event.output_name == recorded_on:
            event = event.with_metadata({**event.metadata, BUILT_FROM: directory})
        yield event


def _directory_changed(context: AssetExecutionContext, directory: str | None) -> bool:
    built_from = fingerprint_built_from(context.instance)
    if directory is None or built_from is None or directory == built_from:
        return False
    context.log.warning(
        "managers.csv changed whose messages are whose since the last build: rebuilding the "
        "message models from all history"
    )
    return True
