"""Every suite in `expectations/suites/` as a Dagster asset check on each table it guards.
(No `from __future__ import annotations`: Dagster checks the context annotation at runtime.)

The checks are not blocking: a failed expectation marks the check red and reaches the
alerts, but does not stop downstream models (the numbers are still the best there are).
"""

from dataclasses import asdict

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetKey,
    MetadataValue,
    asset_check,
)

from ..pools import WAREHOUSE_POOL
from ..resources import WarehouseResource
from .docs_paths import data_docs_index
from .outcome import ValidationOutcome
from .suites import SuiteFile, load_suites
from .warehouse_probe import WarehouseBusy


def check_metadata(outcome: ValidationOutcome) -> dict:
    metadata = {
        "suite": outcome.suite,
        "table": outcome.table,
        "expectations": outcome.evaluated,
        "failed_expectations": len(outcome.failed),
        "failures": MetadataValue.json([asdict(failure) for failure in outcome.failed]),
        "seconds": outcome.seconds,
        "data_docs": MetadataValue.path(str(outcome.data_docs)),
    }
    if outcome.row_count is not None:
        metadata["row_count"] = outcome.row_count
    if outcome.skipped:
        metadata["skipped"] = outcome.skipped
    if outcome.error:
        metadata["error"] = outcome.error
    return metadata


def gx_check(suite: SuiteFile, schema: str, table: str) -> AssetChecksDefinition:
    @asset_check(
        asset=AssetKey([schema, table]),
        name=f"gx_{suite.name}",
        description=f"Great Expectations suite {suite.name}: {suite.notes}",
        blocking=False,
        pool=WAREHOUSE_POOL,
    )
    def _check(
        context: AssetCheckExecutionContext, warehouse: WarehouseResource
    ) -> AssetCheckResult:
        # GX is imported by the first check that runs, not with the definitions (seconds
        # that every Dagster process would pay: the UI, the daemon's ticks)
        from .great_expectations import validate

        try:
            outcome = validate(
                warehouse.target, schema, table, suite, run_name=context.run.run_id[:8]
            )
        except WarehouseBusy as busy:
            # Nothing is known about the data: a warning, not an error the alerts page on.
            context.log.warning(str(busy))
            return AssetCheckResult(
                passed=False,
                severity=AssetCheckSeverity.WARN,
                description=str(busy),
                metadata={"suite": suite.name, "warehouse_busy": True, "error": str(busy)},
            )
        context.log.info(outcome.summary)
        return AssetCheckResult(
            passed=outcome.success,
            severity=AssetCheckSeverity.ERROR,
            description=outcome.summary,
            metadata=check_metadata(outcome),
        )

    return _check


gx_checks: list[AssetChecksDefinition] = [
    gx_check(suite, schema, table) for suite in load_suites() for schema, table in suite.tables
]

__all__ = ["data_docs_index", "gx_check", "gx_checks"]
