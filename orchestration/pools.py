"""Concurrency pools (limits in the instance's dagster.yaml, see orchestration/instance.py)."""

from __future__ import annotations

import signal
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dagster import DagsterInstance

# Every step that opens the warehouse: DuckDB allows one writer per file, and no reader
# while it writes, so these steps take turns across all runs (limit 1).
WAREHOUSE_POOL = "warehouse"
STOPPED_WAITING = "Stopped while waiting for the warehouse: nothing ran."


def wait_for_the_warehouse(
    instance: DagsterInstance, say: Callable[[str], None], poll_seconds: float = 1.0
) -> None:
    """Return once the warehouse pool has a free slot; SIGTERM or Ctrl-C end the process.

    A run waits for its pool inside Dagster's interrupt capture, which holds SIGINT and
    SIGTERM until a step starts, so a run queued behind another could not be stopped. This
    wait comes before the run exists: stopping it leaves nothing half-done. (Another run can
    still take the slot in the instant between; the run then waits inside Dagster.)"""

    def stop(*_) -> None:
        sys.exit(STOPPED_WAITING)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        said = False
        while True:
            info = instance.event_log_storage.get_concurrency_info(WAREHOUSE_POOL)
            holders = sorted({slot.run_id for slot in info.claimed_slots})
            if len(holders) < (info.limit or 1):
                return
            if not said:
                say(
                    f"Waiting for run {', '.join(holders)} to release the warehouse "
                    "(Ctrl-C stops waiting)…"
                )
                said = True
            time.sleep(poll_seconds)
    except KeyboardInterrupt:
        stop()
    finally:
        signal.signal(signal.SIGTERM, previous)
