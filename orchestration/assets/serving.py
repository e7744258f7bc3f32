"""The serving copy of the marts that Superset reads (DuckDB and Spark warehouses; a
PostgreSQL warehouse serves its readers itself, and the asset has nothing to copy there)."""

from dagster import AssetExecutionContext, AssetKey, MaterializeResult, asset

from chatsales.core.settings import serving_duckdb_path

from .. import serving
from ..pools import WAREHOUSE_POOL
from ..resources import WarehouseResource


@asset(
    key=AssetKey(["serving", "superset_duckdb"]),
    deps=[AssetKey([serving.SCHEMA, table]) for table in serving.SERVED_TABLES],
    group_name="serving",
    pool=WAREHOUSE_POOL,
    description="The marts the dashboards read, copied into a separate DuckDB file and "
    "swapped in by rename: DuckDB locks a file across processes, so Superset never opens "
    "the warehouse the pipeline writes; from Spark, its Parquet export, so a dashboard does "
    "not wait for Spark. On PostgreSQL, Superset reads the warehouse itself.",
)
def superset_serving_duckdb(
    context: AssetExecutionContext, warehouse: WarehouseResource
) -> MaterializeResult:
    target = warehouse.target
    if target.kind == "postgres":
        context.log.info(f"Superset reads {target.display_name} itself: nothing to copy")
        return MaterializeResult(metadata={"served_from": target.display_name})
    rows = serving.publish(target)
    path = serving_duckdb_path(target)
    context.log.info(f"Published {sum(rows.values()):,} rows to {path}")
    return MaterializeResult(metadata={"path": str(path), **rows})


serving_assets = [superset_serving_duckdb]
