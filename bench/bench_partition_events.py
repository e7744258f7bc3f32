"""What recording a catch-up run on every day it recomputes costs. Runs the real `marts_job` as
a catch-up, in process, against the configured warehouse (default: the one scripts/demo.sh
built), as a partition range run over the last day and over every day of the history; on the
instance storage `chatsales` configures (orchestration/event_storage.py: a batch of events in
one transaction) and on Dagster's own SQLite storage, each in a scratch DAGSTER_HOME.

    .venv/bin/python bench/bench_partition_events.py [--days N] [--storage chatsales dagster]

Prints per run the wall seconds, the seconds spent storing Dagster's events and how many (and
of them, the ones Dagster hands over in batches: the planned and the materialized asset-days),
and per storage the cost per asset-day: the batches' extra storing time in the long range over
the one-day run, divided by its extra asset-days. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from dagster import DagsterInstance, PartitionKeyRange

from chatsales.core.settings import settings, warehouse
from orchestration.dbt_manifest import prepare_dbt
from orchestration.instance import ensure_dagster_home


def timed_events(instance: DagsterInstance) -> dict[str, float]:
    """Counts the events the instance stores and the seconds it spends on them, and on the
    ones Dagster hands over in batches (an asset's events on a range of days)."""
    totals = {"seconds": 0.0, "events": 0, "batched_seconds": 0.0, "batched": 0}
    handle = instance.handle_new_event

    def handle_timed(event, *, batch_metadata=None):
        started = time.perf_counter()
        handle(event, batch_metadata=batch_metadata)
        seconds = time.perf_counter() - started
        totals["seconds"] += seconds
        totals["events"] += 1
        if batch_metadata is not None:
            totals["batched_seconds"] += seconds
            totals["batched"] += 1

    instance.handle_new_event = handle_timed
    return totals


def instance_home(storage: str, scratch: Path) -> Path:
    home = scratch / storage
    if storage == "chatsales":
        return ensure_dagster_home(home)
    home.mkdir()  # no dagster.yaml: Dagster's default SQLite storage
    return home


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, help="the long range's days (default: all)")
    parser.add_argument("--storage", nargs="+", default=["chatsales", "dagster"])
    args = parser.parse_args()
    prepare_dbt()
    from orchestration.assets.dbt import catch_up_config
    from orchestration.definitions import build_definitions
    from orchestration.partitions import daily_partitions, latest_day, range_tags
    from orchestration.resources import resources_for

    job = build_definitions(resources_for(settings())).resolve_job_def("marts_job")
    keys = daily_partitions.get_partition_keys()
    long = keys[-args.days :] if args.days else keys
    ranges = {"1 day": PartitionKeyRange(latest_day(), latest_day()),
              f"{len(long)} days": PartitionKeyRange(long[0], long[-1])}  # fmt: skip
    assets = sum(
        1
        for key in job.asset_layer.executable_asset_keys
        if job.asset_layer.get(key).partitions_def is not None
    )
    print(f"Warehouse {warehouse().display_name}; {assets} partitioned assets")
    with tempfile.TemporaryDirectory() as scratch:
        for storage in args.storage:
            batched = {}
            home = instance_home(storage, Path(scratch))
            with DagsterInstance.from_config(str(home)) as instance:
                for name, days in ranges.items():
                    totals = timed_events(instance)
                    started = time.perf_counter()
                    result = job.execute_in_process(
                        instance=instance, run_config=catch_up_config(), tags=range_tags(days)
                    )
                    assert result.success, f"{storage} {name}: the run failed"
                    print(f"{storage:<10} {name:>9}: {time.perf_counter() - started:6.1f}s wall, "
                          f"storing {totals['events']:,} events {totals['seconds']:6.1f}s, "
                          f"{totals['batched']:,} of them in batches "
                          f"{totals['batched_seconds']:6.1f}s")  # fmt: skip
                    batched[name] = totals["batched_seconds"]
            extra_asset_days = (len(long) - 1) * assets
            per_day = (batched[f"{len(long)} days"] - batched["1 day"]) / extra_asset_days
            print(f"{storage:<10} {per_day * 1000:.1f} ms per asset-day")


if __name__ == "__main__":
    main()
