"""A `chatsales run` killed mid-way (SIGKILL, a crash, the machine going down) leaves its
Dagster run STARTED with the warehouse pool's slot claimed: every later run would wait for
that slot forever ("Step still blocked by limit for pool warehouse"). So each run is tagged
with the process that runs it, and before a run starts, the runs whose process is gone are
marked failed and their slots freed. A live run, in this or another process, is left alone.

The rest of a killed run needs nothing: dlt finishes or replays its pending load packages,
the dbt models are rebuilt from what is loaded (DuckDB and PostgreSQL roll back a statement
cut short), and the serving copy is swapped in by rename.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dagster import DagsterInstance

RUNNER_TAG = "chatsales/runner"  # "<boot id>:<pid>:<process start time>"
BOOT_ID = Path("/proc/sys/kernel/random/boot_id")


def _process_start(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (stat field 22), or None if gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]  # fields after "(comm)" start at field 3


def _boot_id() -> str:
    try:
        return BOOT_ID.read_text().strip()
    except OSError:
        return "unknown"


def runner_tags() -> dict[str, str]:
    """Tags naming this process, so a later run can tell whether it still runs."""
    pid = os.getpid()
    return {RUNNER_TAG: f"{_boot_id()}:{pid}:{_process_start(pid)}"}


def is_running(tag: str) -> bool:
    boot, pid, started = tag.split(":")
    return boot == _boot_id() and _process_start(int(pid)) == started


def release_abandoned_runs(instance: DagsterInstance) -> list[str]:
    """Mark failed the unfinished runs whose process is gone, and free the pool slots (and
    places in a pool's queue) of every run that has ended or that the instance no longer
    knows; the ids of the runs marked failed."""
    from dagster import DagsterRunStatus, RunsFilter

    unfinished = [DagsterRunStatus.NOT_STARTED, DagsterRunStatus.STARTING, DagsterRunStatus.STARTED]
    released = []
    for run in instance.get_runs(filters=RunsFilter(statuses=unfinished)):
        tag = run.tags.get(RUNNER_TAG)
        if tag is not None and not is_running(tag):
            instance.report_run_failed(run, "its chatsales run process is gone (killed or crashed)")
            released.append(run.run_id)
    storage = instance.event_log_storage
    holders = set(storage.get_concurrency_run_ids())
    for pool in storage.get_concurrency_keys():
        holders.update(slot.run_id for slot in storage.get_concurrency_info(pool).claimed_slots)
    for run_id in holders:
        run = instance.get_run_by_id(run_id)
        if run is None or run.is_finished:
            storage.free_concurrency_slots_for_run(run_id)
    return released
