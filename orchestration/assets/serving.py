"""The serving copy of the marts that Superset reads (DuckDB warehouses only)."""

from dagster import AssetExecutionContext, AssetKey, MaterializeResult, asset

from chatsales.core.settings import serving_duckdb_path, warehouse
from orchestration import serving

from ..pools import WAREHOUSE_POOL


@asset(
    key=AssetKey(["serving", "superset_duckdb"]),
    deps=[AssetKey([serving.SCHEMA, table]) for table in serving.SERVED_TABLES],
    group_name="serving",
    pool=WAREHOUSE_POOL,
    description="The marts the dashboards read, copied into a separate DuckDB file and "
    "swapped in by rename: DuckDB locks a file across processes, so Superset never opens "
    "the warehouse the pipeline writes.",
)
def superset_serving_duckdb(context: AssetExecutionContext) -> MaterializeResult:
    rows = serving.publish()
    context.log.info(f"Published {sum(rows.values()):,} rows to {serving_duckdb_path()}")
    return MaterializeResult(metadata={"path": str(serving_duckdb_path()), **rows})


# PostgreSQL serves many readers while it writes: Superset reads the warehouse itself.
serving_assets = [superset_serving_duckdb] if warehouse().kind == "duckdb" else []
