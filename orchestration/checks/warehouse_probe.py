"""Is the table there, and can we read the warehouse now?

DuckDB allows one writer per file: while a pipeline run holds it, a read-only open fails at
once ("Could not set lock on file"). Checks report that as a busy warehouse, not a crash.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from chatsales.core.settings import Warehouse
from chatsales.core.warehouse import table_names

BUSY_SIGNS = ("could not set lock", "conflicting lock", "different configuration")


class WarehouseBusy(Exception):
    """The DuckDB file is held by another connection; try again after the writer is done."""


def _is_busy(error: BaseException | None) -> bool:
    while error is not None:
        if any(sign in str(error).lower() for sign in BUSY_SIGNS):
            return True
        error = error.__cause__ or error.__context__
    return False


@contextmanager
def busy_as_warehouse_busy(target: Warehouse) -> Iterator[None]:
    """Turn a DuckDB lock error (however deep GX or SQLAlchemy wrapped it) into WarehouseBusy."""
    try:
        yield
    except Exception as error:
        if target.kind == "duckdb" and _is_busy(error):
            raise WarehouseBusy(
                f"DuckDB warehouse {target.display_name} is busy: another connection holds it "
                "(a pipeline run?); the check runs again with the next run"
            ) from error
        raise


def table_exists(target: Warehouse, schema: str, table: str) -> bool:
    return table in table_names(schema, target)
