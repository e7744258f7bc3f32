"""Validate a warehouse table with a Great Expectations suite kept in the repo.

Each validation loads the suite from `expectations/suites/` (the repo stays the source of
truth), runs it as SQL in the warehouse (DuckDB through `duckdb_dialect`, PostgreSQL through
GX's postgres datasource, Spark through `spark_dialect`), stores the result and
updates the Data Docs under `<state_dir>/gx/`. Datasources live only in memory: connection
strings never reach disk.
"""

from __future__ import annotations

import time
import warnings
from datetime import UTC, datetime

import great_expectations as gx
from great_expectations.core.run_identifier import RunIdentifier

from chatsales.core.settings import Warehouse

from . import duckdb_dialect, spark_dialect
from .gx_context import (
    data_docs_index,
    gx_context,
    locked,
    prune_results,
    sync_suites,
    update_data_docs,
)
from .outcome import ValidationOutcome, outcome_from_result
from .suites import (
    ParameterNotConfigured,
    SuiteFile,
    expectation_parameters,
    load_suite,
    load_suites,
)
from .warehouse_probe import WarehouseBusy, busy_as_warehouse_busy, table_exists

__all__ = ["WarehouseBusy", "ValidationOutcome", "data_docs_index", "validate"]


def _datasource(context, target: Warehouse):
    if target.kind == "duckdb":
        return context.data_sources.add_sql(
            name="duckdb",
            connection_string=f"{duckdb_dialect.SCHEME}:///{target.duckdb_path}",
            kwargs={"connect_args": {"read_only": True}},
        )
    if target.kind == "spark":
        url = target.sqlalchemy_url.replace("hive://", f"{spark_dialect.SCHEME}://", 1)
        return context.data_sources.add_sql(name="spark", connection_string=url)
    return context.data_sources.add_postgres(
        name="postgres", connection_string=target.sqlalchemy_url
    )


def _dispose(datasource) -> None:
    """Close every pooled connection, so the DuckDB file is free for the next writer."""
    datasource.get_engine().dispose()
    datasource.get_execution_engine().engine.dispose()


def validate(
    target: Warehouse, schema: str, table: str, suite: str | SuiteFile, run_name: str | None = None
) -> ValidationOutcome:
    """Run `suite` on `schema.table`. Raises WarehouseBusy when DuckDB is locked by a writer."""
    suite = load_suite(suite) if isinstance(suite, str) else suite
    started, now = time.monotonic(), datetime.now(UTC)
    base = {"suite": suite.name, "table": f"{schema}.{table}", "data_docs": data_docs_index()}
    with busy_as_warehouse_busy(target):
        try:
            parameters = expectation_parameters(suite.parameters, target, now)
        except ParameterNotConfigured as skipped:
            return ValidationOutcome(**base, success=True, skipped=str(skipped))
        if not table_exists(target, schema, table):
            missing = f"table {schema}.{table} is missing"
            return ValidationOutcome(**base, success=False, error=missing)
        context = gx_context()
        with locked():
            others = [other for other in load_suites() if other.name != suite.name]
            stored = sync_suites(context, [*others, suite])
        run_id = RunIdentifier(run_name=run_name, run_time=now)
        result = _run(context, target, f"{schema}.{table}", stored[suite.name], parameters, run_id)
    with locked():
        prune_results()
        update_data_docs(context, run_id, suite.name)
    return outcome_from_result(result, base, seconds=time.monotonic() - started)


def _run(context, target: Warehouse, table: str, gx_suite, parameters: dict, run_id):
    schema_name, table_name = table.split(".", 1)
    datasource = _datasource(context, target)
    try:
        with warnings.catch_warnings():
            # GX 1.24 wants the schema in the connection URL; DuckDB URLs cannot carry one.
            warnings.filterwarnings("ignore", "`schema_name` is deprecated", DeprecationWarning)
            asset = datasource.add_table_asset(
                table, table_name=table_name, schema_name=schema_name
            )
        batch = asset.add_batch_definition_whole_table("whole table")
        definition = context.validation_definitions.add(
            gx.ValidationDefinition(name=f"{gx_suite.name} on {table}", data=batch, suite=gx_suite)
        )
        return definition.run(
            expectation_parameters=parameters, result_format="SUMMARY", run_id=run_id
        )
    finally:
        _dispose(datasource)
