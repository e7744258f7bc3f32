"""Where a `chatsales run`'s time went, from its own Dagster instance: the seconds of each
kind of step, the seconds inside Dagster before the first step starts (the run's planned
events are stored then), and the events the run wrote.

    DAGSTER_HOME=... .venv/bin/python bench/run_steps.py      # the latest run there

The wall time outside these (starting Python, importing and building the definitions, parsing
dbt's project when it changed, the summary) is the run's wall time minus `in Dagster`.
"""

from __future__ import annotations

import os
import sys
from collections import Counter
from pathlib import Path

KINDS = {  # a step key's kind, by the first rule it matches
    "dbt_reference_models": "dbt: reference models",
    "dbt_message_models": "dbt: message models",
    "_gx_": "GX checks",
    "_raw": "dlt loads",
    "serving__": "serving copy",
}


def step_kind(step_key: str) -> str:
    return next((kind for part, kind in KINDS.items() if part in step_key), step_key)


def run_steps(dagster_home: Path) -> dict[str, float]:
    """Seconds per kind of step of the instance's latest run, plus `before first step`,
    `in Dagster` (first to last event) and `events`."""
    from dagster import DagsterEventType, DagsterInstance

    with DagsterInstance.from_config(str(dagster_home)) as instance:
        [run] = instance.get_runs(limit=1)
        entries = instance.all_logs(run.run_id)
    started, seconds = {}, Counter()
    for entry in entries:
        event_type = entry.dagster_event_type
        if event_type == DagsterEventType.STEP_START:
            started[entry.step_key] = entry.timestamp
        elif event_type in (DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE):
            seconds[step_kind(entry.step_key)] += entry.timestamp - started[entry.step_key]
    first, last = entries[0].timestamp, entries[-1].timestamp
    return {
        **{kind: round(value, 1) for kind, value in seconds.most_common()},
        "before first step": round(min(started.values(), default=last) - first, 1),
        "in Dagster": round(last - first, 1),
        "events": len(entries),
    }


def describe(steps: dict[str, float]) -> str:
    return ", ".join(
        f"{kind} {value:,}" if kind == "events" else f"{kind} {value:.1f} s"
        for kind, value in steps.items()
    )


if __name__ == "__main__":
    home = sys.argv[1] if len(sys.argv) > 1 else os.environ["DAGSTER_HOME"]
    print(describe(run_steps(Path(home))))
